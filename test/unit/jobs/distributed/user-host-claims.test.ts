/**
 * Per-user host claims in Redis (limits.perUserRunning across instances), against a real redis-server:
 * the limit counts distinct hosts over every instance, two instances claiming at once never both get
 * past it, a released claim wakes the user's parked jobs, and an instance that died does not keep
 * its users' claims.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UserHostClaims } from '../../../../src/jobs/distributed/user-host-claims.ts';
import { startTestRedis, type TestRedis } from '../redis-fixture.ts';

describe('UserHostClaims', () => {
  let redis: TestRedis;
  let one: Redis;
  let two: Redis;
  let a: UserHostClaims;
  let b: UserHostClaims;

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
  /** A namespace of its own for each test: other test files may share this Redis (CI's server). */
  let ns = '';
  /** Instances announce themselves as host-leases.ts does: `<ns>:instances` id -> heartbeat expiry. */
  const alive = (id: string, ms = 60_000) => one.zadd(`${ns}:instances`, Date.now() + ms, id);
  beforeEach(async () => {
    ns = `claims-test-${randomUUID().slice(0, 8)}`;
    await alive('a');
    await alive('b');
    a = new UserHostClaims(one, ns, 'a');
    b = new UserHostClaims(two, ns, 'b');
  });

  it('with a limit of 1: a second host is refused, the same host is not', async () => {
    expect(await a.claim('u', 'j1', 'gpu-1', 1)).toBeDefined();
    expect(await b.claim('u', 'j2', 'gpu-2', 1)).toBeUndefined();
    // Waiting behind its own job on the same GPU holds no second GPU.
    expect(await a.claim('u', 'j3', 'gpu-1', 1)).toBeDefined();
    // Someone else is not limited by it.
    expect(await b.claim('v', 'j4', 'gpu-2', 1)).toBeDefined();
    expect(await a.held('u')).toEqual({ j1: 'gpu-1', j3: 'gpu-1' });
  });

  it('a limit of 2 allows two hosts, not three', async () => {
    expect(await a.claim('u', 'j1', 'gpu-1', 2)).toBeDefined();
    expect(await b.claim('u', 'j2', 'gpu-2', 2)).toBeDefined();
    expect(await b.claim('u', 'j3', 'gpu-3', 2)).toBeUndefined();
  });

  it('two instances claiming different hosts at the same moment: exactly one gets a host', async () => {
    for (let round = 0; round < 20; round++) {
      const user = `racer-${round}`;
      const got = await Promise.all([a.claim(user, `x${round}`, 'gpu-1', 1), b.claim(user, `y${round}`, 'gpu-2', 1)]);
      expect(got.filter(Boolean)).toHaveLength(1);
    }
  });

  it('releasing a claim frees the host for the user and hands back the jobs parked meanwhile', async () => {
    const first = (await a.claim('u', 'j1', 'gpu-1', 1))!;
    expect(await b.claim('u', 'j2', 'gpu-2', 1)).toBeUndefined();
    expect(await b.parkIfBusy('u', 'j3', ['gpu-2'], 1)).toBe(true);
    // An instance that drives the user's host may take it: it would wait behind the first job there.
    expect(await a.parkIfBusy('u', 'j4', ['gpu-1'], 1)).toBe(false);
    expect((await a.release(first)).sort()).toEqual(['j2', 'j3']);
    expect(await b.claim('u', 'j2', 'gpu-2', 1)).toBeDefined();
    expect(await b.parkIfBusy('u', 'j3', ['gpu-3'], 1)).toBe(true);
  });

  it('a late release of an earlier claim does not drop the same job’s newer claim', async () => {
    const old = (await a.claim('u', 'j1', 'gpu-1', 1))!;
    // The job failed over to another host and claimed it before the old release arrived.
    const fresh = (await b.claim('u', 'j1', 'gpu-2', 1))!;
    expect(fresh).toBeDefined();
    await a.release(old);
    expect(await a.held('u')).toEqual({ j1: 'gpu-2' });
    expect(await a.claim('u', 'j2', 'gpu-1', 1)).toBeUndefined();
  });

  it('claims of an instance whose heartbeat lapsed no longer count', async () => {
    expect(await b.claim('u', 'j1', 'gpu-2', 1)).toBeDefined();
    expect(await a.claim('u', 'j2', 'gpu-1', 1)).toBeUndefined();
    // b died: its heartbeat is past (host-leases.ts stops renewing it).
    await one.zadd(`${ns}:instances`, Date.now() - 1, 'b');
    expect(await a.claim('u', 'j2', 'gpu-1', 1)).toBeDefined();
    expect(await a.held('u')).toEqual({ j2: 'gpu-1' });
  });
});
