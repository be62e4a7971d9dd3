/**
 * Ends of jobs (done, failed, cancelled) the job store could not save when they happened (disk full,
 * Redis away). The end is announced anyway, so the result is posted; but a record left saying
 * "running" would be taken up again after a restart, and its result posted a second time. So each
 * such end is kept here and saved again, after 0.5 s, then at doubling intervals up to 30 s, until
 * the store takes it, and once more when the service closes. Platform references set meanwhile
 * (the message a result was posted in) are merged into the kept record, so they are not lost.
 */
import type { Logger } from 'pino';
import type { JobRecord } from './types.ts';

export interface UnsavedEndingsOptions {
  save: (job: JobRecord) => Promise<void>;
  logger?: Logger;
  /** First retry after this long, ms (default 500); then doubling. */
  firstRetryMs?: number;
  /** Longest wait between retries, ms (default 30 000). */
  maxRetryMs?: number;
  /** Most ends kept; beyond it the oldest is given up, with an error logged (default 10 000). */
  maxKept?: number;
}

export class UnsavedEndings {
  private readonly kept = new Map<string, JobRecord>();
  private timer: NodeJS.Timeout | undefined;
  private waitMs: number;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: UnsavedEndingsOptions) {
    this.waitMs = opts.firstRetryMs ?? 500;
  }

  /** Keep this ended job's record until the store takes it. */
  hold(job: JobRecord): void {
    this.kept.delete(job.id); // re-inserted last: the oldest is first
    this.kept.set(job.id, { ...job });
    const max = this.opts.maxKept ?? 10_000;
    while (this.kept.size > max) {
      const [oldest] = this.kept.keys();
      this.kept.delete(oldest);
      this.opts.logger?.error({ jobId: oldest }, 'gave up saving the end of a job: too many unsaved ends while the job store is failing');
    }
    this.schedule();
  }

  has(jobId: string): boolean {
    return this.kept.has(jobId);
  }

  /** Merge platform references into a kept record and try to save it now (it stays kept if that fails). */
  async addRefs(jobId: string, refs: Record<string, unknown>): Promise<void> {
    const job = this.kept.get(jobId);
    if (!job) return;
    // A new object: a save of the older one finishing meanwhile must not forget this version.
    const next = { ...job, platformRefs: { ...job.platformRefs, ...refs } };
    this.kept.set(jobId, next);
    await this.saveOne(next);
  }

  /** Try every kept record once. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      for (const job of [...this.kept.values()]) await this.saveOne(job);
    })().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** A last try, then no more retries. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    if (this.kept.size > 0) {
      this.opts.logger?.error({ jobs: [...this.kept.keys()] }, 'the end of these jobs could not be saved before closing; after a restart they may run again');
    }
  }

  private async saveOne(job: JobRecord): Promise<void> {
    try {
      await this.opts.save({ ...job });
      // Saved: forget it, unless a newer version (more refs) arrived while this one was being saved.
      if (this.kept.get(job.id) === job) this.kept.delete(job.id);
      this.opts.logger?.info({ jobId: job.id, state: job.state }, 'saved the end of a job after the job store came back');
    } catch {
      /* still failing: kept for the next try */
    }
  }

  private schedule(): void {
    if (this.timer || this.closed || this.kept.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().then(() => {
        if (this.kept.size === 0) this.waitMs = this.opts.firstRetryMs ?? 500;
        else this.waitMs = Math.min(this.waitMs * 2, this.opts.maxRetryMs ?? 30_000);
        this.schedule();
      });
    }, this.waitMs);
    this.timer.unref?.();
  }
}
