/**
 * What createApp needs from "the jobs": queue, cancel, follow, annotate. Two implementations:
 *  - JobService (job-service.ts): the embedded default, one process, SQLite + in-process scheduler;
 *  - DistributedJobs (distributed/distributed-jobs.ts): with REDIS_URL, several instances share one
 *    BullMQ queue, one job store and one image folder.
 */
import type { Actor, JobEvent, JobRecord } from './types.ts';

export interface JobFlow {
  /** Hold a place for a submission still being read (see JobService.reserve). */
  reserve(actor: Actor): string;
  /**
   * Where the limits live elsewhere (Redis, several instances), ask them before any work: throws the
   * UserError a queued job would get now (queue_full, too_many_jobs, cooldown, store_down).
   */
  precheck?(actor: Actor): Promise<void>;
  /** Give back a place reserve() held. */
  release(hold: string, opts?: { refund?: boolean }): void;
  /** Queue a new job. Throws UserError queue_full / too_many_jobs / cooldown / preset_disabled. */
  enqueue(job: JobRecord, opts?: { hold?: string }): Promise<JobRecord>;
  /** Cancel: dequeue if waiting, interrupt its prompt if on a host. Returns the record afterwards. */
  cancel(jobId: string): Promise<JobRecord>;
  /** Events of one job; replays its latest lifecycle event first. */
  subscribe(jobId: string, listener: (e: JobEvent) => void): () => void;
  /** Every job's events this instance is responsible for showing. */
  onEvent(listener: (e: JobEvent) => void): () => void;
  /** Merge platform references (message ids, ...) into the job and store them. */
  setPlatformRefs(jobId: string, refs: Record<string, unknown>): Promise<void>;
  stats(): { waiting: number; running: number } | Promise<{ waiting: number; running: number }>;
  /** After a restart: pick up unfinished work. */
  recover(): Promise<void>;
  close(): Promise<void>;
}
