/**
 * Admission and fairness for several instances, kept in Redis and changed only by Lua scripts, so two
 * instances admitting at the same moment can never both squeeze past a limit.
 *
 * Fairness: round-robin by user through BullMQ's job priority. A job's priority is 1 + the number of
 * that user's jobs still waiting or running when it was admitted (lower runs first; BullMQ keeps
 * arrival order within one priority). So everyone's first job goes before anyone's second, and so on.
 * Why not BullMQ groups: group round-robin is a BullMQ Pro (paid) feature; priorities are in the free
 * BullMQ and give the same order for the usual case. What they cannot do, unlike the embedded
 * scheduler, is re-order jobs already waiting (e.g. by server or channel on ties).
 *
 * Keys (prefix `<ns>:q:`): waiting (zset jobId -> priority-major, arrival-minor score), user-waiting
 * and user-active (hash user -> count), job-user (hash jobId -> user), seq (arrival counter),
 * cooldown:<user> (PX key), cancelled:<jobId> (marker, 1 day).
 */
import type { Redis } from 'ioredis';
import { UserError } from '../../commands/errors.ts';
import type { LimitsConfig } from '../../config/types.ts';

const ADMIT = `
local waiting = redis.call('ZCARD', KEYS[1])
local cap = tonumber(ARGV[3])
if cap > 0 and waiting >= cap then return {'queue_full', waiting} end
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
local per = tonumber(ARGV[4])
if per > 0 and mine >= per then return {'too_many_jobs', mine} end
local cd = tonumber(ARGV[5])
if cd > 0 then
  local ttl = redis.call('PTTL', KEYS[5])
  if ttl > 0 then return {'cooldown', ttl} end
  redis.call('SET', KEYS[5], '1', 'PX', cd)
end
local priority = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('HSET', KEYS[6], ARGV[1], ARGV[2])
local seq = redis.call('INCR', KEYS[4]) % 1000000000
local score = priority * 1000000000 + seq
redis.call('ZADD', KEYS[1], score, ARGV[1])
return {'ok', priority, redis.call('ZCOUNT', KEYS[1], '-inf', score)}
`;

/** A worker starts a job: fresh from the line, cancelled meanwhile, or resumed after its worker died. */
const TAKE = `
if redis.call('EXISTS', KEYS[4]) == 1 then return 'cancelled' end
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then
  local user = redis.call('HGET', KEYS[3], ARGV[1])
  if user and redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then redis.call('HDEL', KEYS[2], user) end
  return 'fresh'
end
return 'resume'
`;

/** Take a job out of line before any worker got it. 1 = it was waiting (now cancelled), 0 = too late. */
const CANCEL_WAITING = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local user = redis.call('HGET', KEYS[3], ARGV[1])
if user then
  if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then redis.call('HDEL', KEYS[2], user) end
  if redis.call('HINCRBY', KEYS[4], user, -1) <= 0 then redis.call('HDEL', KEYS[4], user) end
  redis.call('HDEL', KEYS[3], ARGV[1])
end
redis.call('SET', KEYS[5], '1', 'EX', 86400)
return 1
`;

/**
 * A taken job goes back in line (parked: its user runs on enough hosts elsewhere). It counts as waiting
 * again (queue cap, per-user waiting), so the next TAKE finds it fresh; its place among the user's
 * jobs is kept by BullMQ's priority, the score here only counts places.
 */
const PARK = `
local user = redis.call('HGET', KEYS[3], ARGV[1])
if not user or redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local active = tonumber(redis.call('HGET', KEYS[4], user) or '1')
local seq = redis.call('INCR', KEYS[5]) % 1000000000
redis.call('ZADD', KEYS[1], active * 1000000000 + seq, ARGV[1])
redis.call('HINCRBY', KEYS[2], user, 1)
return 1
`;

/** A job ended: it no longer counts towards its user's priority. Counted once, whoever calls. */
const FINISH = `
local user = redis.call('HGET', KEYS[2], ARGV[1])
if not user then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HINCRBY', KEYS[1], user, -1) <= 0 then redis.call('HDEL', KEYS[1], user) end
return 1
`;

/** The same questions as ADMIT, changing nothing: would this user be refused right now? */
const CHECK = `
local cap = tonumber(ARGV[2])
if cap > 0 then
  local waiting = redis.call('ZCARD', KEYS[1])
  if waiting >= cap then return {'queue_full', waiting} end
end
local per = tonumber(ARGV[3])
if per > 0 then
  local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  if mine >= per then return {'too_many_jobs', mine} end
end
if tonumber(ARGV[4]) > 0 then
  local ttl = redis.call('PTTL', KEYS[3])
  if ttl > 0 then return {'cooldown', ttl} end
end
return {'ok', 0}
`;

export type Take = 'fresh' | 'cancelled' | 'resume';

type Limits = Pick<LimitsConfig, 'queueCap' | 'perUserWaiting' | 'cooldownSeconds'>;

/** Throw the UserError for a refusal verdict of ADMIT or CHECK (the same words as the embedded scheduler). */
function refuse(verdict: string, n: number, limits: Limits): void {
  if (verdict === 'queue_full') {
    throw new UserError('queue_full', `The queue is full (${plural(n, 'job')} waiting). Nothing was queued; please try again in a few minutes.`);
  }
  if (verdict === 'too_many_jobs') {
    throw new UserError(
      'too_many_jobs',
      `You already have ${plural(n, 'job')} waiting (the limit is ${limits.perUserWaiting}). Wait for one to start, or cancel one, then try again.`,
    );
  }
  if (verdict === 'cooldown') {
    throw new UserError('cooldown', `Please wait ${plural(Math.ceil(n / 1000), 'second')} before starting another job.`);
  }
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export class SharedAdmission {
  private readonly k: { waiting: string; userWaiting: string; userActive: string; jobUser: string; seq: string };

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
  ) {
    const p = `${ns}:q:`;
    this.k = { waiting: `${p}waiting`, userWaiting: `${p}user-waiting`, userActive: `${p}user-active`, jobUser: `${p}job-user`, seq: `${p}seq` };
  }

  /**
   * Admit a job atomically under the limits (queueCap, perUserWaiting, cooldown). Returns its BullMQ
   * priority and its 1-based place in line. Throws the same UserErrors as the embedded scheduler.
   */
  async admit(jobId: string, userKey: string, limits: Limits): Promise<{ priority: number; position: number }> {
    const r = (await this.redis.eval(
      ADMIT,
      6,
      this.k.waiting,
      this.k.userWaiting,
      this.k.userActive,
      this.k.seq,
      `${this.ns}:q:cooldown:${userKey}`,
      this.k.jobUser,
      jobId,
      userKey,
      String(limits.queueCap),
      String(limits.perUserWaiting),
      String(Math.max(0, Math.round(limits.cooldownSeconds * 1000))),
    )) as [string, number, number?];
    const [verdict, n] = r;
    refuse(verdict, n, limits);
    return { priority: n, position: r[2] ?? 1 };
  }

  /**
   * Would admit() refuse this user now? Throws its UserError if so; changes nothing. Asked before a
   * submission's images are downloaded, so a user over a limit is turned away before any work; admit()
   * still decides atomically when the job is queued.
   */
  async check(userKey: string, limits: Limits): Promise<void> {
    const [verdict, n] = (await this.redis.eval(
      CHECK,
      3,
      this.k.waiting,
      this.k.userWaiting,
      `${this.ns}:q:cooldown:${userKey}`,
      userKey,
      String(limits.queueCap),
      String(limits.perUserWaiting),
      String(Math.max(0, Math.round(limits.cooldownSeconds * 1000))),
    )) as [string, number];
    refuse(verdict, n, limits);
  }

  take(jobId: string): Promise<Take> {
    return this.redis.eval(TAKE, 4, this.k.waiting, this.k.userWaiting, this.k.jobUser, this.cancelledKey(jobId), jobId) as Promise<Take>;
  }

  /** true: the job was still waiting and is now out of line (and marked cancelled for any worker). */
  async cancelWaiting(jobId: string): Promise<boolean> {
    const r = await this.redis.eval(CANCEL_WAITING, 5, this.k.waiting, this.k.userWaiting, this.k.jobUser, this.k.userActive, this.cancelledKey(jobId), jobId);
    return r === 1;
  }

  /** Mark a job cancelled so that a worker about to start it does not. */
  async markCancelled(jobId: string): Promise<void> {
    await this.redis.set(this.cancelledKey(jobId), '1', 'EX', 86_400);
  }

  async isCancelled(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.cancelledKey(jobId))) === 1;
  }

  /** Back in line after it was taken (see PARK). */
  async park(jobId: string): Promise<void> {
    await this.redis.eval(PARK, 5, this.k.waiting, this.k.userWaiting, this.k.jobUser, this.k.userActive, this.k.seq, jobId);
  }

  async finish(jobId: string): Promise<void> {
    await this.redis.eval(FINISH, 2, this.k.userActive, this.k.jobUser, jobId);
  }

  waitingCount(): Promise<number> {
    return this.redis.zcard(this.k.waiting);
  }

  private cancelledKey(jobId: string): string {
    return `${this.ns}:q:cancelled:${jobId}`;
  }
}
