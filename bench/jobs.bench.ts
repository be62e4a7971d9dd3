/**
 * Job scheduling benchmark: how busy does Easel keep the GPU, compared with a naive
 * submit-wait-submit client, over a slow remote link?
 *
 *   npm run bench:jobs                       # built-in simulator (own process), 50 ms RTT, 100 Mbit/s
 *   npm run bench:jobs -- --host http://gpu-1:8188 --host http://gpu-2:8188
 *   npm run bench:jobs -- --link none        # loopback, no simulated link
 *   COMFYUI_TOKEN=... npm run bench:jobs -- --host http://gpu-1:8188   # host auth from the same
 *     variables `easel start` reads (COMFYUI_TOKEN, COMFYUI_USER + COMFYUI_PASSWORD, COMFYUI_AUTH_HEADER)
 *   options: --jobs 30  --rtt 50  --mbit 100  --input-mb 2  --latency-jobs 5  --waiting 1000  --step-ms 50  --steps 20
 *   npm run bench:jobs -- --instances 2 [--sims 4]   # embedded vs 1 vs N instances on one Redis (see scaleOut below)
 *
 * The link is a local TCP proxy in front of each host that delays every chunk by RTT/2 each way and
 * throttles each direction to the given bandwidth, so HTTP uploads, /view downloads and the WebSocket
 * all pay for it. GPU busy time comes from the host's own /history timestamps (execution_start to
 * execution_success), so it works the same against real ComfyUI.
 *
 * Goals: busy >= 0.98 over the remote link, added latency < 50 ms beyond the link itself, RSS < 200 MB
 * with 1,000 jobs waiting. Figures are printed; nothing here asserts timings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deflateSync } from 'node:zlib';
import { ComfyClient } from '../src/comfy/client.ts';
import { HostPool } from '../src/comfy/host-pool.ts';
import type { NodeCatalogue } from '../src/comfy/node-catalogue.ts';
import type { HostConfig } from '../src/comfy/types.ts';
import { planJob } from '../src/commands/plan.ts';
import type { Preset } from '../src/commands/preset.ts';
import { loadPresets } from '../src/commands/preset-loader.ts';
import { validatePreset } from '../src/commands/preset-validation.ts';
import { CommandRegistry } from '../src/commands/registry.ts';
import { readEnv } from '../src/config/env-overrides.ts';
import { defaultConfig } from '../src/config/load-config.ts';
import { FolderImageStore, type ImageStore } from '../src/images/image-store.ts';
import { PNG_SIGNATURE, pngChunk } from '../src/images/png-chunk.ts';
import { JobService } from '../src/jobs/job-service.ts';
import { JobStore } from '../src/jobs/job-store.ts';
import type { JobEvent, JobRecord, StoredImage } from '../src/jobs/types.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

// ------------------------------------------------------------------ arguments

interface Args {
  hosts: string[];
  link: boolean;
  rttMs: number;
  mbit: number;
  jobs: number;
  inputMb: number;
  latencyJobs: number;
  waiting: number;
  stepMs: number;
  steps: number;
  /** --instances N: the scale-out comparison (N instances on one Redis vs one), on `sims` simulators. */
  instances: number;
  sims: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { hosts: [], link: true, rttMs: 50, mbit: 100, jobs: 30, inputMb: 2, latencyJobs: 5, waiting: 1000, stepMs: 50, steps: 20, instances: 0, sims: 4 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    const num = () => {
      const n = Number(v());
      if (!Number.isFinite(n) || n < 0) throw new Error(`${k} needs a number`);
      return n;
    };
    if (k === '--host') a.hosts.push(v());
    else if (k === '--link') a.link = v() !== 'none';
    else if (k === '--rtt') a.rttMs = num();
    else if (k === '--mbit') a.mbit = num();
    else if (k === '--jobs') a.jobs = Math.max(1, Math.round(num()));
    else if (k === '--input-mb') a.inputMb = num();
    else if (k === '--latency-jobs') a.latencyJobs = Math.max(1, Math.round(num()));
    else if (k === '--waiting') a.waiting = Math.round(num());
    else if (k === '--step-ms') a.stepMs = num();
    else if (k === '--steps') a.steps = Math.max(1, Math.round(num()));
    else if (k === '--instances') a.instances = Math.max(1, Math.round(num()));
    else if (k === '--sims') a.sims = Math.max(1, Math.round(num()));
    else if (k === '--serve-simulator') continue;
    else throw new Error(`unknown option ${k} (see the header of bench/jobs.bench.ts)`);
  }
  return a;
}

// ------------------------------------------------------------------ simulated link

/**
 * A TCP proxy that behaves like a remote link: every chunk leaves when the (per-direction, shared by
 * all connections) pipe is free at the given bandwidth, then arrives one-way-delay later. Each
 * connection direction delivers through one FIFO, so bytes never overtake each other.
 */
class LinkProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private freeAt = { up: 0, down: 0 };
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly oneWayMs: number,
    private readonly bytesPerMs: number,
  ) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = createConnection(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      const up = new DelayedPipe(upstream);
      const down = new DelayedPipe(client);
      client.on('data', (chunk) => up.push(this.arrival('up', chunk.length), chunk));
      upstream.on('data', (chunk) => down.push(this.arrival('down', chunk.length), chunk));
      client.on('end', () => up.push(this.arrival('up', 0), 'end'));
      upstream.on('end', () => down.push(this.arrival('down', 0), 'end'));
      client.on('close', () => up.push(this.arrival('up', 0), 'destroy'));
      upstream.on('close', () => down.push(this.arrival('down', 0), 'destroy'));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** When a chunk of this size, sent now, arrives at the other end. */
  private arrival(dir: 'up' | 'down', bytes: number): number {
    const now = performance.now();
    const leaves = Math.max(now, this.freeAt[dir]) + bytes / this.bytesPerMs;
    this.freeAt[dir] = leaves;
    return leaves + this.oneWayMs;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Delivers chunks to a socket at (non-decreasing) arrival times, in order. */
class DelayedPipe {
  private readonly queue: Array<{ at: number; item: Buffer | 'end' | 'destroy' }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly to: Socket) {}

  push(at: number, item: Buffer | 'end' | 'destroy'): void {
    const last = this.queue.at(-1)?.at ?? 0;
    this.queue.push({ at: Math.max(at, last), item });
    if (!this.timer) this.arm();
  }

  private arm(): void {
    const head = this.queue[0];
    if (!head) return;
    this.timer = setTimeout(() => this.drain(), Math.max(0, head.at - performance.now()));
  }

  private drain(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0].at <= now + 0.5) {
      const { item } = this.queue.shift()!;
      if (this.to.destroyed) continue;
      if (item === 'end') this.to.end();
      else if (item === 'destroy') this.to.destroy();
      else this.to.write(item);
    }
    this.arm();
  }
}

// ------------------------------------------------------------------ helpers

/** A full garbage collection, so RSS figures do not depend on when V8 last collected. */
function forceGc(): void {
  try {
    v8.setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    /* not available: the figure is then a little higher */
  }
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : 'n/a';
}

interface Interval {
  start: number;
  end: number;
}

/** When the host says it ran the prompt (history timestamps, ms). */
async function hostInterval(client: ComfyClient, promptId: string): Promise<Interval | undefined> {
  const h = await client.history(promptId);
  if (!h) return undefined;
  let start: number | undefined;
  let end: number | undefined;
  for (const [type, data] of h.messages) {
    const t = Number((data as { timestamp?: unknown }).timestamp);
    if (!Number.isFinite(t)) continue;
    if (type === 'execution_start') start = t;
    if (type === 'execution_success' || type === 'execution_error' || type === 'execution_interrupted') end = t;
  }
  return start !== undefined && end !== undefined ? { start, end } : undefined;
}

interface RunFigures {
  wallMs: number;
  busyMs: number;
  meanGapMs: number;
}

/** Busy and idle figures per host, summed. Wall time from the first accept to the last result. */
function figures(intervals: Map<string, Interval[]>, wallMs: number, hostCount: number): RunFigures {
  let busy = 0;
  const gaps: number[] = [];
  for (const list of intervals.values()) {
    const s = [...list].sort((a, b) => a.start - b.start);
    for (let i = 0; i < s.length; i++) {
      busy += s[i].end - s[i].start;
      if (i > 0) gaps.push(Math.max(0, s[i].start - s[i - 1].end));
    }
  }
  const mean = gaps.length ? gaps.reduce((x, y) => x + y, 0) / gaps.length : 0;
  return { wallMs, busyMs: busy / Math.max(1, hostCount), meanGapMs: mean };
}

async function noiseImages(count: number, megabytes: number, store: ImageStore): Promise<StoredImage[]> {
  // Random pixels do not compress: a PNG of w*h*3 bytes of noise is about that size. Encoded here with
  // zlib rather than sharp, so the bench's own fixtures do not inflate the RSS figure measured below.
  const pixels = Math.max(64 * 64, Math.round((megabytes * 1024 * 1024) / 3));
  const width = Math.round(Math.sqrt(pixels * (4 / 3)));
  const height = Math.max(64, Math.round(pixels / width));
  const out: StoredImage[] = [];
  for (let i = 0; i < count; i++) out.push(await store.put(noisePng(width, height)));
  return out;
}

/** An RGB PNG of random pixels (filter 0 per row, deflate level 1). */
function noisePng(width: number, height: number): Buffer {
  const row = width * 3 + 1;
  const raw = randomBytes(row * height);
  for (let y = 0; y < height; y++) raw[y * row] = 0;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(raw, { level: 1 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// ------------------------------------------------------------------ the simulator in its own process

async function spawnSimulator(stepMs: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve-simulator', '--step-ms', String(stepMs)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /SIMULATOR (\S+)/.exec(buf);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`simulator process exited (${code})`)));
  });
  return { url, child };
}

async function serveSimulator(stepMs: number): Promise<void> {
  const { startSimulator } = await import('../src/simulator/index.ts');
  const sim = await startSimulator({ stepMs, previews: true });
  process.stdout.write(`SIMULATOR ${sim.url}\n`);
  const stop = () => void sim.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// ------------------------------------------------------------------ main

/** Makes the benchmark's jobs: a 512×512 restyle of `input` for `user`, each with the next seed (so none is served from the host's cache). */
function jobMaker(registry: CommandRegistry, steps: number): (user: string, input: StoredImage) => JobRecord {
  let seed = 1;
  return (user, input) => {
    const { preset, params } = registry.resolve('restyle', { prompt: `bench ${user}`, seed: seed++, steps, width: 512, height: 512 });
    return {
      id: randomUUID(),
      command: 'restyle',
      preset: preset.name,
      params,
      inputs: [input],
      actor: { platform: 'cli', userId: user, channelId: 'bench', serverId: 'bench' },
      state: 'queued',
      createdAt: Date.now(),
    };
  };
}

/** What the simulated link carries each way, bytes per ms. */
function linkBytesPerMs(args: Args): number {
  return args.link ? (args.mbit * 1_000_000) / 8 / 1000 : Infinity;
}

/**
 * The hosts Easel is given: each target behind the simulated link (unless --link none), named gpu-1,
 * gpu-2...; and a client per host without the link, only for reading its timestamps afterwards.
 */
async function linkedHosts(
  targets: string[],
  args: Args,
  cleanups: Array<() => Promise<void> | void>,
  opts: { simulated: boolean; auth?: HostConfig['auth'] },
): Promise<{ hosts: HostConfig[]; direct: ComfyClient[] }> {
  const oneWay = args.link ? args.rttMs / 2 : 0;
  const { auth } = opts;
  const hosts: HostConfig[] = [];
  const direct: ComfyClient[] = [];
  for (const [i, url] of targets.entries()) {
    const u = new URL(url);
    let base = url;
    if (args.link) {
      if (u.protocol === 'https:') throw new Error(`${url}: the simulated link is a plain TCP proxy, so an https host can only be measured with --link none`);
      const proxy = new LinkProxy({ host: u.hostname, port: Number(u.port || 80) }, oneWay, linkBytesPerMs(args));
      await proxy.start();
      cleanups.unshift(() => proxy.close());
      base = `${u.protocol}//127.0.0.1:${proxy.port}`;
    }
    hosts.push({ name: `gpu-${i + 1}`, url: base, simulated: opts.simulated, ...(auth ? { auth } : {}) });
    const c = new ComfyClient({ name: `gpu-${i + 1}-direct`, url, ...(auth ? { auth } : {}) });
    cleanups.unshift(() => c.close());
    direct.push(c);
  }
  return { hosts, direct };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const args = parseArgs(argv);
  if (argv.includes('--serve-simulator')) return serveSimulator(args.stepMs);
  if (args.instances > 0) return scaleOut(args);

  const dir = mkdtempSync(join(tmpdir(), 'easel-bench-jobs-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    let targets = args.hosts;
    const builtIn = targets.length === 0;
    if (builtIn) {
      const sim = await spawnSimulator(args.stepMs);
      cleanups.unshift(() => void sim.child.kill('SIGTERM'));
      targets = [sim.url];
    }
    // Real hosts get the auth `easel start` would give them from the environment.
    const env = builtIn ? undefined : readEnv(process.env);
    if (env && env.problems.length > 0) throw new Error(env.problems.join('; '));
    const { hosts, direct } = await linkedHosts(targets, args, cleanups, { simulated: builtIn, auth: env?.hostAuth });

    const presets: Preset[] = await loadPresets(join(ROOT, 'config/presets'));
    const config = defaultConfig();
    const registry = new CommandRegistry(presets, config);
    const images = new FolderImageStore(join(dir, 'images'));
    const stepsMax = config.limits.maxSteps;
    const steps = Math.min(args.steps, stepsMax);

    console.log(`Easel jobs benchmark: ${hosts.length} host(s) ${builtIn ? `(built-in simulator, ${args.stepMs} ms/step x ${steps} steps ~ ${fmt((args.stepMs * steps) / 1000, 1)} s per job)` : targets.join(', ')}`);
    console.log(args.link ? `link: ${args.rttMs} ms round trip, ${args.mbit} Mbit/s each way, ${args.inputMb} MB input images` : `link: none (loopback), ${args.inputMb} MB input images`);
    process.stdout.write('preparing input images... ');
    const inputs = await noiseImages(args.jobs + args.latencyJobs * 2 + 1, args.inputMb, images);
    console.log(`${inputs.length} x ${fmt(inputs[0].bytes / 1048576, 2)} MB`);

    const makeJob = jobMaker(registry, steps);

    // ---------------- Easel
    const store = await JobStore.open({ sqlitePath: join(dir, 'jobs.sqlite') });
    cleanups.unshift(() => store.close());
    const pool = new HostPool(hosts, {});
    const disabled = new Map<string, Set<string>>();
    pool.on('host-up', (name: string, cat: NodeCatalogue) => {
      disabled.set(name, new Set(presets.filter((p) => validatePreset(p, cat).length > 0).map((p) => p.name)));
    });
    const service = new JobService({
      store,
      pool,
      images,
      limits: { ...config.limits, queueCap: args.waiting + 100, perUserWaiting: args.waiting + 100, perUserRunning: 100, cooldownSeconds: 0 },
      presets: { get: (n) => registry.preset(n) },
      eligible: (h, p) => disabled.has(h) && !disabled.get(h)!.has(p),
      plan: planJob,
    });
    cleanups.unshift(async () => {
      await service.close();
      await pool.close();
    });
    if (process.env.BENCH_TRACE) pool.on('host-down', (n: string, why: string) => console.log(`  ${Date.now() % 100000} host-down ${n}: ${why}`));
    await pool.start();
    if (pool.available().length === 0) {
      const why = pool.status().map((st) => `${st.name}: ${st.lastError ?? 'not reachable'}`);
      throw new Error(`no host is usable (${why.join('; ')}); for a host behind auth set COMFYUI_TOKEN, COMFYUI_USER + COMFYUI_PASSWORD or COMFYUI_AUTH_HEADER`);
    }
    const done = new Map<string, number>();
    service.onEvent((e: JobEvent) => {
      if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') done.set(e.job.id, Date.now());
      if (e.type === 'failed') console.log(`  job failed: ${e.reason}`);
      if (process.env.BENCH_TRACE && e.type !== 'running') console.log(`  ${Date.now() % 100000} ${e.job.id.slice(0, 6)} ${e.type}`);
      if (process.env.BENCH_TRACE && e.type === 'running' && e.step <= 1) console.log(`  ${Date.now() % 100000} ${e.job.id.slice(0, 6)} running ${e.step}`);
    });
    const waitDone = async (ids: string[]) => {
      while (!ids.every((id) => done.has(id))) await new Promise((r) => setTimeout(r, 5));
    };
    // Warm-up (model load, first upload path) so both runs start equal.
    const warm = await service.enqueue(makeJob('warmup', inputs[inputs.length - 1]));
    await waitDone([warm.id]);

    const hostIntervals = async (promptOf: Array<{ host: string; promptId: string }>) => {
      const m = new Map<string, Interval[]>();
      for (const { host, promptId } of promptOf) {
        const idx = hosts.findIndex((h) => h.name === host);
        const iv = await hostInterval(direct[idx], promptId);
        if (iv) m.set(host, [...(m.get(host) ?? []), iv]);
      }
      return m;
    };

    let phase = Date.now();
    const took = () => {
      const ms = Date.now() - phase;
      phase = Date.now();
      return `${fmt(ms / 1000, 1)} s`;
    };
    process.stdout.write(`Easel: ${args.jobs} jobs from 3 users... `);
    const t0 = Date.now();
    const easelJobs: JobRecord[] = [];
    for (let i = 0; i < args.jobs; i++) easelJobs.push(await service.enqueue(makeJob(`user-${i % 3}`, inputs[i])));
    await waitDone(easelJobs.map((j) => j.id));
    const easelWall = Math.max(...easelJobs.map((j) => done.get(j.id)!)) - t0;
    const easelRecs = await Promise.all(easelJobs.map(async (j) => (await store.get(j.id))!));
    const failed = easelRecs.filter((r) => r.state !== 'done').length;
    const easel = figures(
      await hostIntervals(easelRecs.flatMap((r) => (r.attempts ?? []).filter((a) => a.outcome === 'done').map((a) => ({ host: a.host, promptId: a.promptId })))),
      easelWall,
      hosts.length,
    );
    console.log(`done in ${took()}${failed ? ` (${failed} failed)` : ''}`);

    // ---------------- naive client: upload, submit, wait, download, next
    process.stdout.write(`naive client: ${args.jobs} jobs one after another... `);
    const naiveClients = hosts.map((h) => new ComfyClient(h));
    cleanups.unshift(async () => {
      await Promise.all(naiveClients.map((c) => c.close()));
    });
    await Promise.all(naiveClients.map((c) => c.connect()));
    const catalogues = await Promise.all(naiveClients.map((c) => c.objectInfo()));
    const naiveOne = async (input: StoredImage, user: string): Promise<{ host: string; promptId: string; accepted: number }> => {
      const accepted = Date.now();
      const c = naiveClients[0];
      const job = makeJob(user, input);
      const name = await c.uploadImage(await images.read(input), { ext: 'png' });
      const plan = planJob(job, registry.preset(job.preset)!, [name], catalogues[0]);
      const run = await c.submit(plan.runs[0].workflow);
      const result = await run.done;
      for (const refs of Object.values(result.outputs)) for (const ref of refs) await c.view(ref);
      return { host: hosts[0].name, promptId: run.promptId, accepted };
    };
    const n0 = Date.now();
    const naiveRuns: Array<{ host: string; promptId: string }> = [];
    // Each naive job uses a fresh image too (offset so the host never has it already).
    for (let i = 0; i < args.jobs; i++) naiveRuns.push(await naiveOne(inputs[(i + 1) % args.jobs], `naive-${i % 3}`));
    const naiveWall = Date.now() - n0;
    const naive = figures(await hostIntervals(naiveRuns), naiveWall, 1);
    console.log(`done in ${took()}`);

    // ---------------- latency added between accepting a job and the host starting it (idle host)
    process.stdout.write(`latency: ${args.latencyJobs} jobs on an idle host, each way... `);
    const easelLat: number[] = [];
    const naiveLat: number[] = [];
    for (let i = 0; i < args.latencyJobs; i++) {
      const input = inputs[args.jobs + i];
      const accepted = Date.now();
      const j = await service.enqueue(makeJob('lat', input));
      await waitDone([j.id]);
      const rec = (await store.get(j.id))!;
      const a = rec.attempts!.find((x) => x.outcome === 'done')!;
      const iv = await hostInterval(direct[hosts.findIndex((h) => h.name === a.host)], a.promptId);
      if (iv) easelLat.push(iv.start - accepted);
      const r = await naiveOne(inputs[args.jobs + args.latencyJobs + i], 'lat-naive');
      const iv2 = await hostInterval(direct[0], r.promptId);
      if (iv2) naiveLat.push(iv2.start - r.accepted);
    }
    console.log(`done in ${took()}`);

    // ---------------- memory with many jobs waiting
    let rssMb = NaN;
    let rssDelta = NaN;
    if (args.waiting > 0) {
      process.stdout.write(`memory: ${args.waiting} jobs waiting... `);
      forceGc();
      const rssBefore = process.memoryUsage().rss / 1048576;
      const e0 = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < args.waiting; i++) {
        const j = await service.enqueue(makeJob(`crowd-${i % 50}`, inputs[i % args.jobs]));
        ids.push(j.id);
      }
      const enqueueMs = Date.now() - e0;
      await new Promise((r) => setTimeout(r, 200));
      forceGc();
      rssMb = process.memoryUsage().rss / 1048576;
      rssDelta = rssMb - rssBefore;
      const waitingNow = service.stats().waiting;
      const c0 = Date.now();
      // Last first, so cancelling does not hand the freed GPU slots to the next ones in line.
      for (const id of [...ids].reverse()) await service.cancel(id).catch(() => undefined);
      console.log(`done (${waitingNow} were waiting at the measurement; enqueue ${fmt(enqueueMs / args.waiting, 2)} ms/job, cancel ${fmt((Date.now() - c0) / args.waiting, 2)} ms/job)`);
    }

    // ---------------- report
    const linkFloor = args.link ? (args.inputMb * 1048576) / linkBytesPerMs(args) + 2 * args.rttMs : 0;
    const rows: Array<[string, string, string]> = [
      ['wall time (s)', fmt(easel.wallMs / 1000, 2), fmt(naive.wallMs / 1000, 2)],
      ['host busy / wall', fmt(easel.busyMs / easel.wallMs, 3), fmt(naive.busyMs / naive.wallMs, 3)],
      ['mean idle gap between jobs (ms)', fmt(easel.meanGapMs, 1), fmt(naive.meanGapMs, 1)],
      ['median accept -> host start (ms)', fmt(median(easelLat), 0), fmt(median(naiveLat), 0)],
    ];
    console.log('');
    console.log(`${'figure'.padEnd(36)}${'Easel'.padStart(12)}${'naive'.padStart(12)}`);
    for (const [k, e, n] of rows) console.log(`${k.padEnd(36)}${e.padStart(12)}${n.padStart(12)}`);
    console.log('');
    const added = median(easelLat) - median(naiveLat);
    console.log(`latency Easel adds beyond the link itself (vs. the naive client doing the same upload+submit): ${fmt(added, 0)} ms` + (args.link ? ` (link floor for one ${args.inputMb} MB upload + submit ~ ${fmt(linkFloor, 0)} ms)` : ''));
    console.log(`process RSS with ${args.waiting} jobs waiting: ${fmt(rssMb, 0)} MB (${fmt(rssDelta, 1)} MB more than just before queueing them)${builtIn ? '; the simulator runs in its own process' : ''}`);
    console.log('');
    console.log(`goals: busy >= 0.98 over the remote link: ${easel.busyMs / easel.wallMs >= 0.98 ? 'met' : 'NOT met'}; added latency < 50 ms: ${added < 50 ? 'met' : 'NOT met'}; RSS < 200 MB: ${rssMb < 200 ? 'met' : 'NOT met'}`);
  } finally {
    for (const c of cleanups) await Promise.resolve(c()).catch(() => undefined);
  }
}

// ------------------------------------------------------------------ scale-out: several instances on one Redis

/**
 * `--instances N`: the same jobs through the embedded scheduler (one process, no Redis), through one
 * instance on the shared Redis queue, and through N instances sharing it, on `--sims` simulator hosts
 * (own processes, each behind its own simulated link). Per host: busy time over the span it worked
 * (first start to last end). Latency: accept -> host start on an idle cluster, against a naive client
 * doing the same upload + submit over the same link.
 */
async function scaleOut(args: Args): Promise<void> {
  const { startTestRedis } = await import('../test/unit/jobs/redis-fixture.ts');
  const { DistributedJobs } = await import('../src/jobs/distributed/distributed-jobs.ts');
  const dir = mkdtempSync(join(tmpdir(), 'easel-bench-scale-'));
  const cleanups: Array<() => Promise<void> | void> = [() => rmSync(dir, { recursive: true, force: true })];
  try {
    const redis = await startTestRedis();
    cleanups.unshift(() => redis.stop());
    const sims: string[] = [];
    for (let i = 0; i < args.sims; i++) {
      const sim = await spawnSimulator(args.stepMs);
      cleanups.unshift(() => void sim.child.kill('SIGTERM'));
      sims.push(sim.url);
    }
    const { hosts, direct } = await linkedHosts(sims, args, cleanups, { simulated: true });
    const presets: Preset[] = await loadPresets(join(ROOT, 'config/presets'));
    const config = defaultConfig();
    const registry = new CommandRegistry(presets, config);
    const images = new FolderImageStore(join(dir, 'images'));
    const steps = Math.min(args.steps, config.limits.maxSteps);
    const limits = { ...config.limits, queueCap: 10_000, perUserWaiting: 10_000, perUserRunning: 100, cooldownSeconds: 0 };
    console.log(`Easel scale-out benchmark: ${args.sims} simulator hosts (${args.stepMs} ms/step x ${steps} steps), ${args.jobs} jobs from 3 users; ${args.instances} instance(s) on one Redis vs one`);
    console.log(args.link ? `link: ${args.rttMs} ms round trip, ${args.mbit} Mbit/s each way per host, ${args.inputMb} MB input images` : `link: none (loopback), ${args.inputMb} MB input images`);
    const perRun = args.jobs + args.latencyJobs + 1;
    const inputs = await noiseImages(perRun * 3 + args.latencyJobs, args.inputMb, images);
    let nextInput = 0;
    const nextJob = jobMaker(registry, steps);
    const makeJob = (user: string): JobRecord => nextJob(user, inputs[nextInput++ % inputs.length]);

    interface Node {
      enqueue(j: JobRecord): Promise<JobRecord>;
      close(): Promise<void>;
    }
    const done = new Map<string, number>();
    /** Where each job ran (from its 'done' event; the same as its stored record). */
    const ownAttempts = new Map<string, NonNullable<JobRecord['attempts']>>();
    const onEvent = (e: JobEvent) => {
      if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') done.set(e.job.id, Date.now());
      if (e.type === 'done' && e.job.attempts) ownAttempts.set(e.job.id, e.job.attempts);
      if (e.type === 'failed') console.log(`  job failed: ${e.reason}`);
    };
    const startNode = async (redisNs: string | undefined): Promise<Node> => {
      const store = await JobStore.open(redisNs ? { redisUrl: redis.url, namespace: redisNs } : { sqlitePath: join(dir, `${randomUUID()}.sqlite`) });
      const pool = new HostPool(hosts, {});
      const disabled = new Map<string, Set<string>>();
      pool.on('host-up', (name: string, cat: NodeCatalogue) => {
        disabled.set(name, new Set(presets.filter((p) => validatePreset(p, cat).length > 0).map((p) => p.name)));
      });
      const deps = {
        store,
        pool,
        images,
        limits,
        presets: { get: (n: string) => registry.preset(n) },
        eligible: (h: string, p: string) => disabled.has(h) && !disabled.get(h)!.has(p),
        plan: planJob,
      };
      const flow = redisNs ? DistributedJobs.create({ ...deps, redisUrl: redis.url, namespace: redisNs }) : new JobService(deps);
      flow.onEvent(onEvent);
      await pool.start();
      await flow.recover();
      return {
        enqueue: (j) => flow.enqueue(j),
        close: async () => {
          await flow.close();
          await pool.close();
          await store.close();
        },
        ...(flow instanceof DistributedJobs ? { driven: () => flow.hostsDriven() } : {}),
      } as Node & { driven?: () => string[] };
    };
    const waitDone = async (ids: string[]) => {
      while (!ids.every((id) => done.has(id))) await new Promise((r) => setTimeout(r, 5));
    };

    // A naive client's accept -> host start over the same link: the floor Easel is compared with.
    const naive = new ComfyClient(hosts[0]);
    cleanups.unshift(() => naive.close());
    await naive.connect();
    const catalogue = await naive.objectInfo();
    const naiveLat: number[] = [];
    for (let i = 0; i < args.latencyJobs; i++) {
      const job = makeJob('naive');
      const accepted = Date.now();
      const name = await naive.uploadImage(await images.read(job.inputs[0]), { ext: 'png' });
      const run = await naive.submit(planJob(job, registry.preset(job.preset)!, [name], catalogue).runs[0].workflow);
      await run.done;
      const iv = await hostInterval(direct[0], run.promptId);
      if (iv) naiveLat.push(iv.start - accepted);
    }

    const measure = async (label: string, count: number, redisNs: string | undefined) => {
      process.stdout.write(`${label}: starting... `);
      const nodes = await Promise.all(Array.from({ length: count }, () => startNode(redisNs)));
      if (redisNs) {
        // Wait until the instances have shared the hosts out (each drives its part).
        const until = Date.now() + 30_000;
        while (Date.now() < until) {
          const driven = nodes.map((n) => (n as Node & { driven: () => string[] }).driven().length);
          if (driven.reduce((x, y) => x + y, 0) === hosts.length && Math.min(...driven) >= Math.floor(hosts.length / count)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const warm = await nodes[0].enqueue(makeJob('warmup'));
      await waitDone([warm.id]);
      process.stdout.write(`${args.jobs} jobs... `);
      const t0 = Date.now();
      const ids: string[] = [];
      for (let i = 0; i < args.jobs; i++) ids.push((await nodes[i % count].enqueue(makeJob(`user-${i % 3}`))).id);
      await waitDone(ids);
      const wall = Math.max(...ids.map((id) => done.get(id)!)) - t0;
      const lat: number[] = [];
      for (let i = 0; i < args.latencyJobs; i++) {
        const accepted = Date.now();
        const j = await nodes[i % count].enqueue(makeJob('lat'));
        await waitDone([j.id]);
        lat.push(accepted);
        ids.push(j.id);
      }
      const byHost = new Map<string, Interval[]>();
      const latencies: number[] = [];
      for (const [k, id] of ids.entries()) {
        const a = (ownAttempts.get(id) ?? []).find((x) => x.outcome === 'done');
        if (!a) continue;
        const iv = await hostInterval(direct[hosts.findIndex((h) => h.name === a.host)], a.promptId);
        if (!iv) continue;
        if (k < args.jobs) byHost.set(a.host, [...(byHost.get(a.host) ?? []), iv]);
        else latencies.push(iv.start - lat[k - args.jobs]);
      }
      await Promise.all(nodes.map((n) => n.close()));
      const ratios = [...byHost.values()].map((list) => {
        const busy = list.reduce((x, iv) => x + iv.end - iv.start, 0);
        const span = Math.max(...list.map((iv) => iv.end)) - Math.min(...list.map((iv) => iv.start));
        return busy / Math.max(1, span);
      });
      console.log(`done in ${fmt(wall / 1000, 1)} s`);
      return { wall, minBusy: Math.min(...ratios), meanBusy: ratios.reduce((x, y) => x + y, 0) / Math.max(1, ratios.length), hostsUsed: ratios.length, lat: median(latencies) };
    };

    const embedded = await measure('embedded (no Redis)', 1, undefined);
    const one = await measure('1 instance on Redis', 1, 'bench-one');
    const many = await measure(`${args.instances} instances on Redis`, args.instances, 'bench-many');
    const rows: Array<[string, (r: typeof one) => string]> = [
      ['wall time (s)', (r) => fmt(r.wall / 1000, 2)],
      ['hosts used', (r) => String(r.hostsUsed)],
      ['host busy / span, lowest host', (r) => fmt(r.minBusy, 3)],
      ['host busy / span, mean', (r) => fmt(r.meanBusy, 3)],
      ['median accept -> host start (ms)', (r) => fmt(r.lat, 0)],
      ['added beyond the link (ms)', (r) => fmt(r.lat - median(naiveLat), 0)],
    ];
    console.log('');
    const cols = ['embedded', '1 instance', `${args.instances} instances`];
    console.log(`${'figure'.padEnd(36)}${cols.map((c) => c.padStart(14)).join('')}`);
    for (const [k, f] of rows) console.log(`${k.padEnd(36)}${[embedded, one, many].map((r) => f(r).padStart(14)).join('')}`);
    console.log(`naive client accept -> host start over the same link: ${fmt(median(naiveLat), 0)} ms`);
    console.log('');
    const added = many.lat - median(naiveLat);
    console.log(`goals with ${args.instances} instances: busy >= 0.98 per host: ${many.minBusy >= 0.98 ? 'met' : 'NOT met'}; added latency < 50 ms: ${added < 50 ? 'met' : 'NOT met'}`);
  } finally {
    for (const c of cleanups) await Promise.resolve(c()).catch(() => undefined);
  }
}

main().then(
  () => {
    if (!process.argv.includes('--serve-simulator')) process.exit(0);
  },
  (err) => {
    console.error(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
