/**
 * Results come out at the model's working size (a 1024×768 photo is worked at 584×440 on SD 1.5). The
 * result says so, and render() can give them at the input's size and aspect instead ("match input
 * size"), for every front end; upscales keep their factor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EaselApp } from '../../../src/app/create-app.ts';
import { readPngText } from '../../../src/images/png-metadata.ts';
import { alice, removeDir, runToDone, sizeOf, startApp, tempDir, testPicture } from './app-harness.ts';

let dir: string;
let app: EaselApp;

beforeAll(async () => {
  dir = tempDir();
  app = await startApp(dir);
});
afterAll(async () => {
  await app?.close();
  removeDir(dir);
});

const ALL = { maxFileBytes: 50 * 1024 * 1024, maxFiles: 10 };

describe('output size', { timeout: 60_000 }, () => {
  it('restyle of a 1024×768 photo: model size by default, stated; the input size on request', async () => {
    const photo = await testPicture(1024, 768);
    const { job } = await runToDone(app, () => app.submit({ command: 'restyle', options: { steps: 2 }, images: [photo], actor: alice }));
    expect(job.outputs![0]).toMatchObject({ width: 584, height: 440 });

    const model = await app.render(job, ALL);
    expect(await sizeOf(model.files[0].data)).toMatchObject({ width: 584, height: 440 });
    expect(model.summary).toContain("Output: 584×440, the model's working size (your image: 1024×768)");

    const matched = await app.render(job, { ...ALL, outputSize: 'input' });
    expect(await sizeOf(matched.files[0].data)).toMatchObject({ width: 1024, height: 768, format: 'png' });
    expect(matched.summary).toContain('Output: 1024×768, resized to match your image');
    // Still a PNG that reopens in ComfyUI: parameters and workflow embedded.
    const text = readPngText(matched.files[0].data);
    expect(text.parameters).toContain('Output: 1024×768');
    expect(text.prompt).toContain('KSampler');
  });

  it('each image of a variations gallery comes at the input size', async () => {
    const photo = await testPicture(300, 600);
    const { job } = await runToDone(app, () => app.submit({ command: 'variations', options: { steps: 1, count: 2 }, images: [photo], actor: alice }));
    const matched = await app.render(job, { ...ALL, outputSize: 'input' });
    expect(matched.files).toHaveLength(3);
    for (const single of matched.files.slice(1)) expect(await sizeOf(single.data)).toMatchObject({ width: 300, height: 600 });
  });

  it('an upscale keeps its factor: 2x of 320×240 is 640×480 either way', async () => {
    const photo = await testPicture(320, 240);
    const { job } = await runToDone(app, () => app.submit({ command: 'upscale', options: { steps: 1, scale: 2 }, images: [photo], actor: alice }));
    const matched = await app.render(job, { ...ALL, outputSize: 'input' });
    expect(await sizeOf(matched.files[0].data)).toMatchObject({ width: 640, height: 480 });
  });
});
