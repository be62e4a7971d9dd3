/**
 * Presets checked against what a configured ComfyUI host really has (a separate simulator with its
 * own model folders), and everything a user can get wrong at submit time: a preset switched off on
 * every host, files that are not images, options out of range, and the admission policy.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EaselApp } from '../../../src/app/create-app.ts';
import type { Workflow } from '../../../src/comfy/types.ts';
import { PROJECT_ROOT } from '../../../src/config/load-config.ts';
import { readPngText } from '../../../src/images/png-metadata.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';
import { alice, failOnUnhandledRejections, removeDir, runToDone, sizeOf, startApp, tempDir, testPicture } from './app-harness.ts';

failOnUnhandledRejections();

let picture: Buffer;
beforeAll(async () => {
  picture = await testPicture(320, 240);
});

async function submittedWorkflow(sim: Simulator, promptId: string): Promise<Workflow> {
  const body = (await (await fetch(`${sim.url}/history/${promptId}`)).json()) as Record<string, { prompt: [number, string, Workflow] }>;
  return body[promptId].prompt[2];
}

const nodesOf = (w: Workflow, classType: string) => Object.values(w).filter((n) => n.class_type === classType);

describe('a host with another checkpoint and no upscale model (shipped presets)', () => {
  let sim: Simulator;
  let dir: string;
  let app: EaselApp;
  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5, previews: false, models: { checkpoints: ['other.safetensors'], upscale_models: [] } });
    dir = tempDir();
    app = await startApp(dir, { hosts: [{ name: 'gpu-a', url: sim.url }] });
  });
  afterAll(async () => {
    await app?.close();
    await sim?.close();
    removeDir(dir);
  });

  it('uses the configured host (not a simulator of its own) and every preset stays usable', async () => {
    expect(app.simulator).toBeUndefined();
    const status = await app.status();
    expect(status.hosts).toHaveLength(1);
    expect(status.hosts[0]).toMatchObject({ name: 'gpu-a', up: true, disabledPresets: [] });
    // The host is Easel's simulator started on its own: its /system_stats says so, and so does Easel.
    expect(status.simulated).toBe(true);
  });

  it('runs restyle with the checkpoint the host has, and the PNG metadata holds that workflow', async () => {
    const before = sim.submittedPromptIds().length;
    const f = await runToDone(app, () => app.submit({ command: 'restyle', options: { steps: 2 }, images: [picture], actor: alice }));
    expect(sim.submittedPromptIds().length).toBe(before + 1);
    expect(f.job.host).toBe('gpu-a');
    const sent = await submittedWorkflow(sim, f.job.promptIds![0]);
    expect(nodesOf(sent, 'CheckpointLoaderSimple').map((n) => n.inputs.ckpt_name)).toEqual(['other.safetensors']);
    const rendered = await app.render(f.job, { maxFiles: 10, maxFileBytes: 8 * 1024 * 1024 });
    const inFile = JSON.parse(readPngText(rendered.files[0].data).prompt) as Workflow;
    expect(nodesOf(inFile, 'CheckpointLoaderSimple').map((n) => n.inputs.ckpt_name)).toEqual(['other.safetensors']);
    expect(inFile).toEqual(sent);
    expect(rendered.summary.join('\n')).toMatch(/other\.safetensors/);
  });

  it('upscales 2x without an upscale model (the model nodes are left out)', async () => {
    const f = await runToDone(app, () => app.submit({ command: 'upscale', options: { steps: 2 }, images: [picture], actor: alice }));
    const sent = await submittedWorkflow(sim, f.job.promptIds![0]);
    expect(nodesOf(sent, 'UpscaleModelLoader')).toEqual([]);
    expect(await sizeOf(await app.readImage(f.job.outputs![0]))).toMatchObject({ width: 640, height: 480 });
  });
});

describe('a preset that needs something the host lacks is switched off with the reason', () => {
  let sim: Simulator;
  let dir: string;
  let app: EaselApp;
  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5, previews: false, models: { upscale_models: [] } });
    dir = tempDir();
    // The admin's copy of the presets: their upscale preset insists on an upscale model.
    const presetsDir = join(dir, 'presets');
    cpSync(join(PROJECT_ROOT, 'config/presets'), presetsDir, { recursive: true });
    const yamlPath = join(presetsDir, 'upscale/preset.yaml');
    const yaml = readFileSync(yamlPath, 'utf8');
    expect(yaml).toContain('required: false');
    writeFileSync(yamlPath, yaml.replace('required: false', 'required: true'));
    app = await startApp(dir, {
      hosts: [{ name: 'gpu-b', url: sim.url }],
      presetsDir,
      policy: { blockedWords: ['forbidden thing'], commands: { blend: { channels: ['art-room'] } } },
    });
  });
  afterAll(async () => {
    await app?.close();
    await sim?.close();
    removeDir(dir);
  });

  it('status() lists the disabled preset with preset, node, input and allowed values', async () => {
    const [host] = (await app.status()).hosts;
    expect(host.disabledPresets.map((d) => d.preset)).toEqual(['upscale']);
    const { reason } = host.disabledPresets[0];
    expect(reason).toContain('preset upscale');
    expect(reason).toContain('Load upscale model');
    expect(reason).toContain('model_name');
    expect(reason).toMatch(/needs an upscale model/);
    expect(reason).toMatch(/allowed: none/);
  });

  it('submitting the disabled preset is refused up front with a clear preset_disabled message', async () => {
    const before = sim.submittedPromptIds().length;
    const err = await app.submit({ command: 'upscale', options: {}, images: [picture], actor: alice }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UserError', code: 'preset_disabled' });
    expect((err as Error).message).toMatch(/upscale preset is switched off/);
    expect((err as Error).message).toMatch(/needs an upscale model/);
    expect((await app.status()).waiting).toBe(0);
    expect(sim.submittedPromptIds().length).toBe(before);
  });

  it('other presets still run on that host', async () => {
    const f = await runToDone(app, () => app.submit({ command: 'restyle', options: { steps: 2 }, images: [picture], actor: alice }));
    expect(f.job.host).toBe('gpu-b');
  });

  it('an HTML page named .png is refused as bad_image, saying what it looks like', async () => {
    const html = Buffer.from('<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in</body></html>');
    await expect(app.submit({ command: 'restyle', options: {}, images: [html], actor: alice })).rejects.toMatchObject({
      code: 'bad_image',
      message: expect.stringMatching(/not an image.*HTML/i),
    });
  });

  it('a zero-byte file is refused as bad_image', async () => {
    await expect(app.submit({ command: 'restyle', options: {}, images: [Buffer.alloc(0)], actor: alice })).rejects.toMatchObject({
      code: 'bad_image',
      message: expect.stringMatching(/empty \(0 bytes\)/),
    });
  });

  it('a cut-off PNG is refused as bad_image', async () => {
    await expect(app.submit({ command: 'restyle', options: {}, images: [picture.subarray(0, picture.length >> 1)], actor: alice })).rejects.toMatchObject({
      code: 'bad_image',
      message: expect.stringMatching(/incomplete/),
    });
  });

  it('options out of range get the friendly message naming the option, range and value', async () => {
    await expect(app.submit({ command: 'restyle', options: { denoise: 1.5 }, images: [picture], actor: alice })).rejects.toMatchObject({
      code: 'bad_option',
      message: expect.stringMatching(/denoise must be between 0\.05 and 1(\.0)?; you gave 1\.5/),
    });
    await expect(app.submit({ command: 'restyle', options: { steps: 500 }, images: [picture], actor: alice })).rejects.toMatchObject({
      code: 'bad_option',
      message: expect.stringMatching(/steps .*1 and 60.*500/),
    });
    await expect(app.submit({ command: 'restyle', options: { style: 'watercolour' }, images: [picture], actor: alice })).rejects.toMatchObject({
      code: 'bad_option',
      message: expect.stringMatching(/watercolor/),
    });
  });

  it('a blocked word in the prompt is refused (blocked_prompt)', async () => {
    await expect(
      app.submit({ command: 'restyle', options: { prompt: 'a Forbidden  Thing in the garden' }, images: [picture], actor: alice }),
    ).rejects.toMatchObject({ code: 'blocked_prompt', message: expect.stringMatching(/blocked word \("forbidden thing"\)/) });
  });

  it('a command limited to some channels is refused elsewhere and runs there', async () => {
    const other = await testPicture(320, 240, 120);
    await expect(app.submit({ command: 'blend', options: {}, images: [picture, other], actor: alice })).rejects.toMatchObject({
      code: 'not_allowed',
      message: expect.stringMatching(/can't be used in this channel/),
    });
    const f = await runToDone(app, () =>
      app.submit({ command: 'blend', options: { steps: 2 }, images: [picture, other], actor: { ...alice, channelId: 'art-room' } }),
    );
    expect(f.job.outputs).toHaveLength(1);
  });
});

describe('a configured checkpoint that no host has', () => {
  let sim: Simulator;
  let dir: string;
  let app: EaselApp;
  beforeAll(async () => {
    sim = await startSimulator({ stepMs: 5, previews: false });
    dir = tempDir();
    app = await startApp(dir, { hosts: [{ name: 'gpu-c', url: sim.url }], checkpoints: { sd15: 'missing-model.safetensors' } });
  });
  afterAll(async () => {
    await app?.close();
    await sim?.close();
    removeDir(dir);
  });

  it('switches off every preset, naming the checkpoint and the ones the host has', async () => {
    const [host] = (await app.status()).hosts;
    expect(host.disabledPresets.map((d) => d.preset).sort()).toEqual(['blend', 'hires', 'restore', 'restyle', 'sketch', 'upscale', 'variations']);
    for (const { preset, reason } of host.disabledPresets) {
      expect(reason).toContain(`preset ${preset}`);
      expect(reason).toContain('CheckpointLoaderSimple');
      expect(reason).toContain('ckpt_name');
      expect(reason).toContain('missing-model.safetensors');
      expect(reason).toMatch(/allowed: .*sd_v1-5\.safetensors/);
    }
    const err = await app.submit({ command: 'restyle', options: {}, images: [picture], actor: alice }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'preset_disabled', message: expect.stringMatching(/missing-model\.safetensors/) });
    expect(sim.submittedPromptIds()).toEqual([]);
  });
});
