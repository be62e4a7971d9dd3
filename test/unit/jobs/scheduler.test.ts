import { describe, expect, it } from 'vitest';
import { FairScheduler, actorKeys, type QueueEntry, type SchedulerLimits } from '../../../src/jobs/scheduler.ts';
import { UserError } from '../../../src/commands/errors.ts';

const open: SchedulerLimits = { queueCap: 1000, perUserWaiting: 1000, perUserRunning: 1000, cooldownSeconds: 0 };

function entry(jobId: string, user: string, server = 'g1', channel = 'c1', preset = 'restyle'): Omit<QueueEntry, 'seq'> {
  return { jobId, userKey: user, groupKey: server, channelKey: channel, preset };
}

function drain(s: FairScheduler, host = 'gpu-1'): string[] {
  const out: string[] = [];
  for (let e = s.next(host); e; e = s.next(host)) {
    out.push(e.jobId);
    s.finished(e.jobId);
  }
  return out;
}

function userError(fn: () => void): UserError {
  try {
    fn();
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('expected a UserError');
}

describe('FairScheduler order', () => {
  it('serves users in turn instead of first-come-first-served', () => {
    const s = new FairScheduler(open);
    for (let i = 1; i <= 4; i++) s.push(entry(`a${i}`, 'A'));
    s.push(entry('b1', 'B'));
    s.push(entry('b2', 'B'));
    s.push(entry('c1', 'C'));
    expect(drain(s)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('starts a newcomer within one slot of a user with 20 queued', () => {
    const s = new FairScheduler(open);
    for (let i = 1; i <= 20; i++) s.push(entry(`a${i}`, 'A'));
    // Two of A's jobs already went out (one running, one waiting on the host).
    const first = s.next('gpu-1')!;
    s.next('gpu-1');
    s.push(entry('b1', 'B'));
    s.finished(first.jobId);
    expect(s.next('gpu-1')!.jobId).toBe('b1');
  });

  it('projects the same order it will serve, with 1-based positions', () => {
    const s = new FairScheduler(open);
    s.push(entry('a1', 'A'));
    s.push(entry('a2', 'A'));
    s.push(entry('b1', 'B'));
    expect(s.projectedOrder().map((e) => e.jobId)).toEqual(['a1', 'b1', 'a2']);
    expect(s.positions().get('a2')).toBe(3);
    expect(drain(s)).toEqual(['a1', 'b1', 'a2']);
  });

  it('remembers who was served: a user back after a break goes before a busy user', () => {
    const s = new FairScheduler(open);
    s.push(entry('b1', 'B'));
    s.push(entry('a1', 'A'));
    s.push(entry('a2', 'A'));
    s.push(entry('a3', 'A'));
    expect(drain(s).slice(0, 2)).toEqual(['b1', 'a1']);
    s.push(entry('a4', 'A'));
    s.push(entry('b2', 'B')); // B was served before A's last job
    s.push(entry('a5', 'A'));
    expect(s.next('gpu-1')!.jobId).toBe('b2');
  });

  it('between users never served, alternates servers, then channels', () => {
    const s = new FairScheduler(open);
    s.push(entry('x1', 'U1', 'serverX', 'c1'));
    s.push(entry('x2', 'U2', 'serverX', 'c1'));
    s.push(entry('y1', 'U3', 'serverY', 'c9'));
    expect(drain(s)).toEqual(['x1', 'y1', 'x2']);

    const t = new FairScheduler(open);
    t.push(entry('p1', 'U1', 'g', 'chanP'));
    t.push(entry('p2', 'U2', 'g', 'chanP'));
    t.push(entry('q1', 'U3', 'g', 'chanQ'));
    // Same server for all: the channel not served yet goes first.
    expect(t.next('h')!.jobId).toBe('p1');
    expect(t.next('h')!.jobId).toBe('q1');
  });

  it('passes over jobs that do not fit the host without losing their place', () => {
    const s = new FairScheduler(open);
    s.push(entry('a1', 'A', 'g', 'c', 'upscale'));
    s.push(entry('a2', 'A', 'g', 'c', 'restyle'));
    s.push(entry('b1', 'B', 'g', 'c', 'upscale'));
    const onlyRestyle = (e: QueueEntry) => e.preset === 'restyle';
    expect(s.next('small-gpu', onlyRestyle)!.jobId).toBe('a2');
    expect(s.next('small-gpu', onlyRestyle)).toBeUndefined();
    expect(s.projectedOrder().map((e) => e.jobId)).toEqual(['b1', 'a1']);
  });

  it('puts a job sent back by a failed host at the front of its user line', () => {
    const s = new FairScheduler(open);
    s.push(entry('a1', 'A'));
    s.push(entry('a2', 'A'));
    const out = s.next('gpu-1')!;
    s.finished(out.jobId);
    s.push(entry('a1', 'A'), { front: true });
    expect(drain(s)).toEqual(['a1', 'a2']);
  });

  it('cancel removes a waiting job and its user line', () => {
    const s = new FairScheduler(open);
    s.push(entry('a1', 'A'));
    s.push(entry('b1', 'B'));
    expect(s.remove('a1')?.jobId).toBe('a1');
    expect(s.remove('a1')).toBeUndefined();
    expect(s.waitingOf('A')).toBe(0);
    expect(drain(s)).toEqual(['b1']);
  });

  it('refuses to schedule the same job twice', () => {
    const s = new FairScheduler(open);
    s.push(entry('a1', 'A'));
    expect(() => s.push(entry('a1', 'A'))).toThrow(/already scheduled/);
    s.next('h');
    expect(() => s.push(entry('a1', 'A'))).toThrow(/already scheduled/);
  });
});

describe('FairScheduler limits', () => {
  it('says the queue is full at the global cap, and nothing is queued', () => {
    const s = new FairScheduler({ ...open, queueCap: 3 });
    for (const id of ['a1', 'b1', 'c1']) {
      s.admit(id[0], 0);
      s.push(entry(id, id[0]));
    }
    const err = userError(() => s.admit('D', 0));
    expect(err.code).toBe('queue_full');
    expect(err.message).toMatch(/queue is full \(3 jobs waiting\)/);
    expect(s.waitingCount).toBe(3);
    // Once one starts there is room again.
    s.next('h');
    expect(() => s.admit('D', 0)).not.toThrow();
  });

  it('limits waiting jobs per user, not per everyone', () => {
    const s = new FairScheduler({ ...open, perUserWaiting: 2 });
    s.push(entry('a1', 'A'));
    s.push(entry('a2', 'A'));
    const err = userError(() => s.admit('A', 0));
    expect(err.code).toBe('too_many_jobs');
    expect(err.message).toMatch(/2 jobs waiting \(the limit is 2\)/);
    expect(() => s.admit('B', 0)).not.toThrow();
  });

  it('applies the cooldown between one user\u2019s submissions and says how long to wait', () => {
    const s = new FairScheduler({ ...open, cooldownSeconds: 10 });
    s.admit('A', 1_000);
    const err = userError(() => s.admit('A', 4_500));
    expect(err.code).toBe('cooldown');
    expect(err.message).toMatch(/wait 7 seconds/);
    expect(() => s.admit('B', 4_500)).not.toThrow();
    expect(() => s.admit('A', 11_000)).not.toThrow();
  });

  it('treats 0 as no limit', () => {
    const s = new FairScheduler({ queueCap: 0, perUserWaiting: 0, perUserRunning: 0, cooldownSeconds: 0 });
    for (let i = 0; i < 50; i++) {
      s.admit('A', i);
      s.push(entry(`a${i}`, 'A'));
    }
    expect(s.waitingCount).toBe(50);
  });

  it('perUserRunning limits how many hosts run one user\u2019s jobs, not the job waiting behind on the same host', () => {
    const s = new FairScheduler({ ...open, perUserRunning: 1 });
    for (let i = 1; i <= 4; i++) s.push(entry(`a${i}`, 'A'));
    s.push(entry('b1', 'B'));
    expect(s.next('gpu-1')!.jobId).toBe('a1');
    // gpu-2 may not take A's work while A is on gpu-1; B's job goes there instead.
    expect(s.next('gpu-2')!.jobId).toBe('b1');
    expect(s.next('gpu-2')).toBeUndefined();
    // A's next job may wait behind its running one on gpu-1.
    expect(s.next('gpu-1')!.jobId).toBe('a2');
    expect(s.runningOf('A')).toBe(2);
    s.finished('a1');
    s.finished('a2');
    expect(s.next('gpu-2')!.jobId).toBe('a3');
  });
});

describe('actorKeys', () => {
  it('groups by server when there is one, else by channel; users are per platform', () => {
    expect(actorKeys({ platform: 'discord', userId: 'u', channelId: 'c', serverId: 'g' })).toEqual({
      userKey: 'discord:u',
      groupKey: 'discord:s:g',
      channelKey: 'discord:c:c',
    });
    expect(actorKeys({ platform: 'slack', userId: 'u', channelId: 'D1' }).groupKey).toBe('slack:c:D1');
  });
});
