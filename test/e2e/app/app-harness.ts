/**
 * Helpers for the app end-to-end tests: an Easel app (createApp) over a temp data folder and the
 * built-in simulator, test pictures made with sharp, and a way to wait for a job's final event while
 * keeping every event it sent. Unhandled rejections anywhere in the process fail the test file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createApp, type EaselApp } from '../../../src/app/create-app.ts';
import { defaultConfig, type DeepPartial } from '../../../src/config/load-config.ts';
import type { EaselConfig } from '../../../src/config/types.ts';
import type { Actor, JobEvent, JobRecord } from '../../../src/jobs/types.ts';

export const SD15_PIXELS = 512 * 512;

/**
 * Fail on any unhandled promise rejection (vitest would only report it at the end of the run): the
 * test during which it happened, or the file when it happens after the last test (while harnesses
 * close). Call it at the top of the file, before the hooks that start a harness: vitest runs afterAll
 * hooks last-registered first, so the final check comes after those harnesses are closed.
 */
export function failOnUnhandledRejections(): void {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  const none = () => expect(seen.splice(0).map((r) => (r instanceof Error ? r.stack ?? r.message : String(r)))).toEqual([]);
  beforeAll(() => {
    process.on('unhandledRejection', onRejection);
  });
  afterEach(none);
  afterAll(() => {
    process.off('unhandledRejection', onRejection);
    none();
  });
}

export function tempDir(prefix = 'easel-app-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** Test configuration: everything in `dataDir`, fast simulator, no previews, generous per-user limits. */
export function testConfig(dataDir: string, overrides: DeepPartial<EaselConfig> = {}): EaselConfig {
  return defaultConfig({
    ...overrides,
    dataDir,
    store: { sqlitePath: join(dataDir, 'easel.db'), ...overrides.store },
    storage: { dir: join(dataDir, 'images'), ...overrides.storage },
    simulator: { stepMs: 5, previews: false, ...overrides.simulator },
    limits: { perUserWaiting: 20, perUserRunning: 4, cooldownSeconds: 0, ...overrides.limits },
  });
}

export async function startApp(dataDir: string, overrides: DeepPartial<EaselConfig> = {}): Promise<EaselApp> {
  return createApp(testConfig(dataDir, overrides));
}

export const alice: Actor = { platform: 'discord', userId: 'alice', displayName: 'Alice', channelId: 'general', serverId: 'guild-1' };
export const bob: Actor = { platform: 'discord', userId: 'bob', displayName: 'Bob', channelId: 'general', serverId: 'guild-1' };

/** A picture with structure (gradients plus a few shapes) so results differ by seed and prompt. */
export async function testPicture(width: number, height: number, hue = 0): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (Math.round((x * 255) / width) + hue) & 255;
      data[i + 1] = Math.round((y * 255) / height);
      data[i + 2] = (128 + Math.round(100 * Math.sin((x + y + hue) / 17))) & 255;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

export async function solidPicture(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
}

export interface Finished {
  end: JobEvent;
  events: JobEvent[];
  job: JobRecord;
}

const FINAL = new Set(['done', 'failed', 'cancelled']);

/** Subscribe right after submit; resolves with every event and the stored record once the job ends. */
export function collect(app: EaselApp, jobId: string, timeoutMs = 20_000): Promise<Finished> {
  const events: JobEvent[] = [];
  return new Promise<Finished>((resolve, reject) => {
    let off: (() => void) | undefined;
    const timer = setTimeout(() => {
      off?.();
      reject(new Error(`job ${jobId} did not finish in ${timeoutMs} ms; events: ${events.map((e) => e.type).join(', ')}`));
    }, timeoutMs);
    off = app.subscribe(jobId, (e) => {
      events.push(e);
      if (!FINAL.has(e.type)) return;
      clearTimeout(timer);
      queueMicrotask(() => off?.());
      app.getJob(jobId).then((job) => resolve({ end: e, events, job: job ?? e.job }), reject);
    });
  });
}

/** Submit and wait; fails the test with the reason when the job does not end `done`. */
export async function runToDone(app: EaselApp, submit: () => Promise<JobRecord>): Promise<Finished> {
  const job = await submit();
  const result = await collect(app, job.id);
  if (result.end.type !== 'done') {
    throw new Error(`job ${job.command} ended ${result.end.type}: ${result.end.type === 'failed' ? result.end.reason : ''}`);
  }
  return result;
}

/** Consecutive duplicates removed: ['queued','running','running','done'] -> ['queued','running','done']. */
export function stateSequence(events: JobEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) if (out[out.length - 1] !== e.type) out.push(e.type);
  return out;
}

export async function sizeOf(data: Buffer): Promise<{ width: number; height: number; format: string }> {
  const m = await sharp(data).metadata();
  return { width: m.width!, height: m.height!, format: m.format! };
}

/** Mean RGB of an image. */
export async function meanColour(data: Buffer): Promise<[number, number, number]> {
  const s = await sharp(data).removeAlpha().stats();
  return [s.channels[0].mean, s.channels[1].mean, s.channels[2].mean];
}

/** Within the SD1.5 budget, sides multiples of 8, aspect kept (the way planJob sizes a first pass). */
export function expectModelSize(size: { width: number; height: number }, input: { width: number; height: number }, budget = SD15_PIXELS): void {
  expect(size.width % 8).toBe(0);
  expect(size.height % 8).toBe(0);
  expect(size.width * size.height).toBeLessThanOrEqual(budget);
  expect(size.width * size.height).toBeGreaterThan(budget * 0.9);
  expect(Math.abs(size.width / size.height - input.width / input.height)).toBeLessThan(0.03);
}
