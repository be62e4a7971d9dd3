/**
 * Every command end to end through createApp against the built-in simulator: the right number of
 * outputs at the right sizes, progress events in order, and render() output that respects a platform's
 * file count and byte cap while carrying ComfyUI metadata (parameters + the workflow) in full-size PNGs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EaselApp } from '../../../src/app/create-app.ts';
import type { Workflow } from '../../../src/comfy/types.ts';
import { readPngText } from '../../../src/images/png-metadata.ts';
import {
  alice,
  collect,
  expectModelSize,
  failOnUnhandledRejections,
  meanColour,
  removeDir,
  runToDone,
  sizeOf,
  solidPicture,
  startApp,
  stateSequence,
  tempDir,
  testPicture,
  type Finished,
} from './app-harness.ts';

failOnUnhandledRejections();

let dir: string;
let app: EaselApp;
let small: Buffer; // 320x240
let wide: Buffer; // 640x480

beforeAll(async () => {
  dir = tempDir();
  app = await startApp(dir);
  [small, wide] = await Promise.all([testPicture(320, 240), testPicture(640, 480, 40)]);
});

afterAll(async () => {
  await app?.close();
  removeDir(dir);
});

async function outputsOf(f: Finished): Promise<Buffer[]> {
  return Promise.all((f.job.outputs ?? []).map((o) => app.readImage(o)));
}

/** The API workflow the simulator actually received for a prompt id. */
async function submittedWorkflow(promptId: string): Promise<Workflow> {
  const res = await fetch(`${app.simulator!.url}/history/${promptId}`);
  const body = (await res.json()) as Record<string, { prompt: [number, string, Workflow] }>;
  return body[promptId].prompt[2];
}

describe('each command through createApp on the simulator', () => {
  it('restyle: a 640x480 input is worked at the SD1.5 budget (multiples of 8, aspect kept), progress in order', async () => {
    const f = await runToDone(app, () => app.submit({ command: 'restyle', options: { style: 'watercolor', steps: 6 }, images: [wide], actor: alice }));
    expect(stateSequence(f.events)).toEqual(['queued', 'uploading', 'submitted', 'running', 'done']);
    const submitted = f.events.find((e) => e.type === 'submitted');
    expect(submitted).toMatchObject({ host: 'simulator', simulated: true });
    const steps = f.events.flatMap((e) => (e.type === 'running' ? [e] : []));
    // One sampler pass: steps climb to the end and never go back.
    expect(steps.map((s) => s.step)).toEqual([...steps.map((s) => s.step)].sort((a, b) => a - b));
    expect(steps[steps.length - 1]).toMatchObject({ step: 6, maxSteps: 6, run: 1, runs: 1 });

    expect(f.job.state).toBe('done');
    expect(f.job.outputs).toHaveLength(1);
    const [out] = await outputsOf(f);
    const size = await sizeOf(out);
    expect(size.format).toBe('png');
    expectModelSize(size, { width: 640, height: 480 });
    expect(f.job.outputs![0]).toMatchObject({ width: size.width, height: size.height });
    expect(f.job.params).toMatchObject({ style: 'watercolor', steps: 6, denoise: 0.6 });
  });

  it('upscale: 2x doubles both sides exactly', async () => {
    const f = await runToDone(app, () => app.submit({ command: 'upscale', options: { scale: 2, steps: 3 }, images: [small], actor: alice }));
    expect(stateSequence(f.events)).toEqual(['queued', 'uploading', 'submitted', 'running', 'done']);
    const [out] = await outputsOf(f);
    expect(await sizeOf(out)).toMatchObject({ width: 640, height: 480 });
  });

  it('variations: count 4 gives 4 different images at the model size', async () => {
    const f = await runToDone(app, () => app.submit({ command: 'variations', options: { count: 4, steps: 4 }, images: [small], actor: alice }));
    expect(f.job.outputs).toHaveLength(4);
    expect(new Set(f.job.outputs!.map((o) => o.sha256)).size).toBe(4);
    expect(f.job.outputs!.map((o) => o.label)).toEqual(['1', '2', '3', '4']);
    for (const out of await outputsOf(f)) expectModelSize(await sizeOf(out), { width: 320, height: 240 });
  });

  it('sketch and restore: one image at the model size each', async () => {
    const [sketch, restore] = await Promise.all([
      runToDone(app, () => app.submit({ command: 'sketch', options: { prompt: 'a castle on a hill', steps: 4 }, images: [small], actor: alice })),
      runToDone(app, () => app.submit({ command: 'restore', options: { steps: 4 }, images: [wide], actor: alice })),
    ]);
    expect(sketch.job.outputs).toHaveLength(1);
    expectModelSize(await sizeOf((await outputsOf(sketch))[0]), { width: 320, height: 240 });
    expect(sketch.job.params).toMatchObject({ prompt: 'a castle on a hill', denoise: 0.8 });
    expect(restore.job.outputs).toHaveLength(1);
    expectModelSize(await sizeOf((await outputsOf(restore))[0]), { width: 640, height: 480 });
    expect(restore.job.params).toMatchObject({ sampler: 'ddim', denoise: 0.35 });
  });

  it('hires: the output is 2x the first-pass size, and both passes report progress', async () => {
    const f = await runToDone(app, () => app.submit({ command: 'hires', options: { steps: 3 }, images: [small], actor: alice }));
    const [out] = await outputsOf(f);
    const size = await sizeOf(out);
    expect(size.width % 2).toBe(0);
    expect(size.height % 2).toBe(0);
    expectModelSize({ width: size.width / 2, height: size.height / 2 }, { width: 320, height: 240 });
    // The first pass as ComfyUI got it: the "Fit to model size" node works at exactly half the output.
    const workflow = await submittedWorkflow(f.job.promptIds![0]);
    const fit = Object.values(workflow).find((n) => n._meta?.title === 'Fit to model size');
    expect(fit?.inputs).toMatchObject({ width: size.width / 2, height: size.height / 2 });
    // Both passes count on one bar that only moves forward: 1..3 for the first, 4..6 for the second.
    const steps = f.events.flatMap((e) => (e.type === 'running' && e.step > 0 ? [[e.step, e.maxSteps]] : []));
    expect(steps.map(([step]) => step)).toEqual([...steps.map(([step]) => step)].sort((a, b) => a - b));
    expect(steps.at(-1)).toEqual([6, 6]);
    expect(steps.some(([step]) => step > 3)).toBe(true);
  });

  it('blend: two images mix by the blend factor', async () => {
    const [red, blue] = await Promise.all([solidPicture(320, 240, [220, 20, 20]), solidPicture(320, 240, [20, 20, 220])]);
    const run = (blend: number) =>
      runToDone(app, () => app.submit({ command: 'blend', options: { blend, denoise: 0.05, steps: 2, seed: 7 }, images: [red, blue], actor: alice }));
    const [mixed, onlyFirst] = await Promise.all([run(0.5), run(1)]);
    expect(mixed.job.inputs).toHaveLength(2);
    const [mixedOut] = await outputsOf(mixed);
    expectModelSize(await sizeOf(mixedOut), { width: 320, height: 240 });
    const [r, , b] = await meanColour(mixedOut);
    const [r1, , b1] = await meanColour((await outputsOf(onlyFirst))[0]);
    // Blend 1 is (nearly) only the red image; 0.5 brings in the blue one.
    expect(r1).toBeGreaterThan(b1 + 100);
    expect(b).toBeGreaterThan(b1 + 40);
    expect(r).toBeLessThan(r1 - 40);
  });

  it('a missing second image for blend is a friendly bad_image error', async () => {
    await expect(app.submit({ command: 'blend', options: {}, images: [small], actor: alice })).rejects.toMatchObject({
      name: 'UserError',
      code: 'bad_image',
      message: expect.stringMatching(/blend needs an image: attach image2/),
    });
  });
});

describe('render(): files within a platform\'s limits', () => {
  let variations: Finished;
  beforeAll(async () => {
    variations = await runToDone(app, () => app.submit({ command: 'variations', options: { count: 4, steps: 3, prompt: 'a red fox' }, images: [small], actor: alice }));
  });

  it('gives the gallery first, then every single image, full-size PNGs carrying parameters and the workflow', async () => {
    const rendered = await app.render(variations.job, { maxFiles: 10, maxFileBytes: 25 * 1024 * 1024 });
    expect(rendered.files).toHaveLength(5);
    expect(rendered.files[0].name).toMatch(/gallery\.(png|webp|jpg)$/);
    expect(rendered.files[0].description).toMatch(/Gallery of 4/);
    const gallery = await sizeOf(rendered.files[0].data);
    const single = variations.job.outputs![0];
    expect(gallery.width * gallery.height).toBeGreaterThan(single.width * single.height);

    const workflowSent = await submittedWorkflow(variations.job.promptIds![0]);
    for (const [i, file] of rendered.files.slice(1).entries()) {
      expect(file.mime).toBe('image/png');
      expect(file.name).toMatch(new RegExp(`-${i + 1}\\.png$`));
      expect(await sizeOf(file.data)).toMatchObject({ width: single.width, height: single.height });
      const text = readPngText(file.data);
      expect(text.parameters).toContain(String(variations.job.params.seed));
      expect(text.parameters).toMatch(/a red fox/);
      const workflow = JSON.parse(text.prompt) as Workflow;
      for (const node of Object.values(workflow)) expect(typeof node.class_type).toBe('string');
      // The graph in the file is the one ComfyUI ran: reopening it reproduces the result.
      expect(workflow).toEqual(workflowSent);
    }
    expect(rendered.summary.join('\n')).toMatch(/simulated/i);
    expect(rendered.actions.map((a) => a.action)).toEqual(expect.arrayContaining(['reroll', 'vary', 'upscale', 'delete']));
  });

  it('honours maxFiles: gallery plus as many singles as fit', async () => {
    const rendered = await app.render(variations.job, { maxFiles: 3, maxFileBytes: 25 * 1024 * 1024 });
    expect(rendered.files.map((f) => f.name.replace(/^.*-/, ''))).toEqual([expect.stringMatching(/^gallery\./), '1.png', '2.png']);
  });

  it('honours a tiny maxFileBytes by re-encoding to WebP or JPEG under the cap', async () => {
    const cap = 12_000;
    const rendered = await app.render(variations.job, { maxFiles: 10, maxFileBytes: cap });
    expect(rendered.files).toHaveLength(5);
    for (const file of rendered.files) {
      expect(file.data.length).toBeLessThanOrEqual(cap);
      expect(['image/webp', 'image/jpeg']).toContain(file.mime);
      const meta = await sizeOf(file.data);
      expect(meta.format).toBe(file.mime === 'image/webp' ? 'webp' : 'jpeg');
      expect(file.name.endsWith(file.mime === 'image/webp' ? '.webp' : '.jpg')).toBe(true);
    }
  });

  it('a single-image job has no gallery, just the image', async () => {
    const f = await runToDone(app, () => app.submit({ command: 'restyle', options: { steps: 2 }, images: [small], actor: alice }));
    const rendered = await app.render(f.job, { maxFiles: 10, maxFileBytes: 8 * 1024 * 1024 });
    expect(rendered.files).toHaveLength(1);
    expect(rendered.files[0].mime).toBe('image/png');
    expect(readPngText(rendered.files[0].data)).toHaveProperty('prompt');
  });

  it('a failed job ends with a reason and no outputs', async () => {
    app.simulator!.failNext({ exceptionType: 'torch.OutOfMemoryError', message: 'CUDA out of memory.' });
    const job = await app.submit({ command: 'restyle', options: { steps: 2, seed: 99 }, images: [small], actor: alice });
    const f = await collect(app, job.id);
    expect(f.end.type).toBe('failed');
    expect(f.job.state).toBe('failed');
    expect(f.job.error?.message).toMatch(/out of memory/i);
    expect(f.job.outputs ?? []).toHaveLength(0);
  });
});
