import { describe, expect, it } from 'vitest';
import { describeProgress, describeStatus, formatDuration, truncateText } from '../../../../src/bot/shared/job-text.ts';
import { progressBar } from '../../../../src/bot/shared/progress-bar.ts';
import type { JobRecord } from '../../../../src/jobs/types.ts';

const job = { id: 'j1', command: 'restyle', actor: { platform: 'discord', userId: 'u', channelId: 'c' } } as JobRecord;

describe('job text', () => {
  it('draws a progress bar with a percentage', () => {
    expect(progressBar(0, 20, 10)).toBe('▱▱▱▱▱▱▱▱▱▱ 0%');
    expect(progressBar(10, 20, 10)).toBe('▰▰▰▰▰▱▱▱▱▱ 50%');
    expect(progressBar(25, 20, 10)).toBe('▰▰▰▰▰▰▰▰▰▰ 100%');
  });

  it('says where a job is in the queue and when it should start', () => {
    expect(describeProgress({ type: 'queued', job, position: 3, etaMs: 125_000 })).toEqual(['Queued: position 3, starting in about 2 min 5 s.']);
    expect(describeProgress({ type: 'queued', job, position: 1, etaMs: 0 })).toEqual(['Queued: next in line.']);
  });

  it('shows steps and, for ladders, which run', () => {
    const lines = describeProgress({ type: 'running', job, step: 5, maxSteps: 20, run: 2, runs: 4 });
    expect(lines[0]).toContain('step 5/20');
    expect(lines[1]).toBe('run 2 of 4');
  });

  it('tells configured simulator hosts from the built-in simulator, and says nothing of it for GPUs', () => {
    const host = { name: 'gpu-1', simulated: true, up: true, disabledPresets: [] };
    const base = { waiting: 0, running: 0, hosts: [host, { ...host, name: 'gpu-2' }] };
    expect(describeStatus({ ...base, simulated: true, builtInSimulator: false })[0]).toBe('The configured ComfyUI hosts are simulators (simulated images, no GPU).');
    expect(describeStatus({ ...base, simulated: false, builtInSimulator: false })[0]).toBe('Easel status');
  });

  it('labels the simulator as simulated in status', () => {
    const lines = describeStatus({
      simulated: true,
      builtInSimulator: true,
      waiting: 2,
      running: 1,
      hosts: [{ name: 'simulator', simulated: true, up: true, vramTotal: 8 * 1024 ** 3, vramFree: 6 * 1024 ** 3, disabledPresets: [] }],
    });
    expect(lines.join('\n')).toMatch(/simulator \(simulated\): up/);
    expect(lines.join('\n')).toContain('GPU memory 6.0 GiB free of 8.0 GiB');
    expect(lines.join('\n')).toContain('2 waiting, 1 running');
  });

  it('formats durations and truncates long text', () => {
    expect(formatDuration(4_000)).toBe('4 s');
    expect(formatDuration(3_780_000)).toBe('1 h 3 min');
    expect(truncateText('abcdef', 4)).toBe('abc…');
    expect(truncateText('abc', 4)).toBe('abc');
  });
});
