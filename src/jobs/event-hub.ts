/**
 * The listeners of one Easel process: per job (subscribe) and app-wide (onEvent). A late subscriber
 * gets the job's latest lifecycle event first (from memory, else rebuilt from the stored record).
 * Results that finish before any app-wide listener exists are kept for the first one.
 *
 * With several instances (src/jobs/distributed), app-wide listeners (front ends adopting jobs,
 * metrics, the event log) only hear about the jobs this instance shows, so a result is posted once
 * however many instances run: `claim(jobId)` decides, asynchronously, whether an event of some other
 * instance's job is ours after all (its instance died), and only terminal events ask. One process on
 * its own shows every job (the defaults).
 */
import { isTerminal } from './job-store.ts';
import type { JobEvent, JobRecord } from './types.ts';

type Listener = (e: JobEvent) => void;

const KEEP_LAST = 2_000;

export class EventHub {
  private readonly perJob = new Map<string, Set<Listener>>();
  private readonly global = new Set<Listener>();
  private readonly last = new Map<string, JobEvent>();
  private undelivered: JobEvent[] = [];

  constructor(
    private readonly deps: {
      load(jobId: string): Promise<JobRecord | undefined>;
      /** The event a late subscriber gets for a stored record (default: finished jobs only). */
      eventForRecord?(job: JobRecord): JobEvent | undefined;
      /** Is this job shown by this instance (known without asking Redis)? Default: every job. */
      mine?(jobId: string): boolean;
      /** Ask whether a terminal event of a job shown elsewhere is ours now. */
      claim?(jobId: string): Promise<boolean>;
    },
  ) {}

  emit(e: JobEvent): void {
    const id = e.job.id;
    if (e.type !== 'running' || !e.preview) this.remember(id, e);
    for (const l of [...(this.perJob.get(id) ?? [])]) safeCall(l, e);
    const terminal = e.type === 'done' || e.type === 'failed' || e.type === 'cancelled';
    if (!this.deps.mine || this.deps.mine(id)) this.toGlobal(e, terminal);
    else if (terminal && this.deps.claim) {
      void this.deps.claim(id).then(
        (ours) => ours && this.toGlobal(e, true),
        () => undefined,
      );
    }
  }

  subscribe(jobId: string, listener: Listener): () => void {
    let set = this.perJob.get(jobId);
    if (!set) this.perJob.set(jobId, (set = new Set()));
    set.add(listener);
    const last = this.last.get(jobId);
    if (last) safeCall(listener, last);
    else {
      void this.deps.load(jobId).then(
        (job) => {
          if (!job || !set!.has(listener) || this.last.has(jobId)) return;
          const e = (this.deps.eventForRecord ?? finishedEvent)(job);
          if (e) safeCall(listener, e);
        },
        () => undefined,
      );
    }
    return () => {
      set!.delete(listener);
      if (set!.size === 0 && this.perJob.get(jobId) === set) this.perJob.delete(jobId);
    };
  }

  onEvent(listener: Listener): () => void {
    this.global.add(listener);
    if (this.undelivered.length > 0) {
      const pending = this.undelivered;
      this.undelivered = [];
      for (const e of pending) safeCall(listener, e);
    }
    return () => this.global.delete(listener);
  }

  private toGlobal(e: JobEvent, terminal: boolean): void {
    if (this.global.size === 0) {
      if (terminal) {
        this.undelivered.push(e);
        if (this.undelivered.length > 1_000) this.undelivered.shift();
      }
      return;
    }
    for (const l of [...this.global]) safeCall(l, e);
  }

  private remember(id: string, e: JobEvent): void {
    this.last.delete(id);
    this.last.set(id, e);
    if (this.last.size > KEEP_LAST) {
      for (const [k, v] of this.last) {
        if (this.last.size <= KEEP_LAST * 0.75) break;
        if (isTerminal(v.job.state)) this.last.delete(k);
      }
    }
  }
}

/** The event of a finished record (what a late subscriber needs to show its end). */
export function finishedEvent(job: JobRecord): JobEvent | undefined {
  switch (job.state) {
    case 'done':
      return { type: 'done', job };
    case 'cancelled':
      return { type: 'cancelled', job };
    case 'failed':
      return { type: 'failed', job, code: job.error?.code ?? 'job_failed', reason: job.error?.message ?? 'The job failed.' };
    default:
      return undefined;
  }
}

function safeCall(l: Listener, e: JobEvent): void {
  try {
    l(e);
  } catch {
    /* a broken listener must not break the job */
  }
}
