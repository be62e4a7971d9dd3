/**
 * Image retention: inputs and results unused for storage.retentionDays are removed when Easel starts
 * (and every few hours), and a rerun of such a job afterwards says so plainly instead of failing oddly.
 */
import { existsSync } from 'node:fs';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EaselApp } from '../../../src/app/create-app.ts';
import { alice, failOnUnhandledRejections, removeDir, runToDone, startApp, tempDir, testPicture } from './app-harness.ts';

failOnUnhandledRejections();

const DAY = 24 * 60 * 60 * 1000;
let dir: string | undefined;
let app: EaselApp | undefined;

afterAll(async () => {
  await app?.close();
  removeDir(dir);
});

describe('image retention', () => {
  it('keeps recent images, removes old ones at start, and a rerun of a swept job explains why it cannot run', async () => {
    dir = tempDir();
    app = await startApp(dir, { storage: { retentionDays: 7 } });
    const old = await runToDone(app, async () =>
      app!.submit({ command: 'restyle', options: { steps: 2 }, images: [await testPicture(160, 120)], actor: alice }),
    );
    const recent = await runToDone(app, async () =>
      app!.submit({ command: 'restyle', options: { steps: 2 }, images: [await testPicture(160, 120, 180)], actor: alice }),
    );
    await app.close();
    app = undefined;

    // Age the first job's files past retention (last use 10 days ago); the second stays fresh.
    const storageDir = join(dir, 'images');
    const tenDaysAgo = new Date(Date.now() - 10 * DAY);
    for (const image of [...old.job.inputs, ...(old.job.outputs ?? [])]) {
      await utimes(join(storageDir, image.path), tenDaysAgo, tenDaysAgo);
    }

    app = await startApp(dir, { storage: { retentionDays: 7 } });
    // The sweep runs in the background at start; wait until the old input is gone (looking at the
    // file without reading it: a read counts as a use and would refresh its age).
    const oldInput = join(storageDir, old.job.inputs[0].path);
    const deadline = Date.now() + 10_000;
    while (existsSync(oldInput) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(oldInput)).toBe(false);
    await expect(app.readImage(old.job.inputs[0])).rejects.toThrow();
    await expect(app.readImage(recent.job.outputs![0])).resolves.toBeInstanceOf(Buffer);

    // A rerun of the swept job is refused up front with the reason; nothing is queued.
    await expect(app.rerun({ jobId: old.job.id, action: 'reroll', actor: alice })).rejects.toMatchObject({
      code: 'expired',
      message: expect.stringMatching(/no longer stored .*7 days.*upload it again/),
    });
    expect((await app.status()).waiting).toBe(0);
  });
});
