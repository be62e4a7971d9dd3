/**
 * Admission before work holds with REDIS_URL too, where the limits live in Redis (several instances):
 * a user Redis would refuse is turned away at admit(), before a front end downloads anything, and a
 * submission refused by those limits writes no image to the (shared) storage folder.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type EaselApp } from '../../src/app/create-app.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { Actor } from '../../src/jobs/types.ts';
import { startKillableRedis, type TestRedis } from '../unit/jobs/redis-fixture.ts';

const alice: Actor = { platform: 'playground', userId: 'alice', displayName: 'Alice', channelId: 'playground' };
const bob: Actor = { platform: 'playground', userId: 'bob', displayName: 'Bob', channelId: 'playground' };

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

describe('admission with the limits in Redis', () => {
  let redis: TestRedis;
  let app: EaselApp;
  let cwd: string;
  let storageDir: string;

  beforeAll(async () => {
    // A private server: the app uses the default namespace and job queue, which no other test may share.
    redis = await startKillableRedis();
    cwd = mkdtempSync(join(tmpdir(), 'easel-admit-redis-'));
    const config = loadConfig({ file: false, cwd, env: { EASEL_SIMULATOR_STEP_MS: '5', REDIS_URL: redis.url } });
    config.limits.cooldownSeconds = 120;
    storageDir = config.storage.dir;
    app = await createApp(config);
  }, 30_000);

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await redis?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const picture = (shade: number) => sharp({ create: { width: 96, height: 64, channels: 3, background: { r: shade, g: 80, b: 160 } } }).png().toBuffer();

  it('refuses a user in cooldown at admit(), before any image is read, and stores nothing for a refused submit', async () => {
    const first = await app.submit({ command: 'restyle', options: { prompt: 'first', steps: 2 }, images: [await picture(10)], actor: alice });
    expect(first.state).toBe('queued');
    const stored = filesUnder(storageDir);

    // The front end asks first: Alice is told at once, so her next image is never downloaded.
    await expect(app.admit({ command: 'restyle', actor: alice })).rejects.toMatchObject({ code: 'cooldown' });

    // A submit that skips admit() is refused the same way and leaves no image behind.
    await expect(
      app.submit({ command: 'restyle', options: { prompt: 'second' }, images: [await picture(200)], actor: alice }),
    ).rejects.toMatchObject({ code: 'cooldown' });
    expect(filesUnder(storageDir).sort()).toEqual(stored.sort());

    // Someone else is let in (and the ticket given back, as a front end does when a download fails).
    const ticket = await app.admit({ command: 'restyle', actor: bob });
    ticket.release();
  });
});
