/**
 * Which instance drives which ComfyUI host. Each host is leased to one instance at a time
 * (`<ns>:lease:host:<name>` = instance id, expiring after `ttlMs` unless renewed), so two instances
 * never both fill one GPU's queue. Instances announce themselves in `<ns>:instances` (zset id ->
 * expiry), and each takes at most its share of the hosts (ceil(hosts / live instances)): a second
 * instance that starts gets half of them once the first lets the extra ones go. An instance that
 * dies stops renewing; its hosts pass to the others within `ttlMs`.
 *
 * Events: 'change' () whenever the set of hosts this instance holds changes.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface HostLeasesOptions {
  /** How long a lease (and an instance's heartbeat) lasts without renewal, ms. */
  ttlMs: number;
}

export class HostLeases extends EventEmitter {
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    readonly instanceId: string,
    private readonly hosts: string[],
    private readonly opts: HostLeasesOptions,
  ) {
    super();
    this.on('error', () => undefined);
  }

  /** Announce this instance and take its share of hosts; then keep renewing every ttl/3. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => {
      this.ticking ??= this.tick()
        .catch((err: unknown) => {
          this.emit('error', err);
        })
        .finally(() => (this.ticking = undefined));
    }, Math.max(50, Math.floor(this.opts.ttlMs / 3)));
    this.timer.unref?.();
  }

  owns(host: string): boolean {
    return this.held.has(host);
  }

  owned(): string[] {
    return [...this.held];
  }

  /** Is this instance (still) alive, i.e. has it renewed its heartbeat in time? */
  async isAlive(instanceId: string): Promise<boolean> {
    const score = await this.redis.zscore(this.instancesKey(), instanceId);
    return score !== null && Number(score) > Date.now();
  }

  /** Stop renewing and hand every host back at once (a clean shutdown: others take them now). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking?.catch(() => undefined);
    const held = [...this.held];
    this.held.clear();
    await Promise.allSettled([
      ...held.map((h) => this.redis.eval(RELEASE, 1, this.leaseKey(h), this.instanceId)),
      this.redis.zrem(this.instancesKey(), this.instanceId),
    ]);
    if (held.length > 0) this.emit('change');
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    const key = this.instancesKey();
    await this.redis.zadd(key, now + this.opts.ttlMs, this.instanceId);
    await this.redis.zremrangebyscore(key, '-inf', now);
    const instances = Math.max(1, await this.redis.zcard(key));
    const share = Math.ceil(this.hosts.length / instances);
    let changed = false;
    // Renew what we hold; a lease lost meanwhile (e.g. we stalled past its ttl) is dropped.
    for (const h of [...this.held]) {
      const ok = await this.redis.eval(RENEW, 1, this.leaseKey(h), this.instanceId, String(this.opts.ttlMs));
      if (ok !== 1) {
        this.held.delete(h);
        changed = true;
      }
    }
    // More than our share (another instance joined): let the extra ones go, last taken first.
    while (this.held.size > share) {
      const h = [...this.held].pop()!;
      await this.redis.eval(RELEASE, 1, this.leaseKey(h), this.instanceId);
      this.held.delete(h);
      changed = true;
    }
    // Fewer than our share: take free hosts (never one another live instance holds).
    for (const h of this.hosts) {
      if (this.held.size >= share || this.stopped) break;
      if (this.held.has(h)) continue;
      const got = await this.redis.set(this.leaseKey(h), this.instanceId, 'PX', this.opts.ttlMs, 'NX');
      if (got === 'OK') {
        this.held.add(h);
        changed = true;
      }
    }
    if (changed && !this.stopped) this.emit('change');
  }

  private leaseKey(host: string): string {
    return `${this.ns}:lease:host:${host}`;
  }

  private instancesKey(): string {
    return `${this.ns}:instances`;
  }
}
