/**
 * Jobs across several Easel instances sharing one Redis (REDIS_URL): a BullMQ queue replaces the
 * in-process line, so any instance may accept a job and whichever instance has a free GPU slot runs it.
 *
 *  - Accepting (enqueue): limits and the user's priority are decided atomically in Redis
 *    (SharedAdmission), the record is saved to the shared JobStore, the job is added to BullMQ.
 *  - Running: each instance drives only the hosts it holds the lease of (HostLeases), through a local
 *    JobService restricted to them; its BullMQ worker takes as many jobs as those hosts have slots.
 *    The worker hands each job to the local JobService and keeps the BullMQ lock until it ends.
 *  - Takeover: a worker that dies stops renewing its locks; after `lockMs` BullMQ's stalled-job check
 *    (run by every live worker) puts its jobs back in line, and exactly one other worker takes each.
 *    Before running it again that worker waits for any prompt the dead instance left on a host it does
 *    not drive, then the JobService's usual /history check takes that result instead of submitting
 *    again (or re-attaches, when the host is its own now).
 *  - Per-user host limit (limits.perUserRunning) over all instances: before a job takes a host slot the
 *    instance claims that host for the user in Redis (UserHostClaims). Refused, the job is parked:
 *    delayed in BullMQ (its worker slot free for other users' jobs) until one of the user's jobs
 *    leaves its host, then promoted back into line.
 *  - Events go through Redis pub/sub (EventBus) to every instance; the one showing the job (JobFronts)
 *    posts its result. Cancel and platform refs reach the running instance as control messages.
 */
import { randomUUID } from 'node:crypto';
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { UserError } from '../../commands/errors.ts';
import { describeFailure } from '../failure-reasons.ts';
import type { JobFlow } from '../job-flow.ts';
import { JobService, type JobServiceDeps } from '../job-service.ts';
import { JobStoreDownError } from '../store-guard.ts';
import { isTerminal } from '../job-store.ts';
import { actorKeys } from '../scheduler.ts';
import type { Actor, JobEvent, JobRecord } from '../types.ts';
import { EventBus, type ControlMessage } from './event-bus.ts';
import { EventHub } from '../event-hub.ts';
import { HostLeases } from './host-leases.ts';
import { JobFronts } from './job-fronts.ts';
import { SharedAdmission } from './shared-admission.ts';
import { UserHostClaims } from './user-host-claims.ts';

export interface DistributedOptions {
  /** A job whose worker stops renewing its lock for this long is taken over by another instance, ms (default 30 000). */
  lockMs?: number;
  /** How often each worker looks for such jobs, ms (default: lockMs). */
  stalledCheckMs?: number;
  /** How long a host lease and an instance heartbeat last without renewal, ms (default 15 000). */
  leaseMs?: number;
  /** This instance's id (default: random). */
  instanceId?: string;
  /**
   * A job refused a host because its user runs on limits.perUserRunning hosts elsewhere waits in
   * BullMQ's delayed set; it is put back in line when one of those ends, or after this long anyway, ms
   * (default 1000).
   */
  parkMs?: number;
}

export interface DistributedJobsDeps extends JobServiceDeps {
  redisUrl: string;
  /** Key prefix, default "easel" (the JobStore's). */
  namespace?: string;
  distributed?: DistributedOptions;
}

interface QueuedData {
  jobId: string;
}

type TakenOutcome = 'ended' | 'parked';

const QUEUE = 'jobs';
/**
 * Previews cross Redis at most this often per job. Front ends show one edit every 1.5 s anyway, and a
 * GPU making a preview every step would otherwise send megabytes a second through pub/sub.
 */
const PREVIEW_EVERY_MS = 1_000;

export class DistributedJobs implements JobFlow {
  readonly instanceId: string;
  private readonly deps: DistributedJobsDeps;
  private readonly logger?: Logger;
  private readonly ns: string;
  /** Commands (admission, leases, events, the queue). No offline queue: with Redis away they fail at once, never run late. */
  private readonly redis: Redis;
  private readonly sub: Redis;
  /** BullMQ's worker needs a connection that retries forever. */
  private readonly workerRedis: Redis;
  private readonly admission: SharedAdmission;
  private readonly claims: UserHostClaims;
  private readonly leases: HostLeases;
  private readonly fronts: JobFronts;
  private readonly bus: EventBus;
  private readonly hub: EventHub;
  private readonly local: JobService;
  private readonly queue: Queue<QueuedData>;
  private worker: Worker<QueuedData> | undefined;
  /** Jobs this worker took: resolves when the local service ends them ('ended') or hands them back ('parked'). */
  private readonly taken = new Map<string, (outcome: TakenOutcome) => void>();
  /** Cancels that arrived for a job taken here before the local service had it. */
  private readonly cancelAsked = new Set<string>();
  private readonly holds = new Set<string>();
  private holdSeq = 0;
  /** When each running job's last preview was published. */
  private readonly lastPreview = new Map<string, number>();
  private closing = false;

  private constructor(deps: DistributedJobsDeps) {
    this.deps = deps;
    this.logger = deps.logger;
    this.ns = deps.namespace ?? 'easel';
    const opts = deps.distributed ?? {};
    this.instanceId = opts.instanceId ?? randomUUID();
    const connect = (forWorker = false) => {
      const r = new Redis(deps.redisUrl, forWorker ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false });
      // Errors reach callers through rejected commands; never crash on the emitter (and never log the URL).
      r.on('error', (err: Error) => this.logger?.debug({ err: err.message }, 'redis connection error'));
      return r;
    };
    this.redis = connect();
    this.sub = connect(true);
    this.workerRedis = connect(true);
    this.admission = new SharedAdmission(this.redis, this.ns);
    this.claims = new UserHostClaims(this.redis, this.ns, this.instanceId);
    this.leases = new HostLeases(this.redis, this.ns, this.instanceId, deps.pool.names(), { ttlMs: opts.leaseMs ?? 15_000 });
    this.fronts = new JobFronts(this.redis, this.ns, this.instanceId);
    this.bus = new EventBus(this.redis, this.sub, this.ns, this.instanceId);
    this.hub = new EventHub({
      load: (id) => deps.store.get(id),
      mine: (id) => this.fronts.isMine(id),
      claim: (id) => this.fronts.claim(id),
    });
    this.local = new JobService({
      ...deps,
      options: {
        ...deps.options,
        usable: (h) => this.leases.owns(h),
        hostGate: { enter: (job, host) => this.claimHost(job, host), handBack: (job) => this.taken.get(job.id)?.('parked') },
      },
    });
    this.queue = new Queue<QueuedData>(QUEUE, { connection: this.redis, prefix: `${this.ns}:bull` });
    this.queue.on('error', (err: Error) => this.logger?.warn({ err: err.message }, 'job queue error'));
  }

  /** Nothing runs until recover() (call it once the host pool has started). */
  static create(deps: DistributedJobsDeps): DistributedJobs {
    return new DistributedJobs(deps);
  }

  private async begin(): Promise<void> {
    if (this.redis.status !== 'ready') {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the shared job queue could not reach Redis within 10 s')), 10_000);
        this.redis.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.bus.start({ event: (e) => this.hub.emit(e), control: (m) => this.onControl(m) });
    this.local.onEvent((e) => this.onLocalEvent(e));
    this.leases.on('change', () => this.onLeasesChange());
    this.leases.on('error', (err: Error) => this.logger?.warn({ err: err.message }, 'could not renew host leases'));
    await this.leases.start();
    const opts = this.deps.distributed ?? {};
    const lockMs = opts.lockMs ?? 30_000;
    this.worker = new Worker<QueuedData>(QUEUE, (job, token) => this.process(job, token), {
      connection: this.workerRedis,
      prefix: `${this.ns}:bull`,
      concurrency: this.capacity(),
      lockDuration: lockMs,
      stalledInterval: opts.stalledCheckMs ?? lockMs,
      // Every stall is an instance that died holding the job; the /history check keeps reruns exact.
      maxStalledCount: 20,
      autorun: false,
    });
    this.worker.on('error', (err: Error) => this.logger?.warn({ err: err.message }, 'job worker error'));
    this.worker.on('failed', (job, err) => this.logger?.warn({ jobId: job?.data.jobId, err: err.message }, 'job worker gave up on a job'));
    if (this.leases.owned().length === 0) await this.worker.pause(true);
    void this.worker.run().catch((err: Error) => this.logger?.error({ err: err.message }, 'job worker stopped'));
    this.logger?.info({ instance: this.instanceId, hosts: this.leases.owned() }, 'jobs run through the shared Redis queue (BullMQ)');
  }

  /** The hosts this instance drives now (holds the lease of). */
  hostsDriven(): string[] {
    return this.leases.owned();
  }

  // ================================================================= JobFlow

  /**
   * A hold while a submission is read. With several instances the limits are decided in Redis, once,
   * when the job is queued (enqueue), so a hold here reserves nothing; precheck() asks Redis first, so
   * a user already over a limit is refused before any image is read (only a race between two
   * simultaneous submissions is decided at enqueue).
   */
  reserve(_actor: Actor): string {
    if (this.closing) throw new UserError('host_down', 'Easel is shutting down; please try again in a minute.');
    const hold = `hold-${++this.holdSeq}`;
    this.holds.add(hold);
    return hold;
  }

  release(hold: string): void {
    this.holds.delete(hold);
  }

  async precheck(actor: Actor): Promise<void> {
    try {
      await this.admission.check(actorKeys(actor).userKey, this.deps.limits);
    } catch (err) {
      if (err instanceof UserError) throw err;
      const down = new JobStoreDownError('timeout', `check limits: ${(err as Error).message}`).forSubmission();
      this.logger?.error({ user: actor.userId, platform: actor.platform, err: down.detail }, 'could not store a new job (Redis did not answer its limits check); the submission was refused and nothing was queued');
      throw down;
    }
  }

  async enqueue(input: JobRecord, opts: { hold?: string } = {}): Promise<JobRecord> {
    if (opts.hold !== undefined) this.holds.delete(opts.hold);
    if (this.closing) throw new UserError('host_down', 'Easel is shutting down; please try again in a minute.');
    if (!this.deps.presets.get(input.preset)) {
      throw new UserError('preset_disabled', `The ${input.preset} preset is not available right now.`);
    }
    const job: JobRecord = { ...input, state: 'queued', createdAt: input.createdAt || Date.now() };
    delete job.error;
    let admitted: { priority: number; position: number };
    try {
      admitted = await this.admission.admit(job.id, actorKeys(job.actor).userKey, this.deps.limits);
    } catch (err) {
      if (err instanceof UserError) throw err;
      // Redis away: refused at once (nothing is queued to run late), said like the store says it.
      const down = new JobStoreDownError('timeout', `admit job ${job.id}: ${(err as Error).message}`).forSubmission();
      this.logger?.error(
        { jobId: job.id, user: job.actor.userId, platform: job.actor.platform, err: down.detail },
        'could not store a new job; the submission was refused and nothing was queued',
      );
      throw down;
    }
    const { priority, position } = admitted;
    try {
      await this.fronts.register(job.id);
      await this.deps.store.create(job);
      await this.queue.add('job', { jobId: job.id }, { jobId: job.id, priority, removeOnComplete: true, removeOnFail: true });
    } catch (err) {
      // Not queued after all: out of line again, and no record left for recover() to pick up.
      await this.admission.cancelWaiting(job.id).catch(() => undefined);
      await this.deps.store.delete(job.id).catch(() => undefined);
      throw err;
    }
    this.announce({ type: 'queued', job: { ...job }, position, etaMs: this.local.estimate(job.preset) });
    return { ...job };
  }

  async cancel(jobId: string): Promise<JobRecord> {
    if (this.local.peek(jobId)) return this.local.cancel(jobId);
    const stored = await this.deps.store.get(jobId);
    if (!stored) throw new UserError('not_found', 'That job no longer exists.');
    if (isTerminal(stored.state)) return stored;
    if (await this.admission.cancelWaiting(jobId)) {
      // Still in line: no worker has it, none will (the marker stops one that is just starting).
      await this.queue.remove(jobId).catch(() => undefined);
      return this.endUnstarted(stored, 'cancelled');
    }
    // On some instance's host (or about to be): ask it, and wait for the outcome.
    await this.admission.markCancelled(jobId);
    const ended = this.nextTerminal(jobId, (this.deps.options?.cancelWaitMs ?? 5_000) + 2_000);
    await this.bus.control({ op: 'cancel', jobId });
    await ended;
    return (await this.deps.store.get(jobId)) ?? stored;
  }

  subscribe(jobId: string, listener: (e: JobEvent) => void): () => void {
    return this.hub.subscribe(jobId, listener);
  }

  onEvent(listener: (e: JobEvent) => void): () => void {
    return this.hub.onEvent(listener);
  }

  async setPlatformRefs(jobId: string, refs: Record<string, unknown>): Promise<void> {
    if (this.local.holds(jobId)) return this.local.setPlatformRefs(jobId, refs);
    const job = await this.deps.store.get(jobId);
    if (!job) throw new UserError('not_found', 'That job no longer exists.');
    job.platformRefs = { ...job.platformRefs, ...refs };
    await this.deps.store.save(job);
    // The instance running it keeps its own copy of the record: merge there too, or its next save drops these.
    if (!isTerminal(job.state)) await this.bus.control({ op: 'refs', jobId, refs });
  }

  async stats(): Promise<{ waiting: number; running: number }> {
    const [waiting, running] = await Promise.all([this.admission.waitingCount(), this.queue.getActiveCount()]);
    return { waiting, running };
  }

  /**
   * Start working: listen for events, take this instance's share of hosts, start the BullMQ worker.
   * Then unfinished jobs in the store that the queue does not know (e.g. left by a version without the
   * shared queue) go back in line; those on a host are re-attached or taken from its /history.
   * Jobs the queue knows need nothing: BullMQ hands them out, and takes over those of dead workers.
   */
  async recover(): Promise<void> {
    await this.begin();
    const records = await this.deps.store.list({ states: ['queued', 'uploading', 'submitted', 'running'] });
    let added = 0;
    for (const rec of records) {
      if (await this.queue.getJob(rec.id)) continue;
      await this.queue.add('job', { jobId: rec.id }, { jobId: rec.id, priority: 1, removeOnComplete: true, removeOnFail: true });
      added++;
    }
    if (added > 0) this.logger?.info({ jobs: added }, 'unfinished jobs put back in the shared queue');
  }

  /** Stop working. Jobs on hosts keep running there; other instances take them over after lockMs. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.local.close();
    await this.worker?.close(true).catch(() => undefined);
    await this.leases.stop().catch(() => undefined);
    await this.queue.close().catch(() => undefined);
    this.sub.disconnect();
    this.workerRedis.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  // ================================================================= working

  /**
   * Jobs this instance takes at once: the slots of the hosts it drives, plus one per host waiting here.
   * A job keeps its BullMQ lock until its images are stored, but its host slot is free as soon as the
   * GPU is done; the extra one goes to that slot at once, so a slow download never idles the GPU.
   * (Paused when this instance drives no host.)
   */
  private capacity(): number {
    return Math.max(1, this.leases.owned().length * (this.deps.pool.depth + 1));
  }

  private onLeasesChange(): void {
    this.logger?.info({ instance: this.instanceId, hosts: this.leases.owned() }, 'hosts driven by this instance changed');
    const w = this.worker;
    if (w && !this.closing) {
      w.concurrency = this.capacity();
      if (this.leases.owned().length === 0) void w.pause(true).catch(() => undefined);
      else if (w.isPaused()) w.resume();
    }
    this.deps.pool.emit('change');
  }

  private async process(bull: Job<QueuedData>, token?: string): Promise<void> {
    const jobId = bull.data.jobId;
    this.logger?.debug({ jobId }, 'worker took a job');
    if (this.local.peek(jobId)) {
      // Handed back to us while we still run it (our lock lapsed): keep following it here.
      if ((await new Promise<TakenOutcome>((r) => this.whenEnded(jobId, r))) === 'parked') await this.park(bull, token);
      return;
    }
    const took = await this.admission.take(jobId);
    const rec = await this.deps.store.get(jobId);
    if (!rec || isTerminal(rec.state)) {
      await this.admission.finish(jobId);
      return;
    }
    if (took === 'cancelled') {
      await this.endUnstarted(rec, 'cancelled');
      return;
    }
    const ended = new Promise<TakenOutcome>((r) => this.whenEnded(jobId, r));
    if (took === 'resume') {
      this.logger?.info({ jobId, attempts: rec.attempts?.length ?? 0 }, 'taking over a job whose instance stopped');
      await this.settleOrphans(rec);
    }
    if (this.cancelAsked.delete(jobId) || (await this.admission.isCancelled(jobId))) {
      this.taken.delete(jobId);
      await this.endUnstarted(rec, 'cancelled');
      return;
    }
    // Its user already runs on as many hosts as allowed, none of them ours: no use taking it here.
    if (!(rec.attempts ?? []).some((a) => !a.outcome) && (await this.userIsBusyElsewhere(rec))) {
      this.logger?.debug({ jobId }, "the job's user runs on enough hosts elsewhere; parking it");
      this.taken.delete(jobId);
      await this.park(bull, token);
      return;
    }
    try {
      await this.local.enqueue(rec, { admitted: true });
    } catch (err) {
      this.taken.delete(jobId);
      const failure = err instanceof UserError ? { code: err.code, reason: err.message } : describeFailure(err, { host: rec.host ?? 'none', preset: rec.preset });
      await this.endUnstarted(rec, 'failed', failure);
      return;
    }
    if ((await ended) === 'parked') await this.park(bull, token);
  }

  private whenEnded(jobId: string, resolve: (outcome: TakenOutcome) => void): void {
    const before = this.taken.get(jobId);
    this.taken.set(jobId, (outcome) => {
      this.taken.delete(jobId);
      before?.(outcome);
      resolve(outcome);
    });
  }

  /** The local service asks before a job takes one of our hosts: claim it for the job's user, cluster-wide. */
  private async claimHost(job: JobRecord, host: string): Promise<(() => void) | undefined> {
    const claim = await this.claims.claim(actorKeys(job.actor).userKey, job.id, host, this.deps.limits.perUserRunning);
    if (!claim) {
      this.logger?.debug({ jobId: job.id, host }, "the job's user runs on enough hosts elsewhere; parking it");
      return undefined;
    }
    return () => {
      void this.claims
        .release(claim)
        .then((parked) => this.wake(parked))
        .catch((err: Error) => this.logger?.warn({ jobId: job.id, err: err.message }, 'could not release a per-user host claim; it lapses with this instance'));
    };
  }

  /** Would a claim on any of our hosts be refused now? (Then the job is noted as parked for its user.) */
  private async userIsBusyElsewhere(rec: JobRecord): Promise<boolean> {
    try {
      return await this.claims.parkIfBusy(actorKeys(rec.actor).userKey, rec.id, this.leases.owned(), this.deps.limits.perUserRunning);
    } catch {
      return false; // the claim at the host decides
    }
  }

  /**
   * Put a taken job back in the shared line, delayed: a worker slot is not held by a job that cannot
   * run yet. It comes back when one of its user's jobs leaves a host (wake), or after parkMs anyway.
   */
  private async park(bull: Job<QueuedData>, token: string | undefined): Promise<never> {
    const parkMs = this.deps.distributed?.parkMs ?? 1_000;
    await this.admission.park(bull.data.jobId);
    await bull.moveToDelayed(Date.now() + parkMs, token);
    throw new DelayedError();
  }

  /** One of a user's jobs left its host: that user's parked jobs go back in line now. */
  private async wake(jobIds: string[]): Promise<void> {
    for (const id of jobIds) {
      const job = await this.queue.getJob(id).catch(() => undefined);
      // Not delayed (any more): it is in line or running already.
      await job?.promote().catch(() => undefined);
    }
  }

  /**
   * A job taken over from a dead instance may have a prompt on a host this instance does not drive:
   * let it finish there (its result is then taken from /history instead of running it again).
   */
  private async settleOrphans(rec: JobRecord): Promise<void> {
    for (const a of rec.attempts ?? []) {
      if (a.outcome || this.leases.owns(a.host)) continue;
      const client = this.deps.pool.client(a.host);
      if (!client || !this.deps.pool.isAvailable(a.host)) continue;
      try {
        await client.attach(a.promptId).done;
      } catch {
        /* gone or failed there: the job service sees that and runs it again */
      }
    }
  }

  private onLocalEvent(e: JobEvent): void {
    // The place in the shared line was announced by the accepting instance; the local line is not it.
    if (e.type === 'queued') return;
    // Here at once (even with Redis away), every preview; the others through pub/sub.
    this.hub.emit(e);
    if (e.type === 'running' && e.preview) {
      const now = Date.now();
      if (now - (this.lastPreview.get(e.job.id) ?? 0) < PREVIEW_EVERY_MS) {
        const { preview: _skipped, ...progress } = e;
        e = progress;
      } else this.lastPreview.set(e.job.id, now);
    }
    void this.bus.publish(e).catch((err: Error) => this.logger?.warn({ err: err.message }, 'could not publish a job event'));
    if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') {
      this.lastPreview.delete(e.job.id);
      const resolve = this.taken.get(e.job.id);
      this.taken.delete(e.job.id);
      void this.admission
        .finish(e.job.id)
        .catch(() => undefined)
        .finally(() => resolve?.('ended'));
    }
  }

  private onControl(m: ControlMessage): void {
    if (m.op === 'cancel') {
      if (this.local.peek(m.jobId)) void this.local.cancel(m.jobId).catch(() => undefined);
      else if (this.taken.has(m.jobId)) this.cancelAsked.add(m.jobId);
    } else if (m.op === 'refs') {
      if (this.local.holds(m.jobId)) void this.local.setPlatformRefs(m.jobId, m.refs).catch(() => undefined);
    }
  }

  /** End a job no host has seen (cancelled in line, or refused when starting), and tell everyone. */
  private async endUnstarted(rec: JobRecord, state: 'cancelled' | 'failed', failure?: { code: string; reason: string }): Promise<JobRecord> {
    const job = { ...rec, state, finishedAt: Date.now() } as JobRecord;
    if (failure) job.error = { code: failure.code, message: failure.reason };
    await this.deps.store.save(job);
    await this.admission.finish(job.id);
    const e: JobEvent = state === 'failed' ? { type: 'failed', job, code: failure!.code, reason: failure!.reason } : { type: 'cancelled', job };
    this.announce(e);
    return { ...job };
  }

  /** An event made here (not by the local job service): to this instance's listeners and the others'. */
  private announce(e: JobEvent): void {
    this.hub.emit(e);
    void this.bus.publish(e).catch((err: Error) => this.logger?.warn({ err: err.message }, 'could not publish a job event'));
  }

  /** Resolves at the job's next terminal event here (or after `ms`). */
  private nextTerminal(jobId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref?.();
      let off: (() => void) | undefined;
      let ended = false;
      function done() {
        ended = true;
        clearTimeout(timer);
        off?.();
        resolve();
      }
      off = this.hub.subscribe(jobId, (e) => {
        // The replayed latest event may be an old one; only a terminal one ends the wait.
        if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') done();
      });
      if (ended) off();
    });
  }
}
