/**
 * Several Easel processes (test/e2e/scale/instance-main.ts) sharing one private redis-server and one
 * image folder, in front of simulator hosts started here. Each instance is driven over stdin/stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import type { LimitsConfig } from '../../../src/config/types.ts';
import { JobStore } from '../../../src/jobs/job-store.ts';
import type { JobRecord } from '../../../src/jobs/types.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';
import { startKillableRedis, type TestRedis } from '../../unit/jobs/redis-fixture.ts';
import { removeDir, tempDir } from '../app/app-harness.ts';

const MAIN = join(import.meta.dirname, 'instance-main.ts');

export interface Delivery {
  instance: string;
  outcome: string;
  jobId: string;
  outputs: number;
}

export class Instance {
  readonly deliveries: Delivery[] = [];
  private readonly pending = new Map<number, (r: Record<string, unknown>) => void>();
  private nextId = 1;
  readonly exited: Promise<void>;
  stderr = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    private readonly all: Delivery[],
  ) {
    this.exited = new Promise((r) => child.once('exit', () => r()));
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-20000)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return; // a log line
      }
      if (typeof msg.delivered === 'string') {
        const d: Delivery = { instance: name, outcome: msg.delivered, jobId: String(msg.jobId), outputs: Number(msg.outputs) };
        this.deliveries.push(d);
        this.all.push(d);
      } else if (typeof msg.id === 'number') {
        this.pending.get(msg.id)?.(msg);
        this.pending.delete(msg.id);
      } else if (msg.ready) this.pending.get(0)?.(msg);
    });
  }

  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.set(0, () => resolve());
      void this.exited.then(() => reject(new Error(`instance ${this.name} exited before it was ready: ${this.stderr}`)));
    });
  }

  request(op: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.stdin!.write(`${JSON.stringify({ id, ...op })}\n`);
    });
  }

  async submit(user: string, seed: number, steps = 10): Promise<string> {
    const r = await this.request({ op: 'submit', user, seed, steps });
    if (typeof r.jobId !== 'string') throw new Error(`submit on ${this.name} failed: ${String(r.error)}`);
    return r.jobId;
  }

  /** SIGKILL: no clean shutdown, no lease handed back, BullMQ locks left to expire. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

export interface Cluster {
  redis: TestRedis;
  sims: Simulator[];
  store: JobStore;
  instances: Instance[];
  deliveries: Delivery[];
  dir: string;
  start(name: string): Promise<Instance>;
  job(id: string): Promise<JobRecord | undefined>;
  /** A connection to the cluster's Redis, for looking at its keys. */
  client: Redis;
  /** The instance holding a host's lease (null: none). */
  leaseOf(host: string): Promise<string | null>;
  /** Wait until the two hosts are driven by two different instances (the leases have settled). */
  oneHostEach(): Promise<void>;
  /** Jobs whose state is shown when a wait times out. */
  watch: string[];
  waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void>;
  /** Every prompt the hosts accepted, in order per host. */
  prompts(): string[];
  close(): Promise<void>;
}

export interface ClusterOptions {
  hosts: number;
  stepMs: number;
  lockMs?: number;
  leaseMs?: number;
  /** Limits every instance runs with, over instance-main.ts's defaults. */
  limits?: Partial<LimitsConfig>;
  parkMs?: number;
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const dir = tempDir('easel-scale-');
  // A private redis-server: the instances use the default namespace and BullMQ queue, which other
  // test files sharing CI's server must not see.
  const redis = await startKillableRedis();
  const sims: Simulator[] = [];
  for (let i = 0; i < opts.hosts; i++) sims.push(await startSimulator({ stepMs: opts.stepMs, previews: false, dataDir: join(dir, `sim-${i}`) }));
  const store = await JobStore.open({ redisUrl: redis.url });
  const client = new Redis(redis.url);
  const instances: Instance[] = [];
  const deliveries: Delivery[] = [];
  const cluster: Cluster = {
    redis,
    sims,
    store,
    instances,
    deliveries,
    dir,
    async start(name) {
      const setup = {
        dataDir: join(dir, name),
        imagesDir: join(dir, 'shared-images'),
        redisUrl: redis.url,
        hosts: sims.map((s, i) => ({ name: `gpu-${i + 1}`, url: s.url })),
        instanceId: name,
        lockMs: opts.lockMs ?? 2_000,
        leaseMs: opts.leaseMs ?? 1_500,
        limits: opts.limits,
        parkMs: opts.parkMs,
      };
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
        env: { ...process.env, EASEL_SCALE: JSON.stringify(setup), LOG_LEVEL: 'silent' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const inst = new Instance(name, child, deliveries);
      instances.push(inst);
      await inst.ready();
      return inst;
    },
    job: (id) => store.get(id),
    client,
    leaseOf: (host) => client.get(`easel:lease:host:${host}`),
    async oneHostEach() {
      const owners = async () => [await cluster.leaseOf('gpu-1'), await cluster.leaseOf('gpu-2')];
      await cluster.waitFor(async () => {
        const [one, two] = await owners();
        return one !== null && two !== null && one !== two;
      }, 10_000, 'one host each');
    },
    watch: [],
    async waitFor(pred, timeoutMs, what) {
      const until = Date.now() + timeoutMs;
      while (!(await pred())) {
        if (Date.now() > until) {
          const states = await Promise.all(cluster.watch.map(async (id) => `${id} ${JSON.stringify(await store.get(id))}`));
          throw new Error(`timed out waiting for ${what}\n${states.join('\n')}\n${instances.map((i) => `[${i.name}] ${i.stderr}`).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    prompts: () => sims.flatMap((s) => s.submittedPromptIds()),
    async close() {
      for (const i of instances) if (i.child.exitCode === null) i.child.kill('SIGKILL');
      await Promise.all(instances.map((i) => i.exited));
      client.disconnect();
      await store.close();
      for (const s of sims) await s.close();
      await redis.stop();
      removeDir(dir);
    },
  };
  return cluster;
}
