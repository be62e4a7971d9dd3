/**
 * KeyClaims shared by every instance on one Redis: a claim is `SET key 1 PX ttl NX`, so exactly one
 * instance wins it, and it is forgotten after the ttl by Redis itself. Keys live under
 * `<ns>:recent:<name>:`. If Redis cannot be reached the claim falls back to this process's memory
 * (a repeat may then slip through on another instance, but nothing is refused).
 */
import type { Redis } from 'ioredis';
import { RecentKeys, type KeyClaims, type KeyClaimsFactory } from './recent-keys.ts';

export class RedisRecentKeys implements KeyClaims {
  private readonly fallback: RecentKeys;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {
    this.fallback = new RecentKeys(ttlMs);
  }

  async claim(key: string): Promise<boolean> {
    try {
      return (await this.redis.set(this.prefix + key, '1', 'PX', Math.max(1, Math.round(this.ttlMs)), 'NX')) === 'OK';
    } catch {
      return this.fallback.claim(key);
    }
  }

  async release(key: string): Promise<void> {
    this.fallback.release(key);
    await this.redis.del(this.prefix + key).catch(() => undefined);
  }
}

export function redisKeyClaims(redis: Redis, ns = 'easel'): KeyClaimsFactory {
  return (name, ttlMs) => new RedisRecentKeys(redis, `${ns}:recent:${name}:`, ttlMs);
}
