/**
 * For unit tests of the Redis scripts several instances run: a test Redis for the file, two
 * connections to it (as two instances have), and a fresh key namespace for each test, since other
 * test files may share the same server (CI's). Call it inside the describe block, before its own hooks.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startTestRedis, type TestRedis } from '../redis-fixture.ts';

export interface TwoConnections {
  /** The first instance's connection. */
  one(): Redis;
  /** The second instance's connection. */
  two(): Redis;
  /** This test's key namespace. */
  ns(): string;
}

export function twoConnections(prefix: string): TwoConnections {
  let redis: TestRedis | undefined;
  let one: Redis | undefined;
  let two: Redis | undefined;
  let ns = '';
  beforeAll(async () => {
    redis = await startTestRedis();
    one = new Redis(redis.url);
    two = new Redis(redis.url);
  });
  afterAll(async () => {
    one?.disconnect();
    two?.disconnect();
    await redis?.stop();
  });
  beforeEach(() => {
    ns = `${prefix}-${randomUUID().slice(0, 8)}`;
  });
  return { one: () => one!, two: () => two!, ns: () => ns };
}
