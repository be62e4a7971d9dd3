import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

describe('a job from queue to result on a simulator host', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 5 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('goes queued -> uploading -> submitted -> running (steps, previews) -> done with stored outputs', async () => {
    const job = await h.service.enqueue(h.makeJob('alice', { steps: 6 }));
    expect(job.state).toBe('queued');
    const end = await h.finished(job.id);
    expect(end.type).toBe('done');
    const types = [...new Set(h.eventsOf(job.id).map((e) => e.type))];
    expect(types).toEqual(['queued', 'uploading', 'submitted', 'running', 'done']);
    const queued = h.eventsOf(job.id).find((e) => e.type === 'queued');
    expect(queued).toMatchObject({ position: 1 });
    expect((queued as { etaMs: number }).etaMs).toBeGreaterThan(0);
    const submitted = h.eventsOf(job.id).find((e) => e.type === 'submitted');
    expect(submitted).toMatchObject({ host: 'gpu-1', simulated: true });
    const steps = h.eventsOf(job.id).flatMap((e) => (e.type === 'running' ? [e] : []));
    expect(steps.some((e) => e.step === 6 && e.maxSteps === 6)).toBe(true);
    expect(steps.some((e) => e.preview && e.preview.image.length > 0)).toBe(true);

    const stored = (await h.store.get(job.id))!;
    expect(stored.state).toBe('done');
    expect(stored.host).toBe('gpu-1');
    expect(stored.outputs).toHaveLength(1);
    expect(stored.outputs![0].label).toBe('1');
    const png = await h.images.read(stored.outputs![0]);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(stored.promptIds).toHaveLength(1);
    expect(h.sims[0].submittedPromptIds()).toContain(stored.promptIds![0]);
    expect(stored.startedAt).toBeGreaterThanOrEqual(stored.createdAt);
    expect(stored.finishedAt).toBeGreaterThanOrEqual(stored.startedAt!);
  });

  it('a late subscriber gets the latest state first', async () => {
    const job = await h.service.enqueue(h.makeJob('bob', { steps: 2 }));
    await h.finished(job.id);
    const seen: string[] = [];
    const off = h.service.subscribe(job.id, (e) => seen.push(e.type));
    off();
    expect(seen).toEqual(['done']);
  });

  it('a failing node ends the job with the step and reason', async () => {
    h.sims[0].failNext({ exceptionType: 'torch.OutOfMemoryError', message: 'CUDA out of memory. Tried to allocate 2.00 GiB' });
    const job = await h.service.enqueue(h.makeJob('carol', { steps: 3 }));
    const end = await h.finished(job.id);
    expect(end.type).toBe('failed');
    if (end.type !== 'failed') return;
    expect(end.code).toBe('job_failed');
    expect(end.reason).toMatch(/while sampling \(KSampler, node \d+\) on gpu-1/);
    expect(end.reason).toMatch(/ran out of memory: try a smaller image/);
    expect((await h.store.get(job.id))!.error?.message).toBe(end.reason);
    // The host is fine afterwards.
    const next = await h.service.enqueue(h.makeJob('carol', { steps: 2 }));
    expect((await h.finished(next.id)).type).toBe('done');
  });
});

describe('a denoise ladder (several prompts in one job)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 5 });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('runs one prompt per strength, reports run i of n, and keeps a labelled strip in run order', async () => {
    const job = await h.service.enqueue({ ...h.makeJob('alice', { steps: 3 }), ladder: [0.3, 0.5, 0.7] });
    const end = await h.finished(job.id);
    expect(end.type).toBe('done');
    const rec = (await h.store.get(job.id))!;
    expect(rec.layout).toBe('strip');
    expect(rec.runs).toBe(3);
    expect(rec.promptIds).toHaveLength(3);
    expect(rec.outputs).toHaveLength(3);
    expect(rec.outputs!.map((o) => o.label)).toEqual([expect.stringContaining('0.3'), expect.stringContaining('0.5'), expect.stringContaining('0.7')]);
    // Distinct images (different strengths), each from its own prompt, in order.
    expect(new Set(rec.outputs!.map((o) => o.sha256)).size).toBe(3);
    const order = h.sims[0].busyLog().map((b) => b.promptId);
    expect(rec.promptIds!.map((p) => order.indexOf(p))).toEqual([...rec.promptIds!.map((p) => order.indexOf(p))].sort((a, b) => a - b));
    const runs = new Set(h.eventsOf(job.id).flatMap((e) => (e.type === 'running' ? [`${e.run}/${e.runs}`] : [])));
    expect(runs).toEqual(new Set(['1/3', '2/3', '3/3']));
  });
});

describe('ETA learned from finished jobs', () => {
  let h: Harness;
  beforeAll(async () => {
    // A first guess far from what the simulator takes, so learning shows.
    h = await startHarness({ hosts: 1, stepMs: 5, service: { defaultRunMs: 60_000 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  const etaOf = (jobId: string) => {
    const q = h.eventsOf(jobId).find((e) => e.type === 'queued');
    return q && q.type === 'queued' ? q.etaMs : NaN;
  };

  it('starts from the default, then quotes from measured run times of that preset', async () => {
    const first = await h.service.enqueue(h.makeJob('eta', { steps: 8 }));
    expect(etaOf(first.id)).toBeGreaterThanOrEqual(60_000);
    expect(h.service.estimate(first.preset)).toBeGreaterThanOrEqual(60_000);
    await h.finished(first.id);
    const second = await h.service.enqueue(h.makeJob('eta', { steps: 8 }));
    await h.finished(second.id);

    // Measured: the host's real run time (8 steps of 5 ms plus overhead), nowhere near a minute.
    const measured = (await h.store.get(second.id))!;
    const ran = measured.attempts![0].finishedAt! - measured.attempts![0].startedAt!;
    const learned = h.service.estimate(first.preset);
    expect(learned).toBeLessThan(5_000);
    expect(learned).toBeGreaterThanOrEqual(Math.min(ran, 40) * 0.5);

    // Three jobs at once: the third waits in Easel's queue behind two on the host; its ETA adds up
    // the learned durations instead of three default minutes.
    const jobs = [];
    for (const u of ['x', 'y', 'z']) jobs.push(await h.service.enqueue(h.makeJob(u, { steps: 8 })));
    for (const j of jobs) expect(etaOf(j.id)).toBeLessThan(15_000);
    await Promise.all(jobs.map((j) => h.finished(j.id)));
  });
});
