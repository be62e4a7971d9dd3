/**
 * Per-user host claims in Redis (limits.perUserRunning across instances), against a real redis-server:
 * the limit counts distinct hosts over every instance, two instances claiming at once never both get
 * past it, a released claim wakes the user's parked jobs, and an instance that died does not keep
 * its users' claims.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { UserHostClaims } from '../../../../src/jobs/distributed/user-host-claims.ts';
import { twoConnections } from './two-connections.ts';

describe('UserHostClaims', () => {
  const redis = twoConnections('claims-test');
  let a: UserHostClaims;
  let b: UserHostClaims;
  /** Instances announce themselves as host-leases.ts does: `<ns>:instances` id -> heartbeat expiry. */
  const alive = (id: string, ms = 60_000) => redis.one().zadd(`${redis.ns()}:instances`, Date.now() + ms, id);
  beforeEach(async () => {
    await alive('a');
    await alive('b');
    a = new UserHostClaims(redis.one(), redis.ns(), 'a');
    b = new UserHostClaims(redis.two(), redis.ns(), 'b');
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
    await alive('b', -1);
    expect(await a.claim('u', 'j2', 'gpu-1', 1)).toBeDefined();
    expect(await a.held('u')).toEqual({ j2: 'gpu-1' });
  });
});
