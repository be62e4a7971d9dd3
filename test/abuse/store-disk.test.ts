/**
 * Fault suite (issue 10, finding 6): disks that are full or cannot be written.
 *  - A job whose images cannot be saved fails with a reason naming the folder, and its end reaches
 *    subscribers and the event feed even though the job store cannot record it either.
 *  - GET /healthz leaves nothing behind, even when the disk takes no more bytes, and names the
 *    folder (and setting) that fails.
 *  - Folders Easel writes to are checked at start, and a bad one is named with its setting.
 * Tests run as root, so "unwritable" must really fail for root: a path below a regular file
 * (ENOTDIR), /dev/full (ENOSPC) and a file-size limit of 0 (EFBIG, `ulimit -f 0` in a child process).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/create-app.ts';
import type { Easel } from '../../src/app/types.ts';
import { defaultConfig } from '../../src/config/load-config.ts';
import type { JobEvent, JobRecord } from '../../src/jobs/types.ts';
import { startOpsServer } from '../../src/ops/ops-server.ts';
import { removeDir, tempDir, testConfig } from '../e2e/app/app-harness.ts';
import { startHarness, type Harness } from '../e2e/jobs/harness.ts';

const PROJECT_ROOT = join(import.meta.dirname, '../..');
let h: Harness | undefined;
let dir: string | undefined;

afterEach(async () => {
  h?.sims[0]?.release();
  await h?.close();
  removeDir(dir);
  h = dir = undefined;
});

describe('a disk that stops taking writes while a job runs', () => {
  it('fails the job naming the image folder, and announces its end although the job store cannot save it', async () => {
    h = await startHarness({ hosts: 1, stepMs: 10 });
    const feed: JobEvent[] = [];
    h.sims[0].stallNext();
    const job = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    h.service.subscribe(job.id, (e) => feed.push(e));
    await h.waitFor(() => h!.eventsOf(job.id).some((e) => e.type === 'running'), 10_000, 'the job to run');

    // The image folder is gone and a file sits in its place; the job store's disk is full.
    const images = join(h.dir, 'images');
    rmSync(images, { recursive: true, force: true });
    writeFileSync(images, 'not a folder');
    const store = h.store;
    store.save = async (rec: JobRecord) => {
      writeFileSync('/dev/full', JSON.stringify(rec)); // throws ENOSPC, as a full disk does
    };
    h.sims[0].release();

    const end = await h.finished(job.id, 15_000);
    expect(end.type).toBe('failed');
    if (end.type !== 'failed') return;
    expect(end.code).toBe('storage_failed');
    expect(end.reason).toContain(`the image storage folder ${images} is missing (or a file is in its place)`);
    expect(end.reason).toMatch(/storage\.dir \(EASEL_STORAGE_DIR\)/);
    expect(feed.at(-1)).toMatchObject({ type: 'failed', code: 'storage_failed' });
    expect(h.service.stats()).toEqual({ waiting: 0, running: 0 });
  });
});

describe('a full SQLite job store', () => {
  it('refuses a submission saying so (nothing queued, nothing sent to a host), and still ends the jobs it holds', async () => {
    h = await startHarness({ hosts: 1, stepMs: 10 });
    // The database may not grow past its current size: SQLite itself answers SQLITE_FULL, as on a full disk.
    const db = (h.store as unknown as { db: { pragma(s: string, o?: object): unknown } }).db;
    db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);

    const accepted: string[] = [];
    let refusal: { id: string; err: { code?: string; message: string } } | undefined;
    for (let i = 0; i < 60 && !refusal; i++) {
      const job = h.makeJob(`user-${i}`, { steps: 1 });
      await h.service.enqueue(job).then(
        () => accepted.push(job.id),
        (err) => (refusal = { id: job.id, err }),
      );
    }
    expect(refusal, 'the store filled up').toBeDefined();
    expect(refusal!.err.code).toBe('store_down');
    expect(refusal!.err.message).toMatch(/^Easel's job store is out of disk space; nothing was queued\./);
    expect(h.service.peek(refusal!.id)).toBeUndefined();

    // Every job it did take ends, and its end is announced, whether or not the store can record it.
    for (const id of accepted) expect(['done', 'failed']).toContain((await h.finished(id, 20_000)).type);
    expect(h.eventsOf(refusal!.id)).toEqual([]);
    expect(h.sims[0].submittedPromptIds().length).toBeLessThanOrEqual(accepted.length);
    expect(h.service.stats()).toEqual({ waiting: 0, running: 0 });
  });
});

describe('GET /healthz on a folder that takes no more bytes', () => {
  it('leaves no probe file behind and names the folder and its setting', () => {
    dir = tempDir('easel-health-full-');
    const dbDir = join(dir, 'db');
    const images = join(dir, 'images');
    mkdirSync(dbDir);
    mkdirSync(images);
    // Three health checks in a process that may create files but not put a byte in them (EFBIG),
    // the way a full disk lets a file be created and then fails its first write.
    const script = `
      import { defaultStoreCheck } from ${JSON.stringify(join(PROJECT_ROOT, 'src/ops/health.ts'))};
      const check = defaultStoreCheck({ store: { sqlitePath: ${JSON.stringify(join(dbDir, 'easel.db'))} }, storage: { dir: ${JSON.stringify(images)} } });
      const errors = [];
      for (let i = 0; i < 3; i++) await check().then(() => errors.push('ok'), (e) => errors.push(e.message));
      process.stdout.write(JSON.stringify(errors));
    `;
    const run = spawnSync('sh', ['-c', 'ulimit -f 0 && exec node --import tsx --input-type=module -e "$EASEL_SCRIPT"'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, EASEL_SCRIPT: script },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const errors = JSON.parse(run.stdout) as string[];
    expect(errors).toHaveLength(3);
    for (const e of errors) {
      expect(e).toContain(`The job store folder ${dbDir} cannot be written (EFBIG`);
      expect(e).toContain('store.sqlitePath (or EASEL_SQLITE_PATH)');
    }
    expect(readdirSync(dbDir)).toEqual([]);
    expect(readdirSync(images)).toEqual([]);
  });

  it('names the image folder, not the job store, when only the image folder fails', async () => {
    dir = tempDir('easel-health-images-');
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const config = defaultConfig({ dataDir: dir, store: { sqlitePath: join(dir, 'db', 'easel.db') }, storage: { dir: join(blocker, 'images') }, ops: { host: '127.0.0.1', port: 0 } });
    const easel = { status: async () => ({ hosts: [{ name: 'simulator', up: true, simulated: true }], waiting: 0, running: 0, simulated: true }), onEvent: () => () => undefined } as unknown as Easel;
    const ops = await startOpsServer(easel, config, { processMetrics: false });
    try {
      const res = await fetch(`${ops.url}/healthz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { problems: string[] };
      expect(body.problems[0]).toContain(`The image storage folder ${join(blocker, 'images')} cannot be written (ENOTDIR`);
      expect(body.problems[0]).toContain('storage.dir (or EASEL_STORAGE_DIR)');
      expect(readdirSync(join(dir, 'db'))).toEqual([]);
    } finally {
      await ops.close();
    }
  });
});

describe('folders checked at start', () => {
  const cases = [
    { name: 'image storage folder', key: 'storage.dir (or EASEL_STORAGE_DIR)', config: (d: string, bad: string) => testConfig(d, { storage: { dir: join(bad, 'images') } }), folder: (bad: string) => join(bad, 'images') },
    { name: 'job store folder', key: 'store.sqlitePath (or EASEL_SQLITE_PATH)', config: (d: string, bad: string) => testConfig(d, { store: { sqlitePath: join(bad, 'db', 'easel.db') } }), folder: (bad: string) => join(bad, 'db') },
    {
      name: 'data folder',
      key: 'dataDir (or EASEL_DATA_DIR)',
      config: (d: string, bad: string) => ({ ...testConfig(d), dataDir: join(bad, 'data') }),
      folder: (bad: string) => join(bad, 'data', 'simulator'),
    },
  ];
  it.each(cases)('refuses to start when the $name cannot be written, naming it and its setting', async (c) => {
    dir = tempDir('easel-start-folders-');
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, 'x');
    const started = createApp(c.config(dir, blocker));
    await expect(started).rejects.toThrow(`The ${c.name} ${c.folder(blocker)} cannot be written (ENOTDIR`);
    await expect(started).rejects.toThrow(c.key);
  });
});
