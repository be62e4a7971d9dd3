/**
 * limits.perUserRunning across instances: on how many distinct hosts at once one user's jobs may run,
 * wherever the instances driving those hosts are. Each instance's own scheduler only sees its hosts,
 * so before a job takes a host slot the instance claims that host for the job's user here, in one Lua
 * script: granted when the user already runs on that host or on fewer hosts than the limit.
 *
 * Keys (prefix `<ns>:q:`):
 *  - running:<user>  hash jobId -> "<instance>|<claim no>|<host>": the user's jobs holding a host now;
 *  - parked:<user>   set of job ids refused a claim, waiting (delayed in BullMQ) for one to be released.
 * A claim whose instance no longer renews its heartbeat (`<ns>:instances`, see host-leases.ts) is
 * dropped when the user's claims are next looked at: an instance that died holding claims does not
 * keep its users off the GPUs for longer than its heartbeat lasts.
 *
 * Releasing a claim hands back the ids of the user's parked jobs, for the caller to put back in line
 * at once (BullMQ promote); a parked job also comes back by itself after a short delay, in case that
 * wake-up was missed (its instance died, or it parked a moment after the release).
 */
import type { Redis } from 'ioredis';

/**
 * Lua shared by the scripts: `hosts` (set) and `count` = the distinct hosts the user's other jobs
 * (not ARGV[1]) hold, on live instances; claims of dead instances are dropped on the way.
 * KEYS[1] = running:<user>, KEYS[2] = <ns>:instances; `now` must be set.
 */
const LIVE_HOSTS = `
local entries = redis.call('HGETALL', KEYS[1])
local hosts = {}
local count = 0
for i = 1, #entries, 2 do
  local job, v = entries[i], entries[i + 1]
  if job ~= ARGV[1] then
    local a = string.find(v, '|', 1, true)
    local b = a and string.find(v, '|', a + 1, true)
    local alive = false
    if b then
      local expires = redis.call('ZSCORE', KEYS[2], string.sub(v, 1, a - 1))
      alive = expires and tonumber(expires) > now
    end
    if not alive then
      redis.call('HDEL', KEYS[1], job)
    else
      local h = string.sub(v, b + 1)
      if not hosts[h] then
        hosts[h] = true
        count = count + 1
      end
    end
  end
end
`;

/** ARGV: jobId, host, claim token, limit, now. 1 = claimed; 0 = refused (the job is noted as parked). */
const CLAIM = `
local now = tonumber(ARGV[5])
${LIVE_HOSTS}
local limit = tonumber(ARGV[4])
if limit > 0 and not hosts[ARGV[2]] and count >= limit then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('PEXPIRE', KEYS[3], 86400000)
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. '|' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], 86400000)
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`;

/**
 * ARGV: jobId, limit, now, then the hosts an instance drives. 1 = a claim on any of them would be
 * refused now (the job is noted as parked); 0 = one of them might be granted.
 */
const PARK_IF_BUSY = `
local now = tonumber(ARGV[3])
${LIVE_HOSTS}
local limit = tonumber(ARGV[2])
if limit <= 0 or count < limit then return 0 end
for i = 4, #ARGV do
  if hosts[ARGV[i]] then return 0 end
end
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], 86400000)
return 1
`;

/** Drop one claim (only the very claim given: a later claim of the same job on another host stays). */
const RELEASE = `
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
local parked = redis.call('SMEMBERS', KEYS[2])
redis.call('DEL', KEYS[2])
return parked
`;

/** A claim granted to one job: give it to release(). */
export interface HostClaim {
  userKey: string;
  jobId: string;
  value: string;
}

export class UserHostClaims {
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    private readonly instanceId: string,
  ) {}

  /**
   * Claim `host` for this job of `userKey` under `limit` distinct hosts (0 or less: no limit).
   * The claim, or undefined when the user's jobs already run on `limit` other hosts (the job is then
   * noted as parked for that user).
   */
  async claim(userKey: string, jobId: string, host: string, limit: number): Promise<HostClaim | undefined> {
    const token = `${this.instanceId}|${++this.seq}`;
    const granted = await this.redis.eval(
      CLAIM,
      3,
      ...this.userKeys(userKey),
      jobId,
      host,
      token,
      String(limit),
      String(Date.now()),
    );
    return granted === 1 ? { userKey, jobId, value: `${token}|${host}` } : undefined;
  }

  /**
   * Before a job is taken into an instance driving `hosts`: true when every claim there would be
   * refused now (the user runs on `limit` other hosts), and the job is then noted as parked.
   */
  async parkIfBusy(userKey: string, jobId: string, hosts: string[], limit: number): Promise<boolean> {
    const busy = await this.redis.eval(
      PARK_IF_BUSY,
      3,
      ...this.userKeys(userKey),
      jobId,
      String(limit),
      String(Date.now()),
      ...hosts,
    );
    return busy === 1;
  }

  /** Give a claim back. Returns the ids of that user's parked jobs (now no longer noted as parked). */
  async release(claim: HostClaim): Promise<string[]> {
    return (await this.redis.eval(RELEASE, 2, this.runningKey(claim.userKey), this.parkedKey(claim.userKey), claim.jobId, claim.value)) as string[];
  }

  /** The hosts a user's jobs hold now, per job (for tests and diagnostics). */
  async held(userKey: string): Promise<Record<string, string>> {
    const all = await this.redis.hgetall(this.runningKey(userKey));
    const out: Record<string, string> = {};
    for (const [job, v] of Object.entries(all)) out[job] = v.slice(v.indexOf('|', v.indexOf('|') + 1) + 1);
    return out;
  }

  /** KEYS of CLAIM and PARK_IF_BUSY: the user's claims, the instances' heartbeats, the user's parked jobs. */
  private userKeys(userKey: string): [string, string, string] {
    return [this.runningKey(userKey), `${this.ns}:instances`, this.parkedKey(userKey)];
  }

  private runningKey(userKey: string): string {
    return `${this.ns}:q:running:${userKey}`;
  }

  private parkedKey(userKey: string): string {
    return `${this.ns}:q:parked:${userKey}`;
  }
}
