/**
 * createApp: wires configuration, ComfyUI hosts (or the built-in simulator), presets, the job store,
 * image storage and the job service into the one `Easel` facade every front end uses.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { HostPool } from '../comfy/host-pool.ts';
import { releaseSharpCache } from '../images/sharp-memory.ts';
import type { NodeCatalogue } from '../comfy/node-catalogue.ts';
import type { HostConfig } from '../comfy/types.ts';
import { admit } from '../commands/admission.ts';
import { describeJob, resultActions } from '../commands/describe.ts';
import { UserError } from '../commands/errors.ts';
import { randomSeed } from '../commands/option-values.ts';
import { planJob } from '../commands/plan.ts';
import type { Preset } from '../commands/preset.ts';
import { loadPresets } from '../commands/preset-loader.ts';
import { formatProblem, validatePreset } from '../commands/preset-validation.ts';
import { CommandRegistry } from '../commands/registry.ts';
import { deriveRerun } from '../commands/rerun.ts';
import type { CommandName, JobAction, JobPlan, ResolvedParams } from '../commands/types.ts';
import type { EaselConfig } from '../config/types.ts';
import { memoryKeyClaims, type KeyClaimsFactory } from '../bot/shared/recent-keys.ts';
import { redisKeyClaims } from '../bot/shared/redis-recent-keys.ts';
import { FolderImageStore, type ImageStore } from '../images/image-store.ts';
import { intakeImage } from '../images/intake.ts';
import { DistributedJobs, type DistributedOptions } from '../jobs/distributed/distributed-jobs.ts';
import type { JobFlow } from '../jobs/job-flow.ts';
import { JobService, type JobServiceDeps } from '../jobs/job-service.ts';
import { JobStore } from '../jobs/job-store.ts';
import type { Actor, JobRecord, JobState, StoredImage } from '../jobs/types.ts';
import { checkWritableFolders } from '../ops/writable-folders.ts';
import { startSimulator } from '../simulator/index.ts';
import type { Simulator } from '../simulator/types.ts';
import { AdmissionDesk, type AdmissionTicket } from './admission-desk.ts';
import { renderResult } from './render-result.ts';
import type { AdmitRequest, AppStatus, Easel, HostStatus, RenderLimits, RerunRequest, SubmitRequest } from './types.ts';

export interface EaselApp extends Easel {
  readonly config: EaselConfig;
  readonly pool: HostPool;
  readonly registry: CommandRegistry;
  /** The built-in simulator, when no ComfyUI host is configured. */
  readonly simulator?: Simulator;
  /**
   * Remembered keys for front ends (Slack retries, double clicks): in this process by default; with
   * REDIS_URL in Redis with a ttl, so every instance (and the next start) recognises a repeat.
   */
  readonly recentKeys: KeyClaimsFactory;
}

export interface CreateAppOptions {
  logger?: Logger;
  /** With REDIS_URL: timings of the shared queue (tests shorten them; defaults suit production). */
  distributed?: DistributedOptions;
}

const ACTIVE: JobState[] = ['queued', 'uploading', 'submitted', 'running'];
const ACTIVE_STATES = new Set<JobState>(ACTIVE);
const SWEEP_INTERVAL_MS = 6 * 60 * 60 * 1000;

export async function createApp(config: EaselConfig, opts: CreateAppOptions = {}): Promise<EaselApp> {
  const logger = opts.logger;
  releaseSharpCache();
  const presets = await loadPresets(config.presetsDir);
  const registry = new CommandRegistry(presets, config);

  // Every folder Easel writes to is proved writable now, so a bad one stops the start with its name
  // and setting instead of failing the first job.
  await checkWritableFolders(config);
  // Opened first: a store that cannot be reached (Redis down) fails start-up before any server runs.
  const store = await JobStore.open({ sqlitePath: config.store.sqlitePath, redisUrl: config.store.redisUrl, timeoutMs: config.store.timeoutMs });
  // Whatever starts below is closed again if a later step fails, so a failed start never lingers.
  const opened: Array<() => Promise<unknown>> = [() => store.close()];
  const undo = async () => {
    for (const close of opened.reverse()) await close().catch(() => undefined);
  };

  let simulator: Simulator | undefined;
  let hosts: HostConfig[] = config.hosts;
  if (hosts.length === 0) {
    simulator = await startSimulator({
      stepMs: config.simulator.stepMs,
      previews: config.simulator.previews,
      dataDir: `${config.dataDir}/simulator`,
    }).catch(async (err: unknown) => {
      await undo();
      throw err;
    });
    const started = simulator;
    opened.push(() => started.close());
    hosts = [{ name: 'simulator', url: simulator.url, simulated: true }];
    logger?.info({ url: simulator.url }, 'no ComfyUI host configured: using the built-in simulator (simulated, no GPU)');
  }

  // Which presets each host can run: re-checked whenever a host (re)connects.
  const problemsByHost = new Map<string, Map<string, string>>();
  const catalogues = new Map<string, NodeCatalogue>();
  const pool = new HostPool(hosts, { logger });
  pool.on('host-up', (hostName: string, catalogue: NodeCatalogue) => {
    catalogues.set(hostName, catalogue);
    const disabled = new Map<string, string>();
    // The registry's presets, adapted to config.family and config.checkpoints, are the ones jobs run.
    for (const preset of registry.presets) {
      const problems = validatePreset(preset, catalogue);
      if (problems.length > 0) {
        const reason = problems.map(formatProblem).join('; ');
        disabled.set(preset.name, reason);
        logger?.warn({ host: hostName, preset: preset.name, problems }, `preset ${preset.name} disabled on ${hostName}: ${reason}`);
      }
    }
    problemsByHost.set(hostName, disabled);
  });

  // With several instances, storage.dir must be one folder they all share (a shared volume).
  const images: ImageStore = new FolderImageStore(config.storage.dir, { retentionDays: config.storage.retentionDays });
  const jobDeps: JobServiceDeps = {
    store,
    pool,
    images,
    limits: config.limits,
    presets: { get: (name: string) => registry.preset(name) },
    eligible: (hostName: string, presetName: string) =>
      catalogues.has(hostName) && !problemsByHost.get(hostName)?.has(presetName),
    plan: planJob,
    logger,
    // Until durations are learned, guess from the simulator's step time (about 30 steps a run).
    options: simulator ? { defaultRunMs: config.simulator.stepMs * 30 + 500 } : undefined,
  };
  // Embedded (default): one process, in-process fair scheduler. With REDIS_URL: the shared BullMQ
  // queue, so several instances can run side by side (its worker starts in recover(), below).
  const jobs: JobFlow = config.store.redisUrl
    ? DistributedJobs.create({ ...jobDeps, redisUrl: config.store.redisUrl, distributed: opts.distributed })
    : new JobService(jobDeps);
  try {
    opened.push(() => pool.close());
    await pool.start();
    opened.push(() => jobs.close());
    await jobs.recover();
  } catch (err) {
    await undo();
    throw err;
  }

  const desk = new AdmissionDesk({ policy: config.policy, limits: config.limits, queue: jobs });
  /** The desk's ticket (policy, local holds, upload slot), then the shared limits where they live in Redis. */
  const admitTicket = async (req: AdmitRequest): Promise<AdmissionTicket> => {
    const ticket = desk.admit(req);
    try {
      await jobs.precheck?.(req.actor);
    } catch (err) {
      ticket.release();
      throw err;
    }
    return ticket;
  };

  // Retention: images unused for storage.retentionDays are removed at start and every few hours.
  let recentKeys: KeyClaimsFactory = memoryKeyClaims;
  let keysRedis: Redis | undefined;
  if (config.store.redisUrl) {
    keysRedis = new Redis(config.store.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
    keysRedis.on('error', () => undefined); // failures fall back to memory (see RedisRecentKeys)
    recentKeys = redisKeyClaims(keysRedis);
  }

  const sweepImages = () =>
    images
      .sweep()
      .then((n) => n > 0 && logger?.info({ removed: n }, `removed ${n} image(s) older than ${config.storage.retentionDays} days`))
      .catch((err) => logger?.warn({ err: String(err) }, 'image retention sweep failed'));
  void sweepImages();
  const sweepTimer = setInterval(sweepImages, SWEEP_INTERVAL_MS);
  sweepTimer.unref();

  const specOf = (command: CommandName) => {
    const spec = registry.spec(command);
    if (!spec) throw new UserError('bad_option', `Easel has no command called "${command}".`);
    return spec;
  };

  /** A preset no connected host can run is refused up front, with the reason, rather than queued forever. */
  const assertRunnable = (preset: Preset) => {
    if (catalogues.size === 0) return; // no host validated yet: the job waits safely in the queue
    for (const hostName of catalogues.keys()) {
      if (!problemsByHost.get(hostName)?.has(preset.name)) return;
    }
    const reasons = [...problemsByHost.values()].map((m) => m.get(preset.name)).filter(Boolean);
    throw new UserError(
      'preset_disabled',
      `The ${preset.name} preset is switched off because no GPU host can run it right now (${reasons[0]}). An admin has been told.`,
    );
  };

  const newJob = (
    command: CommandName,
    preset: Preset,
    params: ResolvedParams,
    inputs: StoredImage[],
    actor: Actor,
    extra: Partial<JobRecord>,
  ): JobRecord => ({
    id: randomUUID(),
    command,
    preset: preset.name,
    params,
    inputs,
    actor,
    state: 'queued',
    createdAt: Date.now(),
    ...extra,
  });

  const mayAct = (job: JobRecord, action: JobAction, actor: Actor): boolean => {
    const isAuthor = job.actor.platform === actor.platform && job.actor.userId === actor.userId;
    const rule =
      action === 'delete' ? config.policy.buttons.delete : action === 'cancel' ? config.policy.buttons.cancel : config.policy.buttons.rerun;
    return rule === 'anyone' || isAuthor;
  };

  const getOwned = async (jobId: string, action: JobAction, actor: Actor): Promise<JobRecord> => {
    const job = await store.get(jobId);
    if (!job) throw new UserError('not_found', 'That job is no longer available (it may have been deleted or expired).');
    if (!mayAct(job, action, actor)) {
      throw new UserError('forbidden', `Only the person who started this job can ${action} it.`);
    }
    return job;
  };

  const app: EaselApp = {
    config,
    pool,
    registry,
    simulator,
    recentKeys,
    get commands() {
      return registry.specs;
    },

    admit: admitTicket,

    async submit(req: SubmitRequest): Promise<JobRecord> {
      // Admission first (with the caller's ticket, or here): nothing is decoded or written for a refusal.
      const claim = desk.claim(req.ticket ?? (await admitTicket({ command: req.command, actor: req.actor })), req.command, req.actor);
      let queued = false;
      try {
        const spec = specOf(req.command);
        if (req.images.length < spec.images.length) {
          const missing = spec.images.slice(req.images.length).join(' and ');
          throw new UserError('bad_image', `/${spec.name} needs an image: attach ${missing}.`);
        }
        const { preset, params } = registry.resolve(req.command, req.options);
        const admitted = admit(req.command, params, req.actor, config.policy);
        assertRunnable(preset);
        // Every image is read before any is stored: a bad second image leaves nothing behind.
        const taken = [];
        for (const bytes of req.images.slice(0, spec.images.length)) {
          taken.push(await intakeImage(bytes, { maxBytes: config.limits.maxInputBytes, maxPixels: config.limits.maxInputPixels }, { keepAlpha: preset.keepAlpha }));
        }
        const stored: StoredImage[] = [];
        for (const t of taken) stored.push(await images.put(t.data));
        const job = newJob(req.command, preset, admitted.params, stored, req.actor, { spoiler: admitted.spoiler });
        const queuedJob = await jobs.enqueue(job, { hold: claim.hold });
        queued = true;
        return queuedJob;
      } finally {
        claim.done(queued);
      }
    },

    async rerun(req: RerunRequest): Promise<JobRecord> {
      const parent = await getOwned(req.jobId, req.action, req.actor);
      // vary/upscale take one of the results as input; the others only need the stored parameters,
      // so a failed or cancelled job can be retried or edited too.
      const needsOutputs = req.action === 'vary' || req.action === 'upscale';
      if (needsOutputs ? parent.state !== 'done' : ACTIVE_STATES.has(parent.state)) {
        throw new UserError('bad_option', 'That job has not finished yet; wait for its result first.');
      }
      const derived = deriveRerun(parent, { action: req.action, index: req.index, edits: req.edits }, registry, randomSeed);
      const spec = specOf(derived.command);
      const preset = registry.preset(derived.preset ?? spec.preset);
      if (!preset) throw new UserError('preset_disabled', `The ${spec.preset} preset is not installed.`);
      const admitted = admit(derived.command, derived.params, req.actor, config.policy);
      assertRunnable(preset);
      for (const input of derived.inputs) {
        if (!(await images.has(input))) {
          throw new UserError(
            'expired',
            `That image is no longer stored (Easel keeps images for ${config.storage.retentionDays} days). Please upload it again.`,
          );
        }
      }
      const job = newJob(derived.command, preset, admitted.params, derived.inputs, req.actor, {
        parentId: parent.id,
        action: req.action,
        sourceIndex: derived.sourceIndex,
        ladder: derived.ladder,
        spoiler: admitted.spoiler || parent.spoiler,
      });
      return jobs.enqueue(job);
    },

    async cancel(jobId: string, actor: Actor): Promise<JobRecord> {
      await getOwned(jobId, 'cancel', actor);
      return jobs.cancel(jobId);
    },

    async remove(jobId: string, actor: Actor): Promise<JobRecord> {
      const job = await getOwned(jobId, 'delete', actor);
      if (ACTIVE_STATES.has(job.state)) await jobs.cancel(jobId);
      // Through the job service, so a later save of an active job cannot drop the flag.
      await jobs.setPlatformRefs(jobId, { deleted: true });
      return (await store.get(jobId)) ?? job;
    },

    mayAct,

    getJob: (jobId: string) => store.get(jobId),

    async setPlatformRefs(jobId: string, refs: Record<string, unknown>): Promise<void> {
      await jobs.setPlatformRefs(jobId, refs);
    },

    subscribe: (jobId, listener) => jobs.subscribe(jobId, listener),
    onEvent: (listener) => jobs.onEvent(listener),

    async jobsOf(actor: Actor): Promise<JobRecord[]> {
      const active = await store.list({ states: ACTIVE });
      return active.filter((j) => j.actor.platform === actor.platform && j.actor.userId === actor.userId);
    },

    async recentJobs(platform, limit): Promise<JobRecord[]> {
      const all = await store.list();
      return all
        .filter((j) => j.actor.platform === platform && !j.platformRefs?.deleted)
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, limit);
    },

    async status(): Promise<AppStatus> {
      const hostStatuses: HostStatus[] = (await pool.status()).map((h) => ({
        ...h,
        disabledPresets: [...(problemsByHost.get(h.name) ?? new Map()).entries()].map(([preset, reason]) => ({ preset, reason })),
      }));
      const stats = await jobs.stats();
      return {
        hosts: hostStatuses,
        waiting: stats.waiting,
        running: stats.running,
        simulated: hostStatuses.length > 0 && hostStatuses.every((h) => h.simulated),
        builtInSimulator: simulator !== undefined,
      };
    },

    choices: (command, option, typed) => registry.choices(command, option, typed),

    async render(job: JobRecord, limits: RenderLimits) {
      // The pool knows from the host's own /system_stats when it is a simulator, configured or not.
      const hostSimulated = job.host ? pool.isSimulated(job.host) : false;
      const preset = registry.preset(job.preset);
      // Planned again with the catalogue of the host that ran the job, so the checkpoint (and upscale
      // model) in the summary and the PNG metadata are the ones that host actually used.
      let plan: JobPlan | undefined;
      try {
        const catalogue = job.host ? catalogues.get(job.host) : undefined;
        plan = preset ? planJob(job, preset, job.inputs.map((i) => `easel-${i.sha256}.png`), catalogue) : undefined;
      } catch (err) {
        logger?.warn({ job: job.id, err: String(err) }, 'could not rebuild the workflow for the result metadata');
      }
      const checkpoint = plan?.info?.checkpoint;
      const shown = checkpoint ? { ...job, params: { ...job.params, model: checkpoint } } : job;
      return renderResult(job, limits, {
        images,
        summary: describeJob(shown, { host: job.host, simulated: hostSimulated }),
        actions: resultActions(job),
        // A ladder ran one workflow per strength: output i came from run i.
        workflow: plan ? (index) => (plan.layout === 'strip' ? plan.runs[index] : plan.runs[0])?.workflow : undefined,
      });
    },

    readImage: (image: StoredImage) => images.read(image),

    parseText: (command, text) => registry.parseText(command, text),

    async close(): Promise<void> {
      clearInterval(sweepTimer);
      desk.close();
      await jobs.close();
      await pool.close();
      await store.close();
      keysRedis?.disconnect();
      await simulator?.close();
    },
  };
  return app;
}
