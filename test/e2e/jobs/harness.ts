/**
 * Test harness for the job core: N simulator hosts, a HostPool, a JobService over a SQLite (or
 * Redis) JobStore and an ImageStore in a temp folder, the real presets and planJob.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { HostPool, type HostPoolOptions } from '../../../src/comfy/host-pool.ts';
import type { HostAuth } from '../../../src/comfy/types.ts';
import { planJob } from '../../../src/commands/plan.ts';
import type { Preset } from '../../../src/commands/preset.ts';
import { loadPresets } from '../../../src/commands/preset-loader.ts';
import { validatePreset } from '../../../src/commands/preset-validation.ts';
import { CommandRegistry } from '../../../src/commands/registry.ts';
import type { CommandName } from '../../../src/commands/types.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import type { LimitsConfig } from '../../../src/config/types.ts';
import { FolderImageStore, type ImageStore } from '../../../src/images/image-store.ts';
import { JobService, type JobServiceOptions } from '../../../src/jobs/job-service.ts';
import { JobStore } from '../../../src/jobs/job-store.ts';
import type { Actor, JobEvent, JobRecord, StoredImage } from '../../../src/jobs/types.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';

export const OPEN_LIMITS: LimitsConfig = {
  ...defaultConfig().limits,
  queueCap: 500,
  perUserWaiting: 100,
  perUserRunning: 10,
  cooldownSeconds: 0,
};

/** Distinct seeds: identical prompts would be served from ComfyUI's cache without running. */
let seedCounter = 1000;

let presetsCache: Promise<Preset[]> | undefined;
function presets(): Promise<Preset[]> {
  presetsCache ??= loadPresets(join(import.meta.dirname, '../../../config/presets'));
  return presetsCache;
}

export interface Harness {
  dir: string;
  sims: Simulator[];
  pool: HostPool;
  service: JobService;
  store: JobStore;
  images: ImageStore;
  registry: CommandRegistry;
  events: JobEvent[];
  input: StoredImage;
  makeJob(user: string, opts?: { steps?: number; command?: CommandName; server?: string; options?: Record<string, unknown> }): JobRecord;
  /** Resolves with the job's final event. */
  finished(jobId: string, timeoutMs?: number): Promise<JobEvent>;
  waitFor(pred: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  eventsOf(jobId: string): JobEvent[];
  /** Close service and pool only (simulators and store stay): a "process restart". */
  stopService(): Promise<void>;
  /** Start a new pool + service over the same store folder and data dir. */
  /** listen=false: no event listener is attached (like adapters that start after recovery). */
  startService(listen?: boolean): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  hosts?: number;
  stepMs?: number;
  limits?: Partial<LimitsConfig>;
  pool?: HostPoolOptions;
  service?: JobServiceOptions;
  redisUrl?: string;
  /** Reuse simulators (e.g. across a "restart" with a new harness). */
  sims?: Simulator[];
  dir?: string;
  /** Extra rule on top of preset validation: may this host run this preset? */
  eligible?: (host: string, preset: string) => boolean;
  /** Where the pool reaches each simulator (default its own URL), e.g. through a proxy. */
  hostUrl?: (sim: Simulator, index: number) => string;
  /** Each host's own credentials (default none). */
  hostAuth?: (index: number) => HostAuth | undefined;
  /** Mark the hosts simulated in their config (default true); false = configured like real GPUs. */
  configSimulated?: boolean;
  /** Called with each new pool before it starts (to watch its events). */
  onPool?: (pool: HostPool) => void;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'easel-jobs-'));
  const sims = opts.sims ?? (await Promise.all(Array.from({ length: opts.hosts ?? 1 }, () => startSimulator({ stepMs: opts.stepMs ?? 10, previews: true }))));
  const all = await presets();
  const config = defaultConfig();
  const registry = new CommandRegistry(all, config);
  const images = new FolderImageStore(join(dir, 'images'));
  const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 80, b: 40 } } }).png().toBuffer();
  const input = await images.put(png);
  const limits = { ...OPEN_LIMITS, ...opts.limits };
  const events: JobEvent[] = [];

  const h = {} as Harness;
  const namespace = `easel-test-${randomUUID().slice(0, 8)}`;
  const build = async (listen = true) => {
    const store = await JobStore.open(opts.redisUrl ? { redisUrl: opts.redisUrl, namespace } : { sqlitePath: join(dir, 'jobs.sqlite') });
    const pool = new HostPool(
      sims.map((s, i) => {
        const auth = opts.hostAuth?.(i);
        return { name: `gpu-${i + 1}`, url: opts.hostUrl?.(s, i) ?? s.url, simulated: opts.configSimulated ?? true, ...(auth ? { auth } : {}) };
      }),
      {
        healthIntervalMs: 200,
        startTimeoutMs: 5_000,
        breaker: { baseMs: 100, maxMs: 1_000 },
        ...opts.pool,
        client: { giveUpMs: 1_500, livenessMs: 2_000, backoff: { initialMs: 50, maxMs: 300 }, attachPollMs: 100, ...opts.pool?.client },
      },
    );
    const problems = new Map<string, Set<string>>();
    pool.on('host-up', (name: string, catalogue) => {
      problems.set(name, new Set(all.filter((p) => validatePreset(p, catalogue).length > 0).map((p) => p.name)));
    });
    const service = new JobService({
      store,
      pool,
      images,
      limits,
      presets: { get: (name) => registry.preset(name) },
      eligible: (host, preset) => problems.has(host) && !problems.get(host)!.has(preset) && (opts.eligible?.(host, preset) ?? true),
      plan: planJob,
      options: opts.service,
    });
    if (listen) service.onEvent((e) => events.push(e));
    Object.assign(h, { store, pool, service });
    opts.onPool?.(pool);
    await pool.start();
  };
  await build();

  Object.assign(h, {
    dir,
    sims,
    images,
    registry,
    events,
    input,
    makeJob(user, o = {}) {
      const command = o.command ?? 'restyle';
      const { preset, params } = registry.resolve(command, {
        prompt: `job of ${user}`,
        seed: ++seedCounter,
        steps: o.steps ?? 10,
        width: 64,
        height: 64,
        ...o.options,
      });
      const actor: Actor = { platform: 'discord', userId: user, channelId: 'chan-1', serverId: o.server ?? 'guild-1' };
      return { id: randomUUID(), command, preset: preset.name, params, inputs: [input], actor, state: 'queued', createdAt: Date.now() };
    },
    eventsOf: (jobId: string) => events.filter((e) => e.job.id === jobId),
    async waitFor(pred: () => boolean, timeoutMs = 15_000, what = 'condition') {
      const until = Date.now() + timeoutMs;
      while (!pred()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async finished(jobId: string, timeoutMs = 20_000) {
      const terminal = () => events.find((e) => e.job.id === jobId && (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled'));
      await h.waitFor(() => !!terminal(), timeoutMs, `job ${jobId} to finish`);
      return terminal()!;
    },
    async stopService() {
      await h.service.close();
      await h.pool.close();
      await h.store.close();
    },
    async startService(listen = true) {
      await build(listen);
    },
    async close() {
      await h.stopService().catch(() => undefined);
      if (!opts.sims) await Promise.all(sims.map((s) => s.close()));
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  } satisfies Partial<Harness>);
  return h;
}
