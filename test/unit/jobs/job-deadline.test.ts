import { describe, expect, it } from 'vitest';
import type { Workflow } from '../../../src/comfy/types.ts';
import { EtaEstimator } from '../../../src/jobs/eta.ts';
import { JobTimedOutError, promptDeadline, workUnits } from '../../../src/jobs/job-deadline.ts';

const sampler = (steps: number) => ({ class_type: 'KSampler', inputs: { steps, seed: 1 } });

describe('workUnits', () => {
  it('counts sampler steps times the batch, plus tiles of model upscales over the output size', () => {
    expect(workUnits({ '1': sampler(25) } as Workflow)).toBe(25);
    expect(workUnits({ '1': sampler(25), '2': { class_type: 'RepeatLatentBatch', inputs: { amount: 4 } } } as Workflow)).toBe(100);
    // hires: two samplers
    expect(workUnits({ '1': sampler(20), '2': sampler(10) } as Workflow)).toBe(30);
    // upscale only: no sampler, 2048x2048 output = 16 tiles of 512
    const upscale = { '1': { class_type: 'ImageUpscaleWithModel', inputs: {} } } as Workflow;
    expect(workUnits(upscale, { width: 2048, height: 2048 })).toBe(16);
    expect(workUnits({} as Workflow)).toBe(1);
  });
});

describe('promptDeadline', () => {
  const policy = { ceilingMs: 600_000, floorMs: 60_000 };

  it('gives a host that has finished nothing the full ceiling', () => {
    expect(promptDeadline(30, undefined, policy)).toEqual({ ms: 600_000 });
  });

  it('allows a few times the learned duration, never under the floor nor over the ceiling', () => {
    expect(promptDeadline(30, 1000, policy)).toEqual({ ms: 120_000, expectedMs: 30_000 });
    expect(promptDeadline(30, 10, policy)).toEqual({ ms: 60_000, expectedMs: 300 });
    expect(promptDeadline(3000, 1000, policy)).toEqual({ ms: 600_000, expectedMs: 3_000_000 });
    // A ceiling below the floor wins: it is the most the operator allows.
    expect(promptDeadline(30, 10, { ceilingMs: 5_000, floorMs: 60_000 }).ms).toBe(5_000);
  });

  it('uses the speed learned on that host, not on another one', () => {
    const eta = new EtaEstimator();
    eta.recordWork('restyle', 'fast', 3_000, 30);
    expect(eta.msPerUnit('restyle', 'fast')).toBe(100);
    expect(eta.msPerUnit('upscale', 'fast')).toBe(100); // another preset on that host
    expect(eta.msPerUnit('restyle', 'fresh')).toBeUndefined();
  });

  it('tells the user how long, where, and what to try', () => {
    const err = new JobTimedOutError('gpu-2', { ms: 90_000, expectedMs: 20_000 });
    expect(err.code).toBe('timed_out');
    expect(err.message).toBe(
      'Your job took longer than 90 s on GPU host gpu-2 (it usually takes about 20 s there), so Easel stopped it. ' +
        'Try fewer steps, a smaller image or fewer images; if it keeps happening, tell an admin.',
    );
    expect(new JobTimedOutError('gpu-1', { ms: 600_000 }).message).toMatch(/^Your job took longer than 10 min on GPU host gpu-1, so/);
  });
});
