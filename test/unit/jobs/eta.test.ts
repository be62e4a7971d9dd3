import { describe, expect, it } from 'vitest';
import { EtaEstimator } from '../../../src/jobs/eta.ts';

describe('EtaEstimator', () => {
  it('uses the default per run before any data', () => {
    const eta = new EtaEstimator({ defaultRunMs: 15_000 });
    expect(eta.estimate('restyle')).toBe(15_000);
    expect(eta.estimate('restyle', 'gpu-1', 4)).toBe(60_000);
    expect(eta.knows('restyle')).toBe(false);
  });

  it('learns a moving average per preset and host', () => {
    const eta = new EtaEstimator({ alpha: 0.5 });
    eta.record('restyle', 'gpu-1', 4_000);
    expect(eta.estimate('restyle', 'gpu-1')).toBe(4_000);
    eta.record('restyle', 'gpu-1', 8_000);
    expect(eta.estimate('restyle', 'gpu-1')).toBe(6_000);
    eta.record('restyle', 'gpu-2', 1_000);
    expect(eta.estimate('restyle', 'gpu-2')).toBe(1_000);
    expect(eta.estimate('restyle', 'gpu-1')).toBe(6_000);
  });

  it('falls back from host to preset to host to everything', () => {
    const eta = new EtaEstimator({ alpha: 1 });
    eta.record('upscale', 'gpu-1', 2_000);
    eta.record('restyle', 'gpu-2', 9_000);
    expect(eta.estimate('upscale', 'gpu-2')).toBe(2_000); // preset elsewhere
    expect(eta.estimate('blend', 'gpu-2')).toBe(9_000); // that host's speed
    expect(eta.estimate('blend')).toBe(5_500); // mean of hosts
  });

  it('stores per-run time so a ladder of 4 counts 4 runs', () => {
    const eta = new EtaEstimator();
    eta.record('restyle', 'gpu-1', 8_000, 4);
    expect(eta.estimate('restyle', 'gpu-1')).toBe(2_000);
    expect(eta.estimate('restyle', 'gpu-1', 3)).toBe(6_000);
  });

  it('ignores nonsense samples', () => {
    const eta = new EtaEstimator({ defaultRunMs: 1_000 });
    eta.record('restyle', 'gpu-1', Number.NaN);
    eta.record('restyle', 'gpu-1', -5);
    expect(eta.estimate('restyle', 'gpu-1')).toBe(1_000);
  });
});
