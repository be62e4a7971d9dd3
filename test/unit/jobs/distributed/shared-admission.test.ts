/**
 * Limits for several instances are decided in Redis atomically: two instances (two connections)
 * admitting at once never get past the queue cap or a user's waiting limit, and the priority they
 * hand to BullMQ makes the line round-robin by user.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../../../src/commands/errors.ts';
import { SharedAdmission } from '../../../../src/jobs/distributed/shared-admission.ts';
import { twoConnections } from './two-connections.ts';

const open = { queueCap: 0, perUserWaiting: 0, cooldownSeconds: 0 };

describe('SharedAdmission', () => {
  const redis = twoConnections('admission-test');
  let a: SharedAdmission;
  let b: SharedAdmission;
  beforeEach(() => {
    a = new SharedAdmission(redis.one(), redis.ns());
    b = new SharedAdmission(redis.two(), redis.ns());
  });

  const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as UserError).code : 'ok');

  it('never lets concurrent admissions from two instances past a user waiting limit', async () => {
    const limits = { ...open, perUserWaiting: 3 };
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).admit(`job-${i}`, 'discord:u1', limits)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(new Set(results.map(codeOf))).toEqual(new Set(['ok', 'too_many_jobs']));
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as Error).message).toMatch(/You already have 3 jobs waiting \(the limit is 3\)/);
    // Taking one out of line (a worker starts it) makes room for exactly one more.
    const admitted = results.flatMap((r, i) => (r.status === 'fulfilled' ? [`job-${i}`] : []));
    expect(await a.take(admitted[0])).toBe('fresh');
    await expect(b.admit('late-1', 'discord:u1', limits)).resolves.toBeDefined();
    await expect(a.admit('late-2', 'discord:u1', limits)).rejects.toMatchObject({ code: 'too_many_jobs' });
  });

  it('never lets concurrent admissions past the queue cap', async () => {
    const limits = { ...open, queueCap: 5 };
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).admit(`job-${i}`, `discord:u${i}`, limits)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    expect(results.filter((r) => codeOf(r) === 'queue_full')).toHaveLength(15);
    expect(await a.waitingCount()).toBe(5);
  });

  it('applies the cooldown across instances', async () => {
    const limits = { ...open, cooldownSeconds: 30 };
    await a.admit('first', 'slack:u1', limits);
    await expect(b.admit('second', 'slack:u1', limits)).rejects.toThrow(/Please wait (30|29) seconds/);
    await expect(b.admit('other', 'slack:u2', limits)).resolves.toBeDefined();
  });

  it('gives round-robin priorities: everyone’s first job before anyone’s second', async () => {
    const p = async (id: string, user: string) => (await a.admit(id, user, open)).priority;
    expect([await p('x1', 'x'), await p('x2', 'x'), await p('x3', 'x'), await p('y1', 'y'), await p('y2', 'y')]).toEqual([1, 2, 3, 1, 2]);
    // A finished job no longer counts: x's next job is again behind only x's two still active ones.
    expect(await a.take('x1')).toBe('fresh');
    await a.finish('x1');
    await a.finish('x1'); // counted once, whoever reports it
    expect(await p('x4', 'x')).toBe(3);
  });

  it('a job cancelled in line is never started by a worker, and a stalled one is resumed', async () => {
    await a.admit('c1', 'u', open);
    await a.admit('r1', 'u', open);
    expect(await b.cancelWaiting('c1')).toBe(true);
    expect(await a.take('c1')).toBe('cancelled');
    expect(await a.take('r1')).toBe('fresh');
    // Handed out again after its worker died: resumed, not counted twice.
    expect(await b.take('r1')).toBe('resume');
    expect(await a.cancelWaiting('r1')).toBe(false);
    expect(await a.waitingCount()).toBe(0);
  });
});
