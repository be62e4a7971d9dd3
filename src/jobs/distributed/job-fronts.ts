/**
 * Which instance shows a job in chat (its "front"): the one that accepted it, recorded in Redis
 * (`<ns>:front:<jobId>` = instance id, kept 7 days). When that instance has died, the first live
 * instance to see the job's outcome claims it (atomically: exactly one wins) and posts the result,
 * so a result is delivered once even when the instance that took the command is gone.
 */
import type { Redis } from 'ioredis';

const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then return 1 end
if owner then
  local alive = redis.call('ZSCORE', KEYS[2], owner)
  if alive and tonumber(alive) > tonumber(ARGV[2]) then return tonumber(ARGV[2]) - tonumber(alive) end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
`;

const KEEP_SECONDS = 7 * 24 * 3600;

export class JobFronts {
  /** Jobs this instance shows (accepted here, or claimed). */
  private readonly mine = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly ns: string,
    private readonly instanceId: string,
  ) {}

  async register(jobId: string): Promise<void> {
    this.mine.add(jobId);
    this.trim();
    await this.redis.set(this.key(jobId), this.instanceId, 'EX', KEEP_SECONDS);
  }

  isMine(jobId: string): boolean {
    return this.mine.has(jobId);
  }

  /**
   * Take over showing this job if its front instance is gone. True when it is ours now. An instance
   * that died a moment ago still looks alive until its heartbeat runs out: asked again then (a few
   * times), so a result finished in that moment is not lost.
   */
  async claim(jobId: string, tries = 3): Promise<boolean> {
    if (this.mine.has(jobId)) return true;
    const r = Number(await this.redis.eval(CLAIM, 2, this.key(jobId), `${this.ns}:instances`, this.instanceId, String(Date.now()), String(KEEP_SECONDS)));
    if (r === 1) {
      this.mine.add(jobId);
      this.trim();
      return true;
    }
    if (r < 0 && tries > 1) {
      await new Promise((resolve) => setTimeout(resolve, -r + 100).unref?.());
      return this.claim(jobId, tries - 1);
    }
    return false;
  }

  private trim(): void {
    while (this.mine.size > 20_000) this.mine.delete(this.mine.values().next().value as string);
  }

  private key(jobId: string): string {
    return `${this.ns}:front:${jobId}`;
  }
}
