/**
 * Job-store calls that cannot hang or fail silently. Each call gets a time limit (`store.timeoutMs`):
 * a Redis that was killed or frozen otherwise keeps a call waiting for as long as it is away (its
 * client queues commands until it reconnects). Past the limit, or when the store refuses the write
 * (disk full, read-only), the caller gets a JobStoreDownError: a UserError whose message can be shown
 * as is, and whose `detail` (for the log) says what really happened.
 *
 * A call given up on may still reach the store later (the queued command runs once Redis is back).
 * For a job's creation that would bring back a job the user was told was refused, so the JobStore
 * removes such records again (RemovalQueue): the removal is queued behind the write on the same
 * connection, and retried until the store confirms it.
 */
import { UserError } from '../commands/errors.ts';

export const DEFAULT_STORE_TIMEOUT_MS = 5_000;

export type StoreFault = 'timeout' | 'full' | 'read_only' | 'failed';

export class JobStoreDownError extends UserError {
  constructor(
    readonly fault: StoreFault,
    /** What happened, for the log (never shown to users). */
    readonly detail: string,
    message = JobStoreDownError.sentence(fault),
  ) {
    super('store_down', message);
    this.name = 'JobStoreDownError';
  }

  static sentence(fault: StoreFault, after = ''): string {
    const what =
      fault === 'timeout'
        ? "Easel's job store is not answering"
        : fault === 'full'
          ? "Easel's job store is out of disk space"
          : fault === 'read_only'
            ? "Easel's job store cannot be written to"
            : "Easel's job store failed";
    return `${what}${after}. Please try again in a minute; if it keeps happening, tell an admin.`;
  }

  /** The same fault, told to someone whose new job was therefore not queued. */
  forSubmission(): JobStoreDownError {
    return new JobStoreDownError(this.fault, this.detail, JobStoreDownError.sentence(this.fault, '; nothing was queued'));
  }
}

/** Classify a store error (Node errno codes, SQLite result codes, Redis client errors). */
export function storeFault(err: unknown): StoreFault {
  const e = err as { code?: unknown; message?: unknown };
  const text = `${String(e?.code ?? '')} ${String(e?.message ?? '')}`;
  if (/ENOSPC|EDQUOT|EFBIG|SQLITE_FULL|database or disk is full|OOM command not allowed/i.test(text)) return 'full';
  if (/EROFS|EACCES|EPERM|SQLITE_READONLY|READONLY/i.test(text)) return 'read_only';
  return 'failed';
}

/** Run one store call with a time limit; every failure becomes a JobStoreDownError. */
export async function guarded<T>(what: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const work = Promise.resolve().then(call);
  // Once given up on, a late failure of the call must not surface as an unhandled rejection.
  work.catch(() => undefined);
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new JobStoreDownError('timeout', `${what}: no answer from the job store within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref?.();
  });
  try {
    return await Promise.race([work, timedOut]);
  } catch (err) {
    if (err instanceof JobStoreDownError) throw err;
    throw new JobStoreDownError(storeFault(err), `${what}: ${(err as Error)?.message ?? String(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Records that must not exist (their creation was given up on): removed now, and again with growing
 * pauses until the store confirms, so a write that lands late is taken back.
 */
export class RemovalQueue {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private delayMs = 500;
  private closed = false;

  constructor(private readonly remove: (id: string) => Promise<void>) {}

  add(id: string): void {
    if (this.closed) return;
    this.pending.add(id);
    // Issued at once: behind the late write on the same connection, so it runs after it.
    void this.tryRemove(id).then((ok) => ok && this.pending.delete(id));
    this.schedule();
  }

  /** Ids still waiting for the store to confirm their removal. */
  get size(): number {
    return this.pending.size;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async tryRemove(id: string): Promise<boolean> {
    try {
      await this.remove(id);
      return true;
    } catch {
      return false;
    }
  }

  private schedule(): void {
    if (this.timer || this.closed || this.pending.size === 0) return;
    this.timer = setTimeout(async () => {
      this.timer = undefined;
      for (const id of [...this.pending]) {
        if (await this.tryRemove(id)) this.pending.delete(id);
      }
      this.delayMs = this.pending.size ? Math.min(this.delayMs * 2, 30_000) : 500;
      this.schedule();
    }, this.delayMs);
    this.timer.unref?.();
  }
}
