import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSystemStats } from '../../../src/comfy/wire.ts';
import { statsSaySimulated } from '../../../src/comfy/host-pool.ts';
import { startHarness, type Harness } from './harness.ts';

describe('a standalone simulator configured like a real GPU host', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ hosts: 1, stepMs: 5, configSimulated: false });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('is labelled simulated from its own /system_stats, in status and in the submitted event', async () => {
    expect(h.pool.config('gpu-1')!.simulated).toBe(false);
    const [status] = h.pool.status();
    expect(status.up).toBe(true);
    expect(status.simulated).toBe(true);
    expect(h.pool.isSimulated('gpu-1')).toBe(true);

    const job = await h.service.enqueue(h.makeJob('A', { steps: 3 }));
    expect((await h.finished(job.id)).type).toBe('done');
    const submitted = h.eventsOf(job.id).find((e) => e.type === 'submitted');
    expect(submitted && submitted.type === 'submitted' && submitted.simulated).toBe(true);
  });
});

describe('telling a simulator from a GPU by /system_stats', () => {
  it('reads pytorch_version and device names', () => {
    const gpu = parseSystemStats({
      system: { os: 'posix', comfyui_version: '0.3.64', pytorch_version: '2.8.0+cu128' },
      devices: [{ name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync', type: 'cuda', vram_total: 25393692672, vram_free: 23000000000 }],
    });
    expect(gpu.pytorchVersion).toBe('2.8.0+cu128');
    expect(statsSaySimulated(gpu)).toBe(false);
    // Older hosts may omit pytorch_version: still a GPU.
    expect(statsSaySimulated(parseSystemStats({ system: {}, devices: [{ name: 'cuda:0 NVIDIA A10G', type: 'cuda' }] }))).toBe(false);
    expect(statsSaySimulated(parseSystemStats({ system: { pytorch_version: 'none (simulated)' }, devices: [] }))).toBe(true);
    expect(statsSaySimulated(parseSystemStats({ system: {}, devices: [{ name: 'Easel simulator (simulated, no GPU)', type: 'cpu' }] }))).toBe(true);
  });
});
