/**
 * The playground "channel": the recent jobs made on the page, followed through easel.subscribe and
 * fanned out to every open page over server-sent events. Finished jobs are rendered with
 * easel.render(); the page-facing description of each result is kept, the encoded files only for
 * the most recent results (older ones are rendered again when asked for).
 */
import type { Logger } from 'pino';
import type { Easel, RenderedFile } from '../../app/types.ts';
import type { JobEvent, JobRecord } from '../../jobs/types.ts';
import { jobView, progressView, resultView, type JobView, type ProgressView, type ResultView } from './job-view.ts';

/** What one page receives for each change. */
export type FeedMessage =
  | { type: 'job'; job: JobView; progress?: ProgressView; result?: ResultView }
  | { type: 'deleted'; jobId: string };

export interface FeedEntry {
  job: JobRecord;
  progress?: ProgressView;
  /** What the page shows of the result (small; kept for every job in the feed). */
  result?: ResultView;
  /** The encoded files (large; kept for the most recent results only). */
  files?: RenderedFile[];
  rendering?: boolean;
  deleted?: boolean;
}

/** Generous limits: the page is local, so the gallery and every image are shown. */
export const PLAYGROUND_RENDER_LIMITS = { maxFileBytes: 20 * 1024 * 1024, maxFiles: 10 };

export class JobFeed {
  private readonly entries = new Map<string, FeedEntry>();
  private readonly unsubscribers = new Map<string, () => void>();
  private readonly listeners = new Set<(m: FeedMessage) => void>();
  /** Job ids whose files are in memory, oldest first. */
  private readonly filesHeld: string[] = [];
  private readonly offAll: () => void;
  private closed = false;

  constructor(
    private readonly easel: Easel,
    private readonly opts: { maxJobs?: number; maxRenderedResults?: number; logger?: Logger } = {},
  ) {
    // Playground jobs this page did not start (recovered after a restart) join the feed too.
    // The event that reveals a job (usually "queued", sent while submit() is still running) is applied
    // here; subscribe() only replays states a job has moved past.
    this.offAll = easel.onEvent((e) => {
      if (e.job.actor.platform === 'playground' && !this.entries.has(e.job.id)) {
        this.track(e.job);
        this.onJobEvent(e);
      }
    });
  }

  /** Follow a job: remember it, subscribe to its events, tell every page. */
  track(job: JobRecord): void {
    if (this.closed || this.entries.has(job.id)) return;
    this.entries.set(job.id, { job });
    this.trim();
    this.publish(job.id);
    this.unsubscribers.set(job.id, this.easel.subscribe(job.id, (e) => this.onJobEvent(e)));
  }

  private trim(): void {
    const max = this.opts.maxJobs ?? 100;
    while (this.entries.size > max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
      this.unsubscribers.get(oldest)?.();
      this.unsubscribers.delete(oldest);
    }
  }

  private onJobEvent(e: JobEvent): void {
    const entry = this.entries.get(e.job.id);
    if (!entry || entry.deleted) return;
    entry.job = e.job;
    if (e.type === 'done') {
      if (entry.rendering || entry.result) return;
      entry.rendering = true;
      entry.progress = undefined;
      void this.renderResult(entry, e.job, 'newest');
      return;
    }
    // Keep the last preview while later progress events arrive without one.
    const next = progressView(e);
    if (e.type === 'running' && !next.preview && entry.progress?.preview) next.preview = entry.progress.preview;
    entry.progress = next;
    if (e.type === 'failed' || e.type === 'cancelled') {
      this.unsubscribers.get(e.job.id)?.();
      this.unsubscribers.delete(e.job.id);
    }
    this.publish(e.job.id);
  }

  /** Render a finished job for the page and tell every page; a failure is shown on the job. */
  private async renderResult(entry: FeedEntry, job: JobRecord, age: 'newest' | 'oldest'): Promise<void> {
    try {
      const rendered = await this.easel.render(job, PLAYGROUND_RENDER_LIMITS);
      if (entry.deleted || this.entries.get(job.id) !== entry) return;
      entry.result = resultView(job, rendered);
      this.holdFiles(entry, rendered.files, age);
    } catch (err) {
      this.opts.logger?.error({ err, jobId: job.id }, 'playground: rendering the result failed');
      entry.progress = { type: 'failed', lines: [`The result could not be shown: ${(err as Error).message}`] };
    } finally {
      entry.rendering = false;
    }
    this.publish(job.id);
  }

  /**
   * Bring back the feed after a restart: `newestFirst` are the page's recent jobs from the store
   * (as easel.recentJobs gives them). They are shown oldest first, before any job that joined
   * meanwhile. Failed and cancelled jobs show their reason, unfinished ones follow their live events,
   * and finished ones are rendered again in the background, newest first (the resolved promise
   * says all are done).
   */
  async restore(newestFirst: JobRecord[]): Promise<void> {
    if (this.closed) return;
    const ordered = new Map<string, FeedEntry>();
    const added: FeedEntry[] = [];
    for (const job of [...newestFirst].reverse()) {
      if (job.actor.platform !== 'playground' || job.platformRefs?.deleted) continue;
      const existing = this.entries.get(job.id);
      if (existing) {
        ordered.set(job.id, existing);
        continue;
      }
      const entry: FeedEntry = { job };
      if (job.state === 'failed') {
        entry.progress = progressView({ type: 'failed', job, code: job.error?.code ?? 'job_failed', reason: job.error?.message ?? '' });
      } else if (job.state === 'cancelled') {
        entry.progress = progressView({ type: 'cancelled', job });
      } else if (job.state === 'done') {
        entry.rendering = true;
      }
      ordered.set(job.id, entry);
      added.push(entry);
    }
    for (const [id, entry] of this.entries) if (!ordered.has(id)) ordered.set(id, entry);
    this.entries.clear();
    for (const [id, entry] of ordered) this.entries.set(id, entry);
    this.trim();
    const kept = added.filter((entry) => this.entries.get(entry.job.id) === entry);
    for (const entry of kept) {
      this.publish(entry.job.id);
      const { id, state } = entry.job;
      if (state !== 'done' && state !== 'failed' && state !== 'cancelled') {
        this.unsubscribers.set(id, this.easel.subscribe(id, (e) => this.onJobEvent(e)));
      }
    }
    // One at a time, newest first: the results nearest the bottom of the page come back first.
    for (const entry of kept.filter((e) => e.job.state === 'done').reverse()) {
      if (this.closed) {
        entry.rendering = false;
        continue;
      }
      if (this.entries.get(entry.job.id) !== entry || entry.result) continue;
      await this.renderResult(entry, entry.job, 'oldest');
    }
  }

  /**
   * Keep a result's encoded files, letting go of the oldest beyond the limit. `age` says where the
   * result stands: a new one ('newest'), or one brought back from the store, older than any held.
   */
  private holdFiles(entry: FeedEntry, files: RenderedFile[], age: 'newest' | 'oldest' = 'newest'): void {
    entry.files = files;
    const id = entry.job.id;
    const at = this.filesHeld.indexOf(id);
    if (at >= 0) this.filesHeld.splice(at, 1);
    if (age === 'newest') this.filesHeld.push(id);
    else this.filesHeld.unshift(id);
    const max = this.opts.maxRenderedResults ?? 20;
    while (this.filesHeld.length > max) {
      const old = this.entries.get(this.filesHeld.shift() as string);
      if (old) old.files = undefined;
    }
  }

  /** One rendered file of a finished job, rendering it again if it was let go. */
  async file(jobId: string, index: number): Promise<RenderedFile | undefined> {
    const entry = this.entries.get(jobId);
    if (!entry?.result) return undefined;
    if (!entry.files) this.holdFiles(entry, (await this.easel.render(entry.job, PLAYGROUND_RENDER_LIMITS)).files);
    return entry.files?.[index];
  }

  markDeleted(jobId: string): void {
    const entry = this.entries.get(jobId);
    if (entry) entry.deleted = true;
    this.unsubscribers.get(jobId)?.();
    this.unsubscribers.delete(jobId);
    this.entries.delete(jobId);
    for (const l of this.listeners) l({ type: 'deleted', jobId });
  }

  get(jobId: string): FeedEntry | undefined {
    return this.entries.get(jobId);
  }

  message(entry: FeedEntry): FeedMessage {
    return {
      type: 'job',
      job: jobView(entry.job),
      progress: entry.progress,
      result: entry.result,
    };
  }

  /** Every job in the feed, oldest first. */
  snapshot(): FeedMessage[] {
    return [...this.entries.values()].map((e) => this.message(e));
  }

  private publish(jobId: string): void {
    const entry = this.entries.get(jobId);
    if (!entry) return;
    const m = this.message(entry);
    for (const l of this.listeners) l(m);
  }

  listen(listener: (m: FeedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.offAll();
    for (const off of this.unsubscribers.values()) off();
    this.unsubscribers.clear();
    this.listeners.clear();
  }
}
