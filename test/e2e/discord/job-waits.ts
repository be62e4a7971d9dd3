/**
 * Waiting on the real app's jobs from a Discord end-to-end test, driven by the app's own job events
 * (no polling, no fixed sleeps): a job reaching a state, and a stalled simulator run let go.
 */
import type { EaselApp } from '../../../src/app/create-app.ts';

const FINAL = ['done', 'failed', 'cancelled'];

/** Resolves when the job is in one of `states` (checked now, then on each of its events). */
export function jobReaches(app: EaselApp, jobId: string, states: string[] = FINAL, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      off();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => finish(new Error(`job ${jobId} did not reach ${states.join('/')} in time`)), timeoutMs);
    const off = app.onEvent((e) => {
      if (e.job.id === jobId && states.includes(e.job.state)) finish();
    });
    void app.getJob(jobId).then((j) => {
      if (j && states.includes(j.state)) finish();
    });
  });
}

/**
 * Let a stalled simulator run go and wait for the job to end. A release that comes before the stall
 * begins does not count, so it is repeated until the job's final event arrives.
 */
export async function releaseStalled(app: EaselApp, jobId: string): Promise<void> {
  const ended = jobReaches(app, jobId);
  app.simulator!.release();
  const again = setInterval(() => app.simulator!.release(), 25);
  try {
    await ended;
  } finally {
    clearInterval(again);
  }
}
