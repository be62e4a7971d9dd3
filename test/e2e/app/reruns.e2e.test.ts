/**
 * Rerun buttons on finished jobs, made from the stored record after the app was closed and created
 * again over the same data folder (a bot restart): reroll, subtle/strong, ladder, vary k, upscale k,
 * edit (validated like a new command), and who may press what.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EaselApp } from '../../../src/app/create-app.ts';
import type { Workflow } from '../../../src/comfy/types.ts';
import { readPngText } from '../../../src/images/png-metadata.ts';
import type { JobRecord } from '../../../src/jobs/types.ts';
import {
  alice,
  bob,
  collect,
  failOnUnhandledRejections,
  removeDir,
  runToDone,
  sizeOf,
  startApp,
  tempDir,
  testPicture,
} from './app-harness.ts';

failOnUnhandledRejections();

let dir: string;
let app: EaselApp;
let restyle: JobRecord;
let variations: JobRecord;

/** Params that must carry over unchanged (everything but the ones an action changes). */
function without(params: JobRecord['params'], ...keys: string[]): JobRecord['params'] {
  const copy = { ...params };
  for (const k of keys) delete copy[k];
  return copy;
}

beforeAll(async () => {
  dir = tempDir();
  const first = await startApp(dir);
  const picture = await testPicture(320, 240);
  const [r, v] = await Promise.all([
    runToDone(first, () => first.submit({ command: 'restyle', options: { style: 'watercolor', prompt: 'a harbour', steps: 3, seed: 1234 }, images: [picture], actor: alice })),
    runToDone(first, () => first.submit({ command: 'variations', options: { count: 2, steps: 3, seed: 99 }, images: [picture], actor: alice })),
  ]);
  await first.close();
  // A restart: a new app (new simulator, new pool, store reopened) over the same data folder.
  app = await startApp(dir);
  restyle = (await app.getJob(r.job.id))!;
  variations = (await app.getJob(v.job.id))!;
});

afterAll(async () => {
  await app?.close();
  removeDir(dir);
});

describe('reruns from the stored record after a restart', () => {
  it('the finished jobs survived the restart with their outputs', async () => {
    expect(restyle).toMatchObject({ state: 'done', command: 'restyle' });
    expect(restyle.outputs).toHaveLength(1);
    expect(variations.outputs).toHaveLength(2);
    expect((await app.readImage(restyle.outputs![0])).subarray(1, 4).toString()).toBe('PNG');
  });

  it('reroll (by someone else): a new seed, everything else the same, a different image', async () => {
    expect(app.mayAct(restyle, 'reroll', bob)).toBe(true);
    const f = await runToDone(app, () => app.rerun({ jobId: restyle.id, action: 'reroll', actor: bob }));
    expect(f.job).toMatchObject({ parentId: restyle.id, action: 'reroll', command: 'restyle' });
    expect(f.job.actor.userId).toBe('bob');
    expect(f.job.params.seed).not.toBe(restyle.params.seed);
    expect(without(f.job.params, 'seed')).toEqual(without(restyle.params, 'seed'));
    expect(f.job.inputs.map((i) => i.sha256)).toEqual(restyle.inputs.map((i) => i.sha256));
    expect(f.job.outputs![0].sha256).not.toBe(restyle.outputs![0].sha256);
  });

  it('subtle and strong: denoise one step down/up, same seed', async () => {
    const [subtle, strong] = await Promise.all([
      runToDone(app, () => app.rerun({ jobId: restyle.id, action: 'subtle', actor: alice })),
      runToDone(app, () => app.rerun({ jobId: restyle.id, action: 'strong', actor: alice })),
    ]);
    expect(restyle.params.denoise).toBe(0.6);
    expect(subtle.job.params).toMatchObject({ denoise: 0.45, seed: 1234 });
    expect(strong.job.params).toMatchObject({ denoise: 0.75, seed: 1234 });
    expect(without(subtle.job.params, 'denoise')).toEqual(without(restyle.params, 'denoise'));
    const shas = new Set([restyle, subtle.job, strong.job].map((j) => j.outputs![0].sha256));
    expect(shas.size).toBe(3);
  });

  it('ladder: four outputs labelled with their strengths, same seed, shown as one strip', async () => {
    const f = await runToDone(app, () => app.rerun({ jobId: restyle.id, action: 'ladder', actor: alice }));
    expect(f.job.ladder).toEqual([0.3, 0.45, 0.6, 0.75]);
    expect(f.job.layout).toBe('strip');
    expect(f.job.outputs).toHaveLength(4);
    const labels = f.job.outputs!.map((o) => o.label ?? '');
    for (const [i, strength] of [0.3, 0.45, 0.6, 0.75].entries()) expect(labels[i]).toContain(String(strength));
    expect(new Set(f.job.outputs!.map((o) => o.sha256)).size).toBe(4);
    expect(f.job.params.seed).toBe(1234);
    expect(f.job.promptIds).toHaveLength(4);
    // Runs report which of the four they are.
    const runs = new Set(f.events.flatMap((e) => (e.type === 'running' ? [`${e.run}/${e.runs}`] : [])));
    expect([...runs]).toEqual(['1/4', '2/4', '3/4', '4/4']);

    const rendered = await app.render(f.job, { maxFiles: 1, maxFileBytes: 8 * 1024 * 1024 });
    expect(rendered.files).toHaveLength(1);
    expect(rendered.files[0].name).toMatch(/ladder\.(png|webp|jpg)$/);
    const strip = await sizeOf(rendered.files[0].data);
    expect(strip.width).toBeGreaterThan(strip.height); // one row, side by side

    // Each single carries the workflow of its own run (its own denoise), as ComfyUI ran it.
    const all = await app.render(f.job, { maxFiles: 5, maxFileBytes: 8 * 1024 * 1024 });
    expect(all.files).toHaveLength(5);
    const denoises = all.files.slice(1).map((file) => {
      const workflow = JSON.parse(readPngText(file.data).prompt) as Workflow;
      return Object.values(workflow).find((n) => n.class_type === 'KSampler')?.inputs.denoise;
    });
    expect(denoises).toEqual([0.3, 0.45, 0.6, 0.75]);
  });

  it('vary k: a variations job whose input is output k of the parent', async () => {
    const f = await runToDone(app, () => app.rerun({ jobId: variations.id, action: 'vary', index: 2, actor: alice }));
    expect(f.job).toMatchObject({ command: 'variations', sourceIndex: 2, parentId: variations.id });
    expect(f.job.inputs.map((i) => i.sha256)).toEqual([variations.outputs![1].sha256]);
    const count = f.job.params.count as number;
    expect(count).toBeGreaterThanOrEqual(1);
    expect(f.job.outputs).toHaveLength(count);
  });

  it('upscale k: 2x of output k', async () => {
    const f = await runToDone(app, () => app.rerun({ jobId: variations.id, action: 'upscale', index: 1, actor: alice }));
    expect(f.job).toMatchObject({ command: 'upscale', sourceIndex: 1 });
    expect(f.job.inputs[0].sha256).toBe(variations.outputs![0].sha256);
    const source = variations.outputs![0];
    const out = await sizeOf(await app.readImage(f.job.outputs![0]));
    expect(out).toMatchObject({ width: source.width * 2, height: source.height * 2 });
  });

  it('vary/upscale with an index past the outputs is a friendly error', async () => {
    await expect(app.rerun({ jobId: variations.id, action: 'upscale', index: 3, actor: alice })).rejects.toMatchObject({
      code: 'bad_option',
      message: expect.stringMatching(/between 1 and 2/),
    });
  });

  it('edit: changed prompt, denoise and style are validated and applied; the rest carries over', async () => {
    const f = await runToDone(app, () =>
      app.rerun({ jobId: restyle.id, action: 'edit', edits: { prompt: 'a lighthouse', denoise: '0.4', style: 'anime' }, actor: alice }),
    );
    expect(f.job.params).toMatchObject({ prompt: 'a lighthouse', denoise: 0.4, style: 'anime', seed: 1234, steps: 3 });
    expect(f.job.action).toBe('edit');
  });

  it('edit with a bad value gives the friendly UserError and queues nothing', async () => {
    const before = (await app.status()).waiting;
    await expect(app.rerun({ jobId: restyle.id, action: 'edit', edits: { denoise: 1.5 }, actor: alice })).rejects.toMatchObject({
      name: 'UserError',
      code: 'bad_option',
      message: expect.stringMatching(/denoise must be between 0\.05 and 1(\.0)?; you gave 1\.5/),
    });
    await expect(app.rerun({ jobId: restyle.id, action: 'edit', edits: { style: 'no such style' }, actor: alice })).rejects.toMatchObject({
      code: 'bad_option',
      message: expect.stringMatching(/style/),
    });
    expect((await app.status()).waiting).toBe(before);
  });

  it('a rerun of a job that does not exist is not_found', async () => {
    await expect(app.rerun({ jobId: 'no-such-job', action: 'reroll', actor: alice })).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('who may press what (default policy)', () => {
  it('someone else may not delete; the author can', async () => {
    const f = await runToDone(app, () => app.rerun({ jobId: restyle.id, action: 'reroll', actor: alice }));
    expect(app.mayAct(f.job, 'delete', bob)).toBe(false);
    await expect(app.remove(f.job.id, bob)).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/Only the person who started/) });
    expect((await app.getJob(f.job.id))!.platformRefs?.deleted).toBeUndefined();
    const removed = await app.remove(f.job.id, alice);
    expect(removed.id).toBe(f.job.id);
    expect((await app.getJob(f.job.id))!.platformRefs?.deleted).toBe(true);
  });

  it('someone else may not cancel; the author cancels a running job and it is interrupted on the host', async () => {
    const picture = await testPicture(320, 240, 90);
    app.simulator!.setStepMs(20); // long enough to be cancelled mid-run even on a busy machine
    const job = await app.submit({ command: 'restyle', options: { steps: 60, seed: 5 }, images: [picture], actor: alice });
    const ended = collect(app, job.id);
    await new Promise<void>((resolve) => {
      const off = app.subscribe(job.id, (e) => {
        if (e.type === 'running' && e.step >= 2) {
          queueMicrotask(() => off());
          resolve();
        }
      });
    });
    await expect(app.cancel(job.id, bob)).rejects.toMatchObject({ code: 'forbidden' });
    expect((await app.getJob(job.id))!.state).toBe('running');
    await app.cancel(job.id, alice);
    const f = await ended;
    app.simulator!.setStepMs(5);
    expect(f.end.type).toBe('cancelled');
    expect(f.job.state).toBe('cancelled');
    const lastStep = f.events.filter((e) => e.type === 'running').pop();
    expect(lastStep && lastStep.type === 'running' && lastStep.step).toBeLessThan(60);
    // The host is free again: its queue is empty and nothing is left running.
    const queue = (await (await fetch(`${app.simulator!.url}/queue`)).json()) as { queue_running: unknown[]; queue_pending: unknown[] };
    expect(queue.queue_running).toEqual([]);
    expect(queue.queue_pending).toEqual([]);
  });

});
