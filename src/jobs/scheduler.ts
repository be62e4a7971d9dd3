/**
 * Fair-share queue for shared GPU hosts. Pure: no timers, no I/O; the JobService drives it.
 *
 * Order: round-robin across users (the user served least recently goes first; someone who has
 * never been served goes before anyone who has), ties broken by the server (guild/team) served
 * least recently, then the channel, then arrival. Within one user, first come first served
 * (jobs sent back after a host failure go to the front of their user's line).
 *
 * Limits (LimitsConfig): queueCap jobs waiting in total, perUserWaiting per user, a cooldown
 * between one user's submissions, and perUserRunning = on how many hosts at once a user's jobs
 * may run. A host runs one prompt at a time and keeps one more queued behind it, so with
 * perUserRunning 1 a user's next job can still wait on the same host: the GPU never idles
 * between their jobs, yet they never hold two GPUs.
 */
import { UserError } from '../commands/errors.ts';
import type { LimitsConfig } from '../config/types.ts';
import type { Actor } from './types.ts';

export interface QueueEntry {
  jobId: string;
  userKey: string;
  /** Server (Discord guild / Slack team), or the channel when there is none. */
  groupKey: string;
  channelKey: string;
  preset: string;
  /** Arrival order (assigned by the scheduler). */
  seq: number;
}

export type SchedulerLimits = Pick<LimitsConfig, 'queueCap' | 'perUserWaiting' | 'perUserRunning' | 'cooldownSeconds'>;

export function actorKeys(actor: Actor): { userKey: string; groupKey: string; channelKey: string } {
  return {
    userKey: `${actor.platform}:${actor.userId}`,
    groupKey: actor.serverId ? `${actor.platform}:s:${actor.serverId}` : `${actor.platform}:c:${actor.channelId}`,
    channelKey: `${actor.platform}:c:${actor.channelId}`,
  };
}

/** A count limit of 0 or less means "no limit". */
function limit(n: number): number {
  return n > 0 ? n : Infinity;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export class FairScheduler {
  /** Waiting jobs per user, in that user's order. */
  private readonly lines = new Map<string, QueueEntry[]>();
  private readonly waiting = new Map<string, QueueEntry>();
  /** Dispatched jobs: job -> (user, host). */
  private readonly dispatched = new Map<string, { userKey: string; host: string }>();
  private readonly lastUser = new Map<string, number>();
  private readonly lastGroup = new Map<string, number>();
  private readonly lastChannel = new Map<string, number>();
  private readonly lastSubmit = new Map<string, number>();
  /** Places held by admitted submissions still being read: hold id -> user, and the cooldown it set. */
  private readonly holds = new Map<string, { userKey: string; at: number; previousSubmit?: number }>();
  private holdSeq = 0;
  private tick = 0;
  private seq = 0;

  constructor(private limits: SchedulerLimits) {}

  setLimits(limits: SchedulerLimits): void {
    this.limits = limits;
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  get runningCount(): number {
    return this.dispatched.size;
  }

  waitingOf(userKey: string): number {
    return this.lines.get(userKey)?.length ?? 0;
  }

  /** Places held by this user's admitted submissions that are not queued yet. */
  heldOf(userKey: string): number {
    let n = 0;
    for (const h of this.holds.values()) if (h.userKey === userKey) n++;
    return n;
  }

  runningOf(userKey: string): number {
    let n = 0;
    for (const d of this.dispatched.values()) if (d.userKey === userKey) n++;
    return n;
  }

  has(jobId: string): boolean {
    return this.waiting.has(jobId);
  }

  isDispatched(jobId: string): boolean {
    return this.dispatched.has(jobId);
  }

  /**
   * May this user queue one more job now? Throws a UserError a person can act on.
   * On success the submission counts for the cooldown.
   */
  admit(userKey: string, now: number): void {
    const { queueCap, perUserWaiting, cooldownSeconds } = this.limits;
    const total = this.waiting.size + this.holds.size;
    if (total >= limit(queueCap)) {
      throw new UserError(
        'queue_full',
        `The queue is full (${plural(total, 'job')} waiting). Nothing was queued; please try again in a few minutes.`,
      );
    }
    const mine = this.waitingOf(userKey) + this.heldOf(userKey);
    if (mine >= limit(perUserWaiting)) {
      throw new UserError(
        'too_many_jobs',
        `You already have ${plural(mine, 'job')} waiting (the limit is ${perUserWaiting}). Wait for one to start, or cancel one, then try again.`,
      );
    }
    const last = this.lastSubmit.get(userKey);
    if (cooldownSeconds > 0 && last !== undefined && now - last < cooldownSeconds * 1000) {
      const wait = Math.ceil((cooldownSeconds * 1000 - (now - last)) / 1000);
      throw new UserError('cooldown', `Please wait ${plural(wait, 'second')} before starting another job.`);
    }
    this.lastSubmit.set(userKey, now);
  }

  /**
   * admit() and hold a place for a submission that is still being read. Returns the hold's id, for
   * push({ hold }) or release(). Throws like admit().
   */
  reserve(userKey: string, now: number): string {
    const previousSubmit = this.lastSubmit.get(userKey);
    this.admit(userKey, now);
    const id = `hold-${++this.holdSeq}`;
    this.holds.set(id, { userKey, at: now, previousSubmit });
    return id;
  }

  /** Is this hold still there (not yet pushed or released)? */
  holding(holdId: string): boolean {
    return this.holds.has(holdId);
  }

  /**
   * Give a held place back. With refund, the cooldown it started is undone too (nothing was queued,
   * e.g. the image was unreadable), unless the user has submitted again since.
   */
  release(holdId: string, opts: { refund?: boolean } = {}): void {
    const h = this.holds.get(holdId);
    if (!h) return;
    this.holds.delete(holdId);
    if (opts.refund && this.lastSubmit.get(h.userKey) === h.at) {
      if (h.previousSubmit === undefined) this.lastSubmit.delete(h.userKey);
      else this.lastSubmit.set(h.userKey, h.previousSubmit);
    }
  }

  /** Put a job in line (no limit checks: call admit() first for new work, or pass the hold reserve() gave). */
  push(entry: Omit<QueueEntry, 'seq'>, opts: { front?: boolean; hold?: string } = {}): QueueEntry {
    if (this.waiting.has(entry.jobId) || this.dispatched.has(entry.jobId)) {
      throw new Error(`job ${entry.jobId} is already scheduled`);
    }
    if (opts.hold !== undefined) {
      if (this.holds.get(opts.hold)?.userKey !== entry.userKey) throw new Error(`hold ${opts.hold} is not held for ${entry.userKey}`);
      this.holds.delete(opts.hold);
    }
    const e: QueueEntry = { ...entry, seq: ++this.seq };
    let line = this.lines.get(e.userKey);
    if (!line) this.lines.set(e.userKey, (line = []));
    if (opts.front) line.unshift(e);
    else line.push(e);
    this.waiting.set(e.jobId, e);
    return e;
  }

  /** Take a waiting job out of line (cancel). */
  remove(jobId: string): QueueEntry | undefined {
    const e = this.waiting.get(jobId);
    if (!e) return undefined;
    this.waiting.delete(jobId);
    const line = this.lines.get(e.userKey)!;
    line.splice(line.indexOf(e), 1);
    if (line.length === 0) this.lines.delete(e.userKey);
    return e;
  }

  /** May this user's next job go to this host under perUserRunning? */
  userMayUse(userKey: string, host: string): boolean {
    const hosts = new Set<string>();
    for (const d of this.dispatched.values()) if (d.userKey === userKey) hosts.add(d.host);
    return hosts.has(host) || hosts.size < limit(this.limits.perUserRunning);
  }

  /**
   * The next job for a free slot on `host`, removed from line and counted as dispatched there.
   * `fits` says whether a job can run on that host (preset valid there); jobs that don't fit are
   * passed over without losing their place.
   */
  next(host: string, fits: (e: QueueEntry) => boolean = () => true): QueueEntry | undefined {
    let best: QueueEntry | undefined;
    for (const [userKey, line] of this.lines) {
      if (!this.userMayUse(userKey, host)) continue;
      const candidate = line.find(fits);
      if (candidate && (!best || this.before(candidate, best))) best = candidate;
    }
    if (!best) return undefined;
    this.remove(best.jobId);
    this.served(best);
    this.dispatched.set(best.jobId, { userKey: best.userKey, host });
    return best;
  }

  /** Record a job already on a host (recovery after a restart). */
  markDispatched(entry: Pick<QueueEntry, 'jobId' | 'userKey'>, host: string): void {
    this.remove(entry.jobId);
    this.dispatched.set(entry.jobId, { userKey: entry.userKey, host });
  }

  /** A dispatched job left its host (finished, failed, cancelled, or is being sent back). */
  finished(jobId: string): void {
    this.dispatched.delete(jobId);
  }

  /** Waiting jobs in the order they are expected to start (ignoring hosts and running limits). */
  projectedOrder(): QueueEntry[] {
    const lines = new Map<string, QueueEntry[]>();
    for (const [k, v] of this.lines) lines.set(k, [...v]);
    const lastUser = new Map(this.lastUser);
    const lastGroup = new Map(this.lastGroup);
    const lastChannel = new Map(this.lastChannel);
    let tick = this.tick;
    const out: QueueEntry[] = [];
    const cmp = (a: QueueEntry, b: QueueEntry) => compare(a, b, lastUser, lastGroup, lastChannel);
    // Heads only change for the user just served, so a linear scan per pick is enough.
    while (lines.size > 0) {
      let best: QueueEntry | undefined;
      for (const line of lines.values()) if (!best || cmp(line[0], best) < 0) best = line[0];
      const e = best!;
      out.push(e);
      const line = lines.get(e.userKey)!;
      line.shift();
      if (line.length === 0) lines.delete(e.userKey);
      tick++;
      lastUser.set(e.userKey, tick);
      lastGroup.set(e.groupKey, tick);
      lastChannel.set(e.channelKey, tick);
    }
    return out;
  }

  /** 1-based place in line of every waiting job. */
  positions(): Map<string, number> {
    const m = new Map<string, number>();
    this.projectedOrder().forEach((e, i) => m.set(e.jobId, i + 1));
    return m;
  }

  private served(e: QueueEntry): void {
    this.tick++;
    this.lastUser.set(e.userKey, this.tick);
    this.lastGroup.set(e.groupKey, this.tick);
    this.lastChannel.set(e.channelKey, this.tick);
  }

  private before(a: QueueEntry, b: QueueEntry): boolean {
    return compare(a, b, this.lastUser, this.lastGroup, this.lastChannel) < 0;
  }
}

function compare(
  a: QueueEntry,
  b: QueueEntry,
  lastUser: Map<string, number>,
  lastGroup: Map<string, number>,
  lastChannel: Map<string, number>,
): number {
  return (
    (lastUser.get(a.userKey) ?? 0) - (lastUser.get(b.userKey) ?? 0) ||
    (lastGroup.get(a.groupKey) ?? 0) - (lastGroup.get(b.groupKey) ?? 0) ||
    (lastChannel.get(a.channelKey) ?? 0) - (lastChannel.get(b.channelKey) ?? 0) ||
    a.seq - b.seq
  );
}
