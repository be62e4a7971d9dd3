/**
 * The ComfyUI hosts Easel may use: one ComfyClient each (with that host's own auth), health checks,
 * a circuit breaker per host, and slot accounting.
 *
 * Slots: a host holds at most `depth` jobs at once (default 2): one running and one already queued
 * on the host behind it, so the GPU goes straight to the next prompt while Easel still owns the
 * order of everything else.
 *
 * Events:
 *  - 'host-up' (name, catalogue: NodeCatalogue): connected or reconnected, node definitions fetched
 *    fresh (re-validate presets here: a restarted host may have other models).
 *  - 'host-down' (name, reason): the connection was lost or the host keeps failing.
 *  - 'change' (): a host became usable again or a slot freed; schedulers should look for work.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { HostStatus } from '../app/types.ts';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.ts';
import { ComfyClient, type ComfyClientOptions } from './client.ts';
import type { NodeCatalogue } from './node-catalogue.ts';
import type { HostConfig, SystemStats } from './types.ts';

export interface HostPoolOptions {
  /** Options for every host's ComfyClient. giveUpMs defaults to unreachableGraceMs here. */
  client?: ComfyClientOptions;
  /**
   * How long prompts in flight on a host that cannot be reached are waited for before they are given
   * up (their jobs go back in line, e.g. to an idle healthy host), ms (default 6000). Counted from the
   * first failed attempt to reach the host, i.e. about when 'host-down' is announced. Nothing runs
   * twice: the job service checks the old host's history and removes the abandoned prompt there if the
   * host comes back. Used as the clients' giveUpMs unless `client.giveUpMs` is set.
   */
  unreachableGraceMs?: number;
  /** Jobs one host holds at once: the running one plus (depth - 1) queued behind it (default 2). */
  depth?: number;
  /** How often to check hosts, ms (default 5000). */
  healthIntervalMs?: number;
  breaker?: CircuitBreakerOptions;
  /** How long start() waits for hosts to connect before carrying on without them, ms (default 10 000). */
  startTimeoutMs?: number;
  logger?: Logger;
  /** For tests: build the client of a host. */
  createClient?: (host: HostConfig, opts: ComfyClientOptions) => ComfyClient;
}

interface HostEntry {
  config: HostConfig;
  client: ComfyClient;
  breaker: CircuitBreaker;
  catalogue?: NodeCatalogue;
  stats?: SystemStats;
  statsAt?: number;
  /** The host's own /system_stats says it is a simulator (whatever its config says). */
  reportsSimulated?: boolean;
  queueRemaining?: number;
  /** Job ids holding a slot. */
  slots: Set<string>;
  running?: string;
  /** A refresh (catalogue + stats) is under way. */
  refreshing?: Promise<void>;
  everUp: boolean;
}

const STATS_EVERY_MS = 60_000;
const DEFAULT_UNREACHABLE_GRACE_MS = 6_000;

/**
 * Does a host's /system_stats say it is a simulator rather than a GPU? Easel's simulator reports
 * pytorch_version "none (simulated)" and a device named "... (simulated, no GPU)".
 */
export function statsSaySimulated(stats: SystemStats): boolean {
  if (stats.pytorchVersion && /\bsimulated\b/i.test(stats.pytorchVersion)) return true;
  return stats.devices.some((d) => /\bsimulated\b/i.test(d.name));
}

export class HostPool extends EventEmitter {
  readonly depth: number;
  private readonly entries = new Map<string, HostEntry>();
  private readonly logger?: Logger;
  private readonly healthIntervalMs: number;
  private readonly startTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(hosts: HostConfig[], opts: HostPoolOptions = {}) {
    super();
    this.depth = Math.max(1, Math.floor(opts.depth ?? 2));
    this.logger = opts.logger;
    this.healthIntervalMs = Math.max(50, opts.healthIntervalMs ?? 5_000);
    this.startTimeoutMs = opts.startTimeoutMs ?? 10_000;
    const grace = opts.unreachableGraceMs ?? DEFAULT_UNREACHABLE_GRACE_MS;
    const clientOpts: ComfyClientOptions = { ...opts.client, giveUpMs: opts.client?.giveUpMs ?? grace };
    const make = opts.createClient ?? ((h: HostConfig, o: ComfyClientOptions) => new ComfyClient(h, o));
    for (const host of hosts) {
      if (this.entries.has(host.name)) throw new Error(`two ComfyUI hosts are called "${host.name}": host names must be unique`);
      const client = make(host, clientOpts);
      const entry: HostEntry = { config: host, client, breaker: new CircuitBreaker(opts.breaker), slots: new Set(), everUp: false };
      this.entries.set(host.name, entry);
      client.on('up', () => this.onUp(entry));
      client.on('down', (reason: string) => this.onDown(entry, reason));
      client.on('status', (n: number) => {
        entry.queueRemaining = n;
      });
    }
    // Listeners are optional; an EventEmitter without one would throw on 'error'.
    this.on('error', () => undefined);
  }

  /** Connect every host. Resolves once each host is up or has failed its first attempt (it keeps retrying). */
  async start(): Promise<void> {
    const attempts = [...this.entries.values()].map(async (e) => {
      try {
        const announced = new Promise<void>((resolve) => {
          const settle = (name: string) => {
            if (name !== e.config.name) return;
            this.off('host-up', settle);
            this.off('refresh-failed', settle);
            resolve();
          };
          this.on('host-up', settle);
          this.on('refresh-failed', settle);
        });
        await e.client.connect();
        // The client says 'up' after reconciling; onUp then reads the catalogue and announces the host.
        await announced;
      } catch (err) {
        e.breaker.failure((err as Error).message);
        this.logger?.warn({ host: e.config.name, err: (err as Error).message }, `ComfyUI host ${e.config.name} is not reachable yet`);
      }
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(attempts),
      new Promise((r) => {
        timer = setTimeout(r, this.startTimeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
    this.timer = setInterval(() => void this.healthTick(), this.healthIntervalMs);
    this.timer.unref?.();
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  hosts(): HostConfig[] {
    return [...this.entries.values()].map((e) => e.config);
  }

  clients(): ComfyClient[] {
    return [...this.entries.values()].map((e) => e.client);
  }

  client(name: string): ComfyClient | undefined {
    return this.entries.get(name)?.client;
  }

  config(name: string): HostConfig | undefined {
    return this.entries.get(name)?.config;
  }

  /** A simulator, not a GPU: configured as one, or its /system_stats says so. */
  isSimulated(name: string): boolean {
    const e = this.entries.get(name);
    return !!e && (!!e.config.simulated || !!e.reportsSimulated);
  }

  catalogue(name: string): NodeCatalogue | undefined {
    return this.entries.get(name)?.catalogue;
  }

  /** Connected, node definitions known, breaker closed: jobs may go there. */
  isAvailable(name: string): boolean {
    const e = this.entries.get(name);
    return !!e && !this.closed && e.client.connected && !!e.catalogue && e.breaker.isClosed;
  }

  /** Names of available hosts. */
  available(): string[] {
    return this.names().filter((n) => this.isAvailable(n));
  }

  /** Jobs holding a slot on the host. */
  load(name: string): number {
    return this.entries.get(name)?.slots.size ?? 0;
  }

  hasRoom(name: string): boolean {
    return this.isAvailable(name) && this.load(name) < this.depth;
  }

  acquire(name: string, jobId: string): void {
    const e = this.entries.get(name);
    if (!e) throw new Error(`no ComfyUI host called "${name}"`);
    e.slots.add(jobId);
  }

  release(name: string, jobId: string): void {
    const e = this.entries.get(name);
    if (e?.slots.delete(jobId)) {
      if (e.running === jobId) e.running = undefined;
      this.emit('change');
    }
  }

  /** Which job the host is running now (for status pages). */
  noteRunning(name: string, jobId: string | undefined): void {
    const e = this.entries.get(name);
    if (e) e.running = jobId;
  }

  /** A call to the host failed in a way that says the host is unwell (unreachable, 5xx). */
  reportFailure(name: string, reason: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    const wasClosed = e.breaker.isClosed;
    e.breaker.failure(reason);
    if (wasClosed) {
      this.logger?.warn({ host: name, reason }, `ComfyUI host ${name} is failing; pausing new work for it`);
      this.emit('host-down', name, reason);
    }
  }

  reportSuccess(name: string): void {
    const e = this.entries.get(name);
    if (!e || e.breaker.isClosed) return;
    e.breaker.success();
    this.emit('change');
  }

  breakerState(name: string): string | undefined {
    return this.entries.get(name)?.breaker.state;
  }

  status(): Array<Omit<HostStatus, 'disabledPresets'> & { disabledPresets: HostStatus['disabledPresets']; load: number; breaker: string; lastError?: string }> {
    return [...this.entries.values()].map((e) => {
      const device = e.stats?.devices[0];
      return {
        name: e.config.name,
        simulated: !!e.config.simulated || !!e.reportsSimulated,
        up: this.isAvailable(e.config.name),
        version: e.stats?.comfyuiVersion,
        vramTotal: device?.vramTotal,
        vramFree: device?.vramFree,
        queueRemaining: e.queueRemaining,
        running: e.running,
        disabledPresets: [],
        load: e.slots.size,
        breaker: e.breaker.state,
        lastError: e.breaker.lastReason,
      };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.entries.values()].map((e) => e.client.close()));
    this.removeAllListeners();
  }

  // ---------------------------------------------------------------- internals

  private onUp(e: HostEntry): void {
    if (this.closed) return;
    e.catalogue = undefined; // re-read: a restarted host may have other nodes and models
    void this.refresh(e).catch(() => undefined);
  }

  private onDown(e: HostEntry, reason: string): void {
    if (this.closed) return;
    const wasClosed = e.breaker.isClosed;
    e.breaker.failure(reason);
    e.queueRemaining = undefined;
    if (wasClosed) {
      this.logger?.warn({ host: e.config.name, reason }, `ComfyUI host ${e.config.name} went down`);
      this.emit('host-down', e.config.name, reason);
    }
  }

  private noteStats(e: HostEntry, stats: SystemStats): void {
    e.stats = stats;
    e.statsAt = Date.now();
    const simulated = statsSaySimulated(stats);
    if (simulated && !e.reportsSimulated && !e.config.simulated) {
      this.logger?.info({ host: e.config.name }, `ComfyUI host ${e.config.name} reports itself as a simulator; its results are labelled simulated`);
    }
    e.reportsSimulated = simulated;
  }

  /** Fetch node definitions (and stats), then close the breaker and announce the host. */
  private refresh(e: HostEntry): Promise<void> {
    if (e.refreshing) return e.refreshing;
    const p = (async () => {
      try {
        const catalogue = await e.client.objectInfo({ refresh: true });
        try {
          this.noteStats(e, await e.client.systemStats());
        } catch {
          /* stats are nice to have */
        }
        if (this.closed) return;
        e.catalogue = catalogue;
        e.breaker.success();
        e.everUp = true;
        this.logger?.info({ host: e.config.name, version: e.stats?.comfyuiVersion }, `ComfyUI host ${e.config.name} is up`);
        this.emit('host-up', e.config.name, catalogue);
        this.emit('change');
      } catch (err) {
        e.breaker.failure((err as Error).message);
        this.logger?.warn({ host: e.config.name, err: (err as Error).message }, `cannot read node definitions of ${e.config.name}`);
        this.emit('refresh-failed', e.config.name);
        throw err;
      }
    })();
    e.refreshing = p;
    p.finally(() => {
      if (e.refreshing === p) e.refreshing = undefined;
    }).catch(() => undefined);
    return p;
  }

  private async healthTick(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled(
      [...this.entries.values()].map(async (e) => {
        if (!e.client.connected || e.refreshing) return; // the client reconnects on its own, with backoff
        if (!e.catalogue || !e.breaker.isClosed) {
          if (!e.breaker.tryProbe()) return;
          await this.refresh(e);
          return;
        }
        try {
          e.queueRemaining = await e.client.queueRemaining();
          if (!e.statsAt || Date.now() - e.statsAt > STATS_EVERY_MS) {
            this.noteStats(e, await e.client.systemStats());
          }
        } catch (err) {
          this.reportFailure(e.config.name, (err as Error).message);
        }
      }),
    );
  }
}
