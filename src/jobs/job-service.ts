/**
 * JobService: owns the queue, sends jobs to ComfyUI hosts, follows them, stores results, and tells
 * front ends what happens through JobEvents. Everything a job needs survives a restart: records in
 * the JobStore, images in the ImageStore, and our own prompt ids for re-attaching (recover()).
 *
 * Lifecycle: queued (position, ETA) -> uploading -> submitted -> running (step/max, preview) -> done,
 * or failed (which step, why, what to try) or cancelled. 'waiting' is said while a job stays queued
 * because every GPU host is down/unusable ("your job is safe in the queue").
 *
 * Dispatch: whenever a host has a free slot (HostPool.depth, default 2: one running + one queued on
 * the host), the FairScheduler picks the next job that fits that host (preset valid there, user's
 * running limit). A job whose host dies mid-run goes back to the front of its user's line; before
 * resubmitting anywhere, the old prompt is looked up by its id (finished there: its result is taken).
 *
 * A job never holds its host slot longer than Easel waits for it: cancel releases the slot at once
 * (whatever the host then does with the interrupt), and a prompt that runs past its deadline
 * (job-deadline.ts) is interrupted there, its slot released and the job failed with the reason.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ComfyClient, PromptRun, ReuploadableInput } from '../comfy/client.ts';
import {
  ComfyError,
  HostUnavailableError,
  PromptInterruptedError,
  PromptLostError,
} from '../comfy/errors.ts';
import type { HostPool } from '../comfy/host-pool.ts';
import type { NodeCatalogue } from '../comfy/node-catalogue.ts';
import { isMissingInputFailure } from '../comfy/problems.ts';
import type { ImageRef, PromptEvent } from '../comfy/types.ts';
import { UserError } from '../commands/errors.ts';
import type { Preset } from '../commands/preset.ts';
import type { JobPlan } from '../commands/types.ts';
import type { LimitsConfig } from '../config/types.ts';
import type { ImageStore } from '../images/image-store.ts';
import { EventHub, finishedEvent } from './event-hub.ts';
import { EtaEstimator } from './eta.ts';
import { describeFailure, StorageWriteError } from './failure-reasons.ts';
import {
  DEFAULT_DEADLINE_FLOOR_MS,
  DEFAULT_JOB_TIMEOUT_SECONDS,
  JobTimedOutError,
  PromptNotStartedError,
  promptDeadline,
  startWithinMs,
  workUnits,
} from './job-deadline.ts';
import { isTerminal, type JobStore } from './job-store.ts';
import { actorKeys, FairScheduler, type QueueEntry } from './scheduler.ts';
import { UnsavedEndings } from './unsaved-endings.ts';
import { JobStoreDownError } from './store-guard.ts';
import type { Actor, JobEvent, JobRecord, PromptAttempt, StoredImage } from './types.ts';

export interface JobServiceDeps {
  store: JobStore;
  pool: HostPool;
  images: ImageStore;
  limits: LimitsConfig;
  presets: { get(name: string): Preset | undefined };
  /** Is the preset valid on that host (validated against its catalogue)? */
  eligible(hostName: string, presetName: string): boolean;
  plan(job: JobRecord, preset: Preset, uploaded: string[], catalogue: NodeCatalogue): JobPlan;
  logger?: Logger;
  /** Tuning (all optional). */
  options?: JobServiceOptions;
}

export interface JobServiceOptions {
  /** How many times one job may be sent back after its host failed before it fails (default 3). */
  maxHostFailures?: number;
  /** ETA per run before anything was measured, ms (default 20 000). */
  defaultRunMs?: number;
  /** How long cancel() waits for the host to confirm an interrupt before answering anyway, ms (default 5000). */
  cancelWaitMs?: number;
  /** A prompt whose host speed is known is never stopped before this, ms (default 60 000). */
  deadlineFloorMs?: number;
  now?: () => number;
  /**
   * Hosts this service may send work to (default: every host of the pool). Several instances on one
   * Redis each drive only the hosts they hold the lease of (src/jobs/distributed/host-leases.ts).
   */
  usable?: (host: string) => boolean;
  /**
   * Several instances: a job asks here before it takes a host slot (limits.perUserRunning counted over
   * every instance's hosts, src/jobs/distributed/user-host-claims.ts). Default: no gate.
   */
  hostGate?: HostGate;
}

/** Asked before a job uses a host, beyond this service's own limits. */
export interface HostGate {
  /** May this job use this host now? Yes: a function to call when it leaves the host. No: undefined. */
  enter(job: JobRecord, host: string): Promise<(() => void) | undefined>;
  /** The job was refused: it has left this service unchanged (still queued), to be offered again later. */
  handBack(job: JobRecord): void;
}

type Listener = (e: JobEvent) => void;

/** Jobs further back than this get their position again once they move up (keeps big queues cheap). */
const POSITION_UPDATES_UP_TO = 100;

interface ActiveJob {
  job: JobRecord;
  entry: Omit<QueueEntry, 'seq'>;
  /** Host holding a slot for it, while dispatched. */
  host?: string;
  cancelRequested?: boolean;
  /** Aborted when the job ends while on a host (cancel): stops waiting for the host at once. */
  halt?: AbortController;
  /** Gives its host slot back (idempotent); set while the job holds one. */
  releaseSlot?: () => void;
  /** Interrupts of its prompts sent when it ended (cancel waits a moment for them). */
  interrupting?: Promise<void>;
  finalized?: boolean;
  /** Host failures so far (not persisted across restarts on purpose: a restart is a fresh chance). */
  hostFailures: number;
  saving: Promise<void>;
  /** Resolves when its execution on a host ends (for cancel()). */
  settled?: Promise<void>;
  /** Jobs sent to one host reach its queue in the order they were dispatched. */
  turn?: { after: Promise<void>; done: () => void };
}

/** Files of an output node, in the order ComfyUI lists them; nodes ordered by id. */
function orderedImages(outputs: Record<string, ImageRef[]>): ImageRef[] {
  const ids = Object.keys(outputs).sort((a, b) => {
    const na = Number(a);
    const nb = Number(b);
    return Number.isFinite(na) && Number.isFinite(nb) ? na - nb : a.localeCompare(b);
  });
  const all = ids.flatMap((id) => outputs[id] ?? []);
  const saved = all.filter((r) => r.type === 'output');
  return saved.length > 0 ? saved : all;
}

function extOf(mime: string): string {
  const ext = mime.split('/')[1] ?? 'png';
  return ext === 'jpeg' ? 'jpg' : ext;
}

function snapshot(job: JobRecord): JobRecord {
  return { ...job };
}

/** Host-side trouble that says "try elsewhere / later", not "your job is broken". */
function isHostTrouble(err: unknown): boolean {
  return err instanceof HostUnavailableError || err instanceof PromptLostError;
}

export class JobService {
  private readonly store: JobStore;
  private readonly pool: HostPool;
  private readonly images: ImageStore;
  private readonly deps: JobServiceDeps;
  private readonly logger?: Logger;
  private readonly scheduler: FairScheduler;
  private readonly eta: EtaEstimator;
  private readonly now: () => number;
  private readonly maxHostFailures: number;
  private readonly cancelWaitMs: number;
  private readonly deadlineFloorMs: number;
  private readonly usable: (host: string) => boolean;
  private readonly hostGate?: HostGate;

  private readonly active = new Map<string, ActiveJob>();
  /** Ends the store could not save when they happened, saved again until it takes them. */
  private readonly unsaved: UnsavedEndings;
  /** Per-job and app-wide listeners, with the latest event per job for late subscribers. */
  private readonly events: EventHub;
  private readonly positions = new Map<string, number>();
  /** Per host: resolves when every job dispatched there so far has submitted (or given up). */
  private readonly submitGates = new Map<string, Promise<void>>();
  private dispatchQueued = false;
  private dispatching = false;
  private positionsQueued = false;
  private outageAnnounced = false;
  private closing = false;
  private readonly onPoolChange = () => this.scheduleDispatch();
  /**
   * Prompts we gave up on while their host was unreachable (the job moved on, or ended), per host.
   * When that host is back they are removed there, unless they already finished: a host that only
   * lost its network keeps working, and must not spend GPU time on work that was done elsewhere.
   */
  private readonly abandoned = new Map<string, Set<string>>();
  private readonly onHostDown = () => this.announceOutageIfAny();
  private readonly onHostUp = (host?: string) => {
    this.outageAnnounced = false;
    if (host !== undefined) void this.removeAbandoned(host);
    this.scheduleDispatch();
  };

  constructor(deps: JobServiceDeps) {
    this.deps = deps;
    this.store = deps.store;
    this.pool = deps.pool;
    this.images = deps.images;
    this.logger = deps.logger;
    this.now = deps.options?.now ?? Date.now;
    this.maxHostFailures = deps.options?.maxHostFailures ?? 3;
    this.cancelWaitMs = deps.options?.cancelWaitMs ?? 5_000;
    this.deadlineFloorMs = deps.options?.deadlineFloorMs ?? DEFAULT_DEADLINE_FLOOR_MS;
    this.usable = deps.options?.usable ?? (() => true);
    this.hostGate = deps.options?.hostGate;
    this.events = new EventHub({ load: (id) => this.store.get(id), eventForRecord: (job) => this.eventForRecord(job) });
    this.scheduler = new FairScheduler(deps.limits);
    this.unsaved = new UnsavedEndings({ save: (job) => this.store.save(job), logger: this.logger });
    this.eta = new EtaEstimator({ defaultRunMs: deps.options?.defaultRunMs });
    this.pool.on('change', this.onPoolChange);
    this.pool.on('host-up', this.onHostUp);
    this.pool.on('host-down', this.onHostDown);
  }

  // ================================================================= public API

  /**
   * Hold a place in the queue for a submission that is still being read (queue cap, per-user
   * waiting limit and cooldown checked now). Returns the hold for enqueue(job, { hold }) or release().
   */
  reserve(actor: Actor): string {
    if (this.closing) throw new UserError('host_down', 'Easel is shutting down; please try again in a minute.');
    return this.scheduler.reserve(actorKeys(actor).userKey, this.now());
  }

  /** Give back a place reserve() held; with refund, its cooldown too (nothing was queued). */
  release(hold: string, opts: { refund?: boolean } = {}): void {
    this.scheduler.release(hold, opts);
  }

  /**
   * Queue a new job. Throws UserError queue_full / too_many_jobs / cooldown / preset_disabled; with
   * the hold reserve() gave, the limits were checked then and the job takes the held place.
   * `admitted`: the limits were already checked elsewhere (the shared Redis queue), skip them here.
   */
  async enqueue(input: JobRecord, opts: { hold?: string; admitted?: boolean } = {}): Promise<JobRecord> {
    if (this.closing) throw new UserError('host_down', 'Easel is shutting down; please try again in a minute.');
    if (this.active.has(input.id)) throw new Error(`job ${input.id} is already queued`);
    if (!this.deps.presets.get(input.preset)) {
      throw new UserError('preset_disabled', `The ${input.preset} preset is not available right now.`);
    }
    if (opts.hold !== undefined && !this.scheduler.holding(opts.hold)) {
      throw new UserError('expired', 'Your request took too long to arrive and was not queued. Please try again.');
    }
    const job: JobRecord = { ...input, state: 'queued', createdAt: input.createdAt || this.now() };
    delete job.error;
    const keys = actorKeys(job.actor);
    if (opts.hold === undefined && !opts.admitted) this.scheduler.admit(keys.userKey, this.now());
    const aj: ActiveJob = { job, entry: { jobId: job.id, preset: job.preset, ...keys }, hostFailures: 0, saving: Promise.resolve() };
    this.active.set(job.id, aj);
    this.scheduler.push(aj.entry, { hold: opts.hold });
    try {
      // The first write of the job: if it fails or times out, the store removes whatever of it lands late.
      aj.saving = this.store.create(job);
      await aj.saving;
    } catch (err) {
      this.scheduler.remove(job.id);
      this.active.delete(job.id);
      aj.saving = Promise.resolve();
      this.logger?.error(
        { jobId: job.id, user: job.actor.userId, platform: job.actor.platform, err: err instanceof JobStoreDownError ? err.detail : (err as Error).message },
        'could not store a new job; the submission was refused and nothing was queued',
      );
      throw err;
    }
    this.emitQueued(aj);
    this.waitingIfNoHost(aj);
    this.scheduleDispatch();
    this.schedulePositions();
    return snapshot(job);
  }

  /** Cancel: dequeue if waiting, interrupt its prompt if on a host. Returns the record afterwards. */
  async cancel(jobId: string): Promise<JobRecord> {
    const aj = this.active.get(jobId);
    if (!aj) {
      const stored = await this.store.get(jobId);
      if (!stored) throw new UserError('not_found', 'That job no longer exists.');
      return stored; // already finished: nothing to cancel
    }
    if (aj.finalized) return snapshot(aj.job);
    if (this.scheduler.remove(jobId)) {
      await this.finalize(aj, 'cancelled');
      this.schedulePositions();
      return snapshot(aj.job);
    }
    // On a host: the job ends now and its slot goes to the next job at once; its prompts are
    // interrupted there (or removed once an unreachable host is back), whatever the host then does.
    aj.cancelRequested = true;
    aj.halt?.abort();
    await this.finalize(aj, 'cancelled');
    // Give the host a moment to take the interrupt, so the answer reflects reality; never hang on it.
    if (aj.interrupting) await Promise.race([aj.interrupting, delay(this.cancelWaitMs)]);
    return snapshot(aj.job);
  }

  /** Events of one job; replays its latest lifecycle event first. */
  subscribe(jobId: string, listener: Listener): () => void {
    return this.events.subscribe(jobId, listener);
  }

  /** Every job's events. The first listener also gets results that finished before anyone listened. */
  onEvent(listener: Listener): () => void {
    return this.events.onEvent(listener);
  }

  /** Merge platform references (message ids, ...) into the job and store them. */
  async setPlatformRefs(jobId: string, refs: Record<string, unknown>): Promise<void> {
    const aj = this.active.get(jobId);
    if (aj) {
      aj.job.platformRefs = { ...aj.job.platformRefs, ...refs };
      await this.save(aj);
      return;
    }
    // Ended while the store failed: its record here is the true one (the store's still says running).
    if (this.unsaved.has(jobId)) return this.unsaved.addRefs(jobId, refs);
    const job = await this.store.get(jobId);
    if (!job) throw new UserError('not_found', 'That job no longer exists.');
    job.platformRefs = { ...job.platformRefs, ...refs };
    await this.store.save(job);
  }

  /** Is this job's platform data kept here (active, or ended without its end saved yet)? */
  holds(jobId: string): boolean {
    return this.active.has(jobId) || this.unsaved.has(jobId);
  }

  /** The live record of an active job (waiting or running), else undefined. */
  peek(jobId: string): JobRecord | undefined {
    const aj = this.active.get(jobId);
    return aj ? snapshot(aj.job) : undefined;
  }

  stats(): { waiting: number; running: number } {
    let running = 0;
    for (const aj of this.active.values()) if (aj.host && !aj.finalized) running++;
    return { waiting: this.scheduler.waitingCount, running };
  }

  /** Estimated ms until a job of this preset, queued now, is done. */
  estimate(preset: string): number {
    return this.etaFor(this.scheduler.waitingCount, preset, 1, []);
  }

  /**
   * After a restart: every unfinished job goes back in line (jobs that were on a host first, in
   * their old order); those whose prompt is still known to its host are re-attached there and
   * their results delivered; the others run again.
   */
  async recover(): Promise<void> {
    const records = await this.store.list({ states: ['queued', 'uploading', 'submitted', 'running'] });
    const onHost = records.filter((j) => j.state !== 'queued');
    const waiting = records.filter((j) => j.state === 'queued');
    for (const rec of [...onHost, ...waiting]) {
      if (this.active.has(rec.id)) continue;
      const keys = actorKeys(rec.actor);
      const aj: ActiveJob = {
        job: rec,
        entry: { jobId: rec.id, preset: rec.preset, ...keys },
        hostFailures: 0,
        saving: Promise.resolve(),
      };
      if (rec.state !== 'queued') {
        rec.state = 'queued';
        await this.save(aj);
      }
      this.active.set(rec.id, aj);
      this.scheduler.push(aj.entry);
    }
    this.logger?.info({ onHost: onHost.length, waiting: waiting.length }, 'recovered unfinished jobs');
    for (const rec of [...onHost, ...waiting]) {
      const aj = this.active.get(rec.id);
      if (aj) this.emitQueued(aj);
    }
    this.announceOutageIfAny();
    this.scheduleDispatch();
  }

  /** Stop taking and dispatching work. Jobs on hosts keep running there; recover() picks them up. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.pool.off('change', this.onPoolChange);
    this.pool.off('host-up', this.onHostUp);
    this.pool.off('host-down', this.onHostDown);
    await Promise.allSettled([...this.active.values()].map((aj) => aj.saving));
    await this.unsaved.close();
  }

  // ================================================================= dispatch

  private scheduleDispatch(): void {
    if (this.dispatchQueued || this.closing) return;
    this.dispatchQueued = true;
    setImmediate(() => {
      this.dispatchQueued = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    if (this.dispatching || this.closing) return;
    this.dispatching = true;
    let started = 0;
    try {
      for (;;) {
        const hosts = this.pool
          .names()
          .filter((h) => this.pool.hasRoom(h) && this.usable(h))
          .sort((a, b) => this.pool.load(a) - this.pool.load(b));
        let picked = false;
        for (const host of hosts) {
          const e = this.scheduler.next(host, (q) => this.fits(q, host));
          if (!e) continue;
          const aj = this.active.get(e.jobId);
          if (!aj) {
            this.scheduler.finished(e.jobId);
            continue;
          }
          this.pool.acquire(host, aj.job.id);
          aj.host = host;
          aj.turn = this.takeTurn(host);
          started++;
          aj.settled = this.execute(aj, host).catch((err) => {
            // Only reachable when even recording the failure failed (e.g. the store is gone).
            this.logger?.error({ jobId: aj.job.id, err: (err as Error).message }, 'job could not be recorded');
          });
          picked = true;
          break; // loads changed: re-sort
        }
        if (!picked) break;
      }
    } finally {
      this.dispatching = false;
    }
    if (started > 0) {
      this.outageAnnounced = false;
      this.schedulePositions();
    } else if (this.scheduler.waitingCount > 0) {
      this.announceOutageIfAny();
    }
  }

  /** A place in the host's submission order (uploads run in parallel; POST /prompt in dispatch order). */
  private takeTurn(host: string): { after: Promise<void>; done: () => void } {
    const after = this.submitGates.get(host) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    this.submitGates.set(host, after.then(() => mine));
    return { after, done };
  }

  /** Can this waiting job go to this host? Preset valid there, and a prompt still unresolved on another live host waits for it. */
  private fits(q: QueueEntry, host: string): boolean {
    if (!this.deps.eligible(host, q.preset)) return false;
    const aj = this.active.get(q.jobId);
    const pending = aj?.job.attempts?.filter((a) => !a.outcome) ?? [];
    for (const a of pending) {
      if (a.host !== host && this.pool.isAvailable(a.host) && this.usable(a.host)) return false;
    }
    return true;
  }

  // ================================================================= running a job

  private async execute(aj: ActiveJob, host: string): Promise<void> {
    const job = aj.job;
    let slotHeld = true;
    let leaveGate: (() => void) | undefined;
    let handedBack = false;
    const releaseSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      leaveGate?.();
      this.pool.release(host, job.id);
      this.scheduler.finished(job.id);
      this.scheduleDispatch();
    };
    const halt = new AbortController();
    aj.releaseSlot = releaseSlot;
    aj.halt = halt;
    try {
      if (this.hostGate) {
        const leave = await this.enterGate(job, host);
        if (!leave) {
          // The user's jobs run on enough hosts elsewhere: this one goes back, untouched.
          handedBack = !aj.finalized && !this.closing;
          return;
        }
        if (!slotHeld) leave(); // ended (cancelled) meanwhile
        else leaveGate = leave;
        if (aj.finalized || this.closing) return;
      }
      const client = this.pool.client(host);
      const catalogue = this.pool.catalogue(host);
      const preset = this.deps.presets.get(job.preset);
      if (!client || !catalogue) throw new HostUnavailableError(host, 'not connected');
      if (!preset) throw new UserError('preset_disabled', `The ${job.preset} preset is no longer available.`);

      job.host = host;
      job.state = 'uploading';
      await this.save(aj);
      this.emit({ type: 'uploading', job: snapshot(job) });

      const uploaded: string[] = [];
      for (const input of job.inputs) {
        const bytes = await this.images.read(input);
        uploaded.push(await client.uploadImage(bytes, { ext: extOf(input.mime) }));
      }
      // If the host lost them (restarted without its input folder), the client uploads them again once.
      const reuploadable: ReuploadableInput[] = job.inputs.map((input, k) => ({
        value: uploaded[k],
        ext: extOf(input.mime),
        read: () => this.images.read(input),
      }));
      if (aj.cancelRequested || this.closing) return;

      const plan = this.deps.plan(job, preset, uploaded, catalogue);
      job.runs = plan.runs.length;
      job.layout = plan.layout;
      job.attempts ??= [];
      job.promptIds ??= [];

      const runOutputs = new Map<number, StoredImage[]>();
      for (const a of job.attempts) if (a.outcome === 'done' && a.outputs) runOutputs.set(a.run, a.outputs);

      // Images of run k download while run k+1 is already on its way to the GPU.
      const storing: Array<Promise<void>> = [];
      for (let i = 0; i < plan.runs.length; i++) {
        const runNo = i + 1;
        if (runOutputs.has(runNo)) continue;
        const isLast = plan.runs.every((_, k) => k + 1 <= runNo || runOutputs.has(k + 1));
        const outputs = await this.runOne(aj, host, client, plan, runNo, reuploadable);
        if (outputs === undefined) return; // cancelled or closing
        // The GPU is free of us once the last prompt is done: let the next job in before downloads finish.
        if (isLast) releaseSlot();
        const p = this.storeOutputs(outputs.client, outputs.refs, plan, runNo).then((stored) => {
          outputs.attempt.outputs = stored;
          // Best effort: the images are on disk, and a job store that cannot record this (logged by
          // save()) must not keep the result from the person waiting for it.
          this.save(aj).catch(() => undefined);
        });
        p.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
        storing.push(p);
      }
      await Promise.all(storing);
      for (const a of job.attempts) if (a.outcome === 'done' && a.outputs) runOutputs.set(a.run, a.outputs);
      if (aj.cancelRequested || this.closing) return;

      job.outputs = plan.runs.flatMap((_, i) => runOutputs.get(i + 1) ?? []);
      if (plan.layout === 'gallery') job.outputs = job.outputs.map((o, i) => ({ ...o, label: String(i + 1) }));
      this.learn(job, host);
      await this.finalize(aj, 'done');
    } catch (err) {
      await this.onFailure(aj, host, err);
    } finally {
      aj.turn?.done();
      aj.turn = undefined;
      aj.host = undefined;
      if (aj.halt === halt) aj.halt = undefined;
      if (aj.releaseSlot === releaseSlot) aj.releaseSlot = undefined;
      // Also clears the host's "running" note when it is this job's (never another job's).
      releaseSlot();
      if (handedBack) {
        this.active.delete(job.id);
        this.positions.delete(job.id);
        this.hostGate!.handBack(snapshot(job));
      }
    }
  }

  /** Ask the host gate; if it cannot answer (its store is away), the job goes ahead under this instance's own limits. */
  private async enterGate(job: JobRecord, host: string): Promise<(() => void) | undefined> {
    try {
      return await this.hostGate!.enter(job, host);
    } catch (err) {
      this.logger?.warn({ jobId: job.id, host, err: (err as Error).message }, 'could not check the per-user host limit across instances; running under this instance\'s own limit');
      return () => undefined;
    }
  }

  /**
   * One run (one ComfyUI prompt): re-attach to an earlier submission when there is one, else
   * submit; follow its events; return where its images are. undefined = cancelled/closing.
   */
  private async runOne(
    aj: ActiveJob,
    host: string,
    client: ComfyClient,
    plan: JobPlan,
    runNo: number,
    inputs: ReuploadableInput[],
  ): Promise<{ client: ComfyClient; refs: ImageRef[]; attempt: PromptAttempt } | undefined> {
    const job = aj.job;
    const attempts = job.attempts!;
    let reuploaded = false;
    for (;;) {
      let attempt = attempts.find((a) => a.run === runNo && !a.outcome);
      if (attempt && attempt.host !== host) {
        const elsewhere = await this.resolveElsewhere(attempt);
        if (elsewhere) {
          aj.turn?.done();
          return { ...elsewhere, attempt };
        }
        attempt.outcome = 'lost';
        attempt = undefined;
      }
      let run: PromptRun;
      const attached = !!attempt;
      if (attempt) {
        // Submitted earlier (before a restart or a host outage): follow it by its id.
        run = client.attach(attempt.promptId);
        aj.turn?.done(); // already in the host's queue: no reason to hold back jobs dispatched after it
      } else {
        const promptId = randomUUID();
        attempt = { run: runNo, host, promptId, submittedAt: this.now() };
        attempts.push(attempt);
        job.promptIds!.push(promptId);
        await this.save(aj); // before POST: a crash right after still knows the id
        if (aj.turn) await aj.turn.after;
        if (aj.cancelRequested) {
          aj.turn?.done();
          attempt.outcome = 'cancelled';
          return undefined;
        }
        try {
          run = await client.submit(plan.runs[runNo - 1].workflow, { promptId, inputs });
        } catch (err) {
          // Refused (bad workflow, too large...): never queued there. Unreachable: it may have been.
          if (!(err instanceof HostUnavailableError)) attempt.outcome = 'failed';
          throw err;
        } finally {
          aj.turn?.done();
        }
      }
      if (aj.cancelRequested) {
        // Cancelled while it was being sent: take it off the host again (the interrupt sent at cancel may have come first).
        await client.interrupt(attempt.promptId).catch(() => this.abandon(attempt));
        return undefined;
      }
      if (job.state === 'uploading' || job.state === 'queued') {
        job.state = 'submitted';
        await this.save(aj);
        this.emit({ type: 'submitted', job: snapshot(job), host, simulated: this.pool.isSimulated(host) });
      }
      try {
        const refs = await this.follow(aj, host, run, attempt, plan, runNo, attached);
        if (refs === undefined) return undefined;
        return { client, refs, attempt };
      } catch (err) {
        if (err instanceof PromptNotStartedError) {
          // Never started there: take it out of that host's queue; the job runs again as a new prompt.
          attempt.outcome = 'cancelled';
          void client.deletePending([attempt.promptId]).catch(() => this.abandon(attempt));
        }
        // The host no longer knows an earlier prompt (it restarted): simply submit it again here.
        if (attached && err instanceof PromptLostError && !aj.cancelRequested && !this.closing) {
          attempt.outcome = 'lost';
          await this.save(aj);
          continue;
        }
        // The host lost an input image while the prompt waited (e.g. restarted without its input
        // folder): upload the inputs again and run it once more; a second loss fails the job.
        if (isMissingInputFailure(err) && !reuploaded && inputs.length > 0 && !aj.cancelRequested && !this.closing) {
          reuploaded = true;
          const fresh = await client.reuploadInputs(inputs);
          if (fresh.every((f, k) => f.value === inputs[k].value)) continue;
        }
        throw err;
      }
    }
  }

  /** Follow one prompt to its end, turning its events into JobEvents. undefined = cancelled/closing. */
  private async follow(
    aj: ActiveJob,
    host: string,
    run: PromptRun,
    attempt: PromptAttempt,
    plan: JobPlan,
    runNo: number,
    attached: boolean,
  ): Promise<ImageRef[] | undefined> {
    const job = aj.job;
    const runs = plan.runs.length;
    let step = 0;
    let maxSteps = plan.runs[runNo - 1].steps || 0;
    let progressNode: string | undefined;
    let nodeMax = 0;
    let stepsBefore = 0;
    // The deadline clock starts when the host starts the prompt (at once for one followed again).
    // Until then a host that never gets to it (stuck on an earlier prompt) counts as failing.
    const work = workUnits(plan.runs[runNo - 1].workflow, plan.info && { width: plan.info.outputWidth, height: plan.info.outputHeight });
    const ceilingMs = (this.deps.limits.jobTimeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS) * 1000;
    let expire!: (err: Error) => void;
    const expired = new Promise<never>((_, reject) => (expire = reject));
    let clock: NodeJS.Timeout | undefined;
    let startBy: NodeJS.Timeout | undefined;
    const startClock = () => {
      clearTimeout(startBy);
      if (clock) return;
      const deadline = promptDeadline(work, this.eta.msPerUnit(job.preset, host), { ceilingMs, floorMs: this.deadlineFloorMs });
      clock = setTimeout(() => expire(new JobTimedOutError(host, deadline)), deadline.ms);
      clock.unref?.();
    };
    if (!attached) {
      const waitMs = startWithinMs(ceilingMs, this.pool.depth);
      startBy = setTimeout(() => expire(new PromptNotStartedError(host, attempt.promptId, waitMs)), waitMs);
      startBy.unref?.();
    }
    const halted = new Promise<never>((_, reject) => {
      const halt = aj.halt?.signal;
      if (halt?.aborted) reject(new PromptInterruptedError(attempt.promptId));
      halt?.addEventListener('abort', () => reject(new PromptInterruptedError(attempt.promptId)), { once: true });
    });
    // Whichever comes first settles the race; the losers' later rejections are handled there.
    halted.catch(() => undefined);
    expired.catch(() => undefined);
    if (attached) startClock();
    const off = run.on((e: PromptEvent) => {
      if (aj.finalized) return;
      if (e.type === 'started' || e.type === 'cached' || e.type === 'executing') {
        startClock();
        if (!attempt.startedAt) {
          attempt.startedAt = this.now();
          job.startedAt ??= attempt.startedAt;
          job.state = 'running';
          this.pool.noteRunning(host, job.id);
          void this.save(aj).catch(() => undefined);
          this.emit({ type: 'running', job: snapshot(job), step, maxSteps, run: runNo, runs });
        }
      } else if (e.type === 'progress') {
        // A prompt may hold several samplers (hires: two passes). Count their steps as one run so the
        // bar only moves forward: steps of finished sampler nodes, plus this node's progress.
        if (progressNode !== undefined && e.node !== progressNode) stepsBefore += nodeMax;
        progressNode = e.node;
        nodeMax = e.max;
        step = stepsBefore + e.value;
        maxSteps = Math.max(plan.runs[runNo - 1].steps || 0, stepsBefore + e.max);
        this.emit({ type: 'running', job: snapshot(job), step, maxSteps, run: runNo, runs });
      } else if (e.type === 'preview') {
        this.emit({ type: 'running', job: snapshot(job), step, maxSteps, run: runNo, runs, preview: { image: e.image, mime: e.mime } });
      }
    });
    try {
      const result = await Promise.race([run.done, halted, expired]);
      if (this.closing) return undefined; // left unresolved: recover() takes the result from /history
      attempt.outcome = 'done';
      attempt.finishedAt = this.now();
      if (attempt.startedAt) this.eta.recordWork(job.preset, host, attempt.finishedAt - attempt.startedAt, work);
      this.pool.reportSuccess(host);
      if (aj.cancelRequested) return undefined;
      return orderedImages(result.outputs);
    } catch (err) {
      if (aj.cancelRequested) {
        attempt.outcome ??= 'cancelled';
        return undefined;
      }
      // Past its deadline: left without an outcome, so ending the job interrupts it on the host.
      if (err instanceof JobTimedOutError) throw err;
      if (err instanceof PromptLostError) attempt.outcome = 'lost';
      else if (!(err instanceof HostUnavailableError) && !(err instanceof ComfyError && err.code === 'client_closed')) {
        attempt.outcome = 'failed';
      }
      throw err;
    } finally {
      clearTimeout(clock);
      clearTimeout(startBy);
      off();
    }
  }

  /**
   * An earlier prompt of this run went to another host that failed. If that host is reachable, ask
   * it by prompt id: finished -> take its images; still there -> remove it (we run it here instead).
   */
  private async resolveElsewhere(attempt: PromptAttempt): Promise<{ client: ComfyClient; refs: ImageRef[] } | undefined> {
    const other = this.pool.client(attempt.host);
    if (!other || !other.connected) {
      this.abandon(attempt);
      return undefined;
    }
    try {
      const h = await other.history(attempt.promptId);
      if (h && h.status === 'success') {
        attempt.outcome = 'done';
        attempt.finishedAt ??= this.now();
        return { client: other, refs: orderedImages(h.outputs) };
      }
      if (!h) await other.interrupt(attempt.promptId);
    } catch {
      // Unreachable after all: run it here, and remove it there once that host is back.
      this.abandon(attempt);
    }
    return undefined;
  }

  /** Give up on a prompt whose host cannot be reached now; it is removed there when the host is back. */
  private abandon(attempt: PromptAttempt): void {
    attempt.outcome ??= 'lost';
    let set = this.abandoned.get(attempt.host);
    if (!set) this.abandoned.set(attempt.host, (set = new Set()));
    set.add(attempt.promptId);
  }

  /** A host is back: take our abandoned prompts off it (pending ones deleted, a running one interrupted). */
  private async removeAbandoned(host: string): Promise<void> {
    const ids = this.abandoned.get(host);
    const client = this.pool.client(host);
    if (!ids || ids.size === 0 || !client) return;
    this.abandoned.delete(host);
    const keep = (id: string) => {
      // Gone again: try next time it is back.
      let set = this.abandoned.get(host);
      if (!set) this.abandoned.set(host, (set = new Set()));
      set.add(id);
    };
    const unfinished: string[] = [];
    for (const id of ids) {
      try {
        // Finished there meanwhile: nothing to remove (the job already has its result from elsewhere).
        if (!(await client.history(id))) unfinished.push(id);
      } catch {
        keep(id);
      }
    }
    if (unfinished.length === 0) return;
    try {
      // Waiting ones first, all at once: interrupting the running one first would let the next start.
      await client.deletePending(unfinished);
      for (const id of unfinished) await client.interrupt(id);
      this.logger?.info({ host, promptIds: unfinished }, 'removed prompts abandoned while their host was unreachable');
    } catch {
      unfinished.forEach(keep);
    }
  }

  /**
   * A job ends while prompts of it may still be on a host: remove them there (now, or once the host
   * is back). Resolves when the hosts have answered (never rejects).
   */
  private dropPending(job: JobRecord): Promise<void> {
    const sent: Array<Promise<void>> = [];
    for (const a of job.attempts ?? []) {
      if (a.outcome) continue;
      const client = this.pool.client(a.host);
      if (client && this.pool.isAvailable(a.host)) {
        a.outcome = 'cancelled';
        sent.push(
          client.interrupt(a.promptId).catch((err) => {
            this.logger?.warn({ jobId: job.id, host: a.host, err: (err as Error).message }, 'could not interrupt the prompt on its host; removing it once the host answers');
            this.abandon(a);
          }),
        );
      } else {
        this.abandon(a);
      }
    }
    return Promise.all(sent).then(() => undefined);
  }

  private async storeOutputs(
    client: ComfyClient,
    refs: ImageRef[],
    plan: JobPlan,
    runNo: number,
  ): Promise<StoredImage[]> {
    const label = plan.runs[runNo - 1].label;
    const out: StoredImage[] = [];
    for (const ref of refs) {
      const bytes = await client.view(ref);
      // Gallery labels are numbered across the whole job once every run is in.
      try {
        out.push(await this.images.put(bytes, { label: plan.layout === 'strip' && label ? label : String(out.length + 1) }));
      } catch (err) {
        // The disk, not the image: say which folder, so the reason is one an admin can act on.
        if (/^E[A-Z]+$/.test(String((err as NodeJS.ErrnoException)?.code))) throw new StorageWriteError(this.images.dir, err);
        throw err;
      }
    }
    if (out.length === 0) {
      throw new UserError('job_failed', `The ${plan.runs.length > 1 ? `run ${runNo} of the ` : ''}job finished but produced no image. An admin should check that the preset ends in a SaveImage node.`);
    }
    return out;
  }

  private async onFailure(aj: ActiveJob, host: string, err: unknown): Promise<void> {
    if (this.closing) return; // left as is in the store: recover() picks it up
    if (aj.finalized) return;
    if (aj.cancelRequested) {
      await this.finalize(aj, 'cancelled');
      return;
    }
    const job = aj.job;
    if (isHostTrouble(err)) {
      // A lost prompt means the host restarted (it is back); unreachable means it is not.
      if (err instanceof HostUnavailableError) this.pool.reportFailure(host, err.message);
      aj.hostFailures++;
      if (aj.hostFailures < this.maxHostFailures) {
        this.logger?.warn({ jobId: job.id, host, err: (err as Error).message }, 'host failed mid-job; job goes back in line');
        job.state = 'queued';
        job.host = undefined;
        await this.save(aj);
        // The slot is still ours until finally{} releases it; queue it now so it is first in line.
        this.scheduler.finished(job.id);
        this.scheduler.push(aj.entry, { front: true });
        const others = this.pool.available().filter((h) => h !== host);
        this.emit({
          type: 'waiting',
          job: snapshot(job),
          reason:
            `GPU host ${host} stopped responding while working on your job. Your job is safe in the queue and ` +
            (others.length ? 'will run on another GPU shortly.' : 'will run again as soon as a GPU is back.'),
        });
        this.scheduleDispatch();
        return;
      }
    }
    const { code, reason } = describeFailure(err, { host, preset: job.preset });
    this.logger?.warn({ jobId: job.id, host, code, err: err instanceof Error ? err.message : String(err) }, 'job failed');
    await this.finalize(aj, 'failed', { code, reason });
  }

  private learn(job: JobRecord, host: string): void {
    let ms = 0;
    let runs = 0;
    for (const a of job.attempts ?? []) {
      if (a.outcome === 'done' && a.host === host && a.startedAt && a.finishedAt) {
        ms += a.finishedAt - a.startedAt;
        runs++;
      }
    }
    if (runs > 0) this.eta.record(job.preset, host, ms, runs);
  }

  // ================================================================= state, events

  private async finalize(aj: ActiveJob, state: 'done' | 'failed' | 'cancelled', failure?: { code: string; reason: string }): Promise<void> {
    if (aj.finalized) return;
    aj.finalized = true;
    const job = aj.job;
    job.state = state;
    job.finishedAt = this.now();
    if (failure) job.error = { code: failure.code, message: failure.reason };
    if (!this.closing) aj.interrupting = this.dropPending(job);
    this.scheduler.remove(job.id);
    this.positions.delete(job.id);
    // A finished job holds no host slot, whatever its host still does with its prompt.
    aj.releaseSlot?.();
    try {
      await this.save(aj);
    } catch (err) {
      // The end is announced anyway: nobody may be left watching a job that looks like it still runs.
      // It is saved again until the store takes it, or a restart would take the job up again.
      this.logger?.error(
        { jobId: job.id, state, err: (err as Error).message },
        `could not save the end of job ${job.id} (${state}); announcing it anyway, and saving it again until the store takes it`,
      );
      this.unsaved.hold(job);
    } finally {
      this.active.delete(job.id);
    }
    const snap = snapshot(job);
    if (state === 'done') this.emit({ type: 'done', job: snap });
    else if (state === 'cancelled') this.emit({ type: 'cancelled', job: snap });
    else this.emit({ type: 'failed', job: snap, code: failure!.code, reason: failure!.reason });
  }

  /** Saves of one job run in order (a late save never overwrites a newer state). */
  private save(aj: ActiveJob): Promise<void> {
    const next = aj.saving.then(
      () => this.store.save(aj.job),
      () => this.store.save(aj.job),
    );
    aj.saving = next.catch((err) => {
      this.logger?.error({ jobId: aj.job.id, err: (err as Error).message }, 'could not save job');
    });
    return next;
  }

  private emit(e: JobEvent): void {
    this.events.emit(e);
  }

  private emitQueued(aj: ActiveJob): void {
    const order = this.scheduler.projectedOrder();
    const index = order.findIndex((q) => q.jobId === aj.job.id);
    if (index < 0) return;
    const position = index + 1;
    this.positions.set(aj.job.id, position);
    this.emit({ type: 'queued', job: snapshot(aj.job), position, etaMs: this.etaFor(index, aj.job.preset, aj.job.runs ?? 1, order) });
  }

  /** Re-announce positions that changed (coalesced: once per turn of the event loop). */
  private schedulePositions(): void {
    if (this.positionsQueued) return;
    this.positionsQueued = true;
    setImmediate(() => {
      this.positionsQueued = false;
      if (this.closing) return;
      const order = this.scheduler.projectedOrder();
      let aheadMs = 0;
      const base = this.busyMs();
      const hosts = Math.max(1, this.pool.available().length || this.pool.names().length);
      order.forEach((q, i) => {
        const aj = this.active.get(q.jobId);
        const own = this.eta.estimate(q.preset, undefined, aj?.job.runs ?? 1);
        if (aj && i < POSITION_UPDATES_UP_TO && this.positions.get(q.jobId) !== i + 1) {
          this.positions.set(q.jobId, i + 1);
          this.emit({ type: 'queued', job: snapshot(aj.job), position: i + 1, etaMs: Math.round((base + aheadMs) / hosts + own) });
        }
        aheadMs += own;
      });
    });
  }

  /** Time until a job at `index` in line (0-based) is done: work on hosts + work ahead, spread over hosts, + its own. */
  private etaFor(index: number, preset: string, runs: number, order: QueueEntry[]): number {
    let ahead = 0;
    for (let i = 0; i < index && i < order.length; i++) ahead += this.eta.estimate(order[i].preset, undefined, this.active.get(order[i].jobId)?.job.runs ?? 1);
    if (order.length === 0 && index > 0) ahead = index * this.eta.estimate(preset);
    const hosts = Math.max(1, this.pool.available().length || this.pool.names().length);
    return Math.round((this.busyMs() + ahead) / hosts + this.eta.estimate(preset, undefined, runs));
  }

  /** Remaining work of jobs on hosts, ms (estimate minus time already spent, never below 0). */
  private busyMs(): number {
    let ms = 0;
    const now = this.now();
    for (const aj of this.active.values()) {
      if (!aj.host || aj.finalized) continue;
      const total = this.eta.estimate(aj.job.preset, aj.host, aj.job.runs ?? 1);
      ms += Math.max(0, total - (aj.job.startedAt ? now - aj.job.startedAt : 0));
    }
    return ms;
  }

  private waitingIfNoHost(aj: ActiveJob): void {
    const reason = this.noHostReason(aj.job.preset);
    if (reason) this.emit({ type: 'waiting', job: snapshot(aj.job), reason });
  }

  private noHostReason(preset: string): string | undefined {
    const names = this.pool.names();
    const up = names.filter((h) => this.pool.isAvailable(h));
    if (up.length === 0) {
      return names.length === 1
        ? `The GPU host is down right now. Your job is safe in the queue and starts as soon as it is back.`
        : `Every GPU host is down right now. Your job is safe in the queue and starts as soon as one is back.`;
    }
    if (!up.some((h) => this.deps.eligible(h, preset))) {
      return `No GPU host that is up can run the ${preset} preset right now. Your job is safe in the queue and starts when one can.`;
    }
    return undefined;
  }

  /** Every host down: tell each waiting job once per outage. */
  private announceOutageIfAny(): void {
    if (this.closing || this.outageAnnounced || this.scheduler.waitingCount === 0) return;
    if (this.pool.available().length > 0) return;
    this.outageAnnounced = true;
    for (const q of this.scheduler.projectedOrder()) {
      const aj = this.active.get(q.jobId);
      if (aj) this.waitingIfNoHost(aj);
    }
  }

  private eventForRecord(job: JobRecord): JobEvent | undefined {
    if (job.state === 'queued') {
      return { type: 'queued', job, position: this.positions.get(job.id) ?? 0, etaMs: this.eta.estimate(job.preset) };
    }
    return finishedEvent(job);
  }

}

function delay(ms: number): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    t.unref?.();
  });
}
