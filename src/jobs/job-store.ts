/**
 * Durable job records through keyv: an embedded SQLite file by default, Redis when a URL is given.
 *
 * Two keyv namespaces: `<ns>:jobs` holds every JobRecord by id; `<ns>:active` holds the ids of jobs
 * that are not finished yet (value = state), so recovery lists in-flight work without scanning the
 * whole history of finished jobs.
 *
 * Every call has a time limit and fails as a JobStoreDownError (store-guard.ts) instead of hanging
 * while Redis is away; a job whose creation was given up on is removed again once the store answers.
 */
import { Keyv } from 'keyv';
import type Database from 'better-sqlite3';
import type { JobRecord, JobState } from './types.ts';
import { openSqliteDatabase, SqliteKeyvStore } from './sqlite-keyv-store.ts';
import { DEFAULT_STORE_TIMEOUT_MS, guarded, JobStoreDownError, RemovalQueue } from './store-guard.ts';

/** list() reads every record (or every active one): it may take this many times a single call's limit. */
const LIST_TIMEOUT_FACTOR = 6;

export const TERMINAL_STATES: readonly JobState[] = ['done', 'failed', 'cancelled'];
export const ACTIVE_STATES: readonly JobState[] = ['queued', 'uploading', 'submitted', 'running'];

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

export interface JobStoreOptions {
  /** SQLite file (created with its folder). Used when no redisUrl is given; default `.easel/jobs.sqlite`. */
  sqlitePath?: string;
  /** redis://[user:password@]host:port[/db] — when set, jobs live in Redis instead. */
  redisUrl?: string;
  /** Key prefix, default "easel". */
  namespace?: string;
  /** How long to wait for Redis to accept the connection, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Longest one call (get, save, list...) may take before it fails as "not answering", ms (default 5000). */
  timeoutMs?: number;
}

export class JobStore {
  private closed = false;
  readonly timeoutMs: number;
  /** Jobs whose creation was given up on: removed until the store confirms it. */
  private readonly removals: RemovalQueue;

  private constructor(
    private readonly jobs: Keyv<JobRecord>,
    private readonly active: Keyv<JobState>,
    /** "sqlite" or "redis", for status pages and logs. */
    readonly kind: 'sqlite' | 'redis',
    private readonly db?: Database.Database,
    timeoutMs?: number,
  ) {
    this.timeoutMs = timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.removals = new RemovalQueue((id) => guarded(`remove job ${id}`, this.timeoutMs, () => this.remove(id)));
  }

  static async open(opts: JobStoreOptions = {}): Promise<JobStore> {
    const ns = opts.namespace ?? 'easel';
    if (opts.redisUrl) {
      const { default: KeyvRedis } = await import('@keyv/redis');
      const make = <T>(name: string): Keyv<T> => {
        const adapter = new KeyvRedis(opts.redisUrl, {
          namespace: name,
          throwOnConnectError: true,
          throwOnErrors: true,
          connectionTimeout: opts.connectTimeoutMs ?? 5000,
        });
        adapter.namespace = name;
        const k = new Keyv<T>(adapter, { namespace: name, useKeyPrefix: false, throwOnErrors: true });
        // Errors are thrown to the caller; keep the emitter from crashing the process as well.
        k.on('error', () => undefined);
        return k;
      };
      const jobs = make<JobRecord>(`${ns}:jobs`);
      const active = make<JobState>(`${ns}:active`);
      const store = new JobStore(jobs, active, 'redis', undefined, opts.timeoutMs);
      try {
        // Fail now, with a clear message, rather than on the first job.
        await jobs.get('__ping__');
      } catch (err) {
        await store.close().catch(() => undefined);
        const msg = (err as Error).message;
        const why = /not connected|failed to connect/i.test(msg)
          ? `no connection within ${Math.round((opts.connectTimeoutMs ?? 5000) / 1000)} s (is redis-server running there?)`
          : msg;
        throw new Error(`cannot reach the Redis job store at ${redactUrl(opts.redisUrl)}: ${why}`);
      }
      return store;
    }
    const path = opts.sqlitePath ?? '.easel/jobs.sqlite';
    let db: Database.Database;
    try {
      db = openSqliteDatabase(path);
    } catch (err) {
      throw new Error(`cannot open the SQLite job store ${path}: ${(err as Error).message}`);
    }
    const jobs = new Keyv<JobRecord>(new SqliteKeyvStore(db, `${ns}:jobs`), {
      namespace: `${ns}:jobs`,
      useKeyPrefix: false,
      throwOnErrors: true,
    });
    const active = new Keyv<JobState>(new SqliteKeyvStore(db, `${ns}:active`), {
      namespace: `${ns}:active`,
      useKeyPrefix: false,
      throwOnErrors: true,
    });
    return new JobStore(jobs, active, 'sqlite', db, opts.timeoutMs);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return guarded(`read job ${id}`, this.timeoutMs, async () => (await this.jobs.get(id)) ?? undefined);
  }

  /** Persist the record (bumping `version`) and keep the active index in step. */
  async save(job: JobRecord): Promise<void> {
    job.version = (job.version ?? 0) + 1;
    // Buffers never belong in a record; a plain JSON copy keeps later mutations out of the store.
    const copy = JSON.parse(JSON.stringify(job)) as JobRecord;
    let givenUp = false;
    try {
      await guarded(`save job ${job.id}`, this.timeoutMs, async () => {
        await this.jobs.set(copy.id, copy);
        // Given up on meanwhile: the index is left alone (a newer save, or the removal, follows).
        if (givenUp) return;
        if (isTerminal(copy.state)) await this.active.delete(copy.id);
        else await this.active.set(copy.id, copy.state);
      });
    } catch (err) {
      givenUp = true;
      throw err;
    }
  }

  /**
   * Store a new job. When that fails or times out, the job must never appear later (the person who
   * asked was told it was not queued): whatever of it reaches the store late is removed again.
   */
  async create(job: JobRecord): Promise<void> {
    try {
      await this.save(job);
    } catch (err) {
      this.removals.add(job.id);
      throw err instanceof JobStoreDownError ? err.forSubmission() : err;
    }
  }

  async delete(id: string): Promise<void> {
    await guarded(`delete job ${id}`, this.timeoutMs, () => this.remove(id));
  }

  private async remove(id: string): Promise<void> {
    await this.jobs.delete(id);
    await this.active.delete(id);
  }

  /**
   * Jobs, oldest first. Only-active filters read the active index; anything else scans every record.
   */
  async list(filter: { states?: JobState[] } = {}): Promise<JobRecord[]> {
    // A bulk read of possibly many records: a longer limit than single calls, still bounded.
    return guarded('list jobs', this.timeoutMs * LIST_TIMEOUT_FACTOR, () => this.listNow(filter));
  }

  private async listNow(filter: { states?: JobState[] }): Promise<JobRecord[]> {
    const states = filter.states;
    const out: JobRecord[] = [];
    if (states && states.every((s) => !isTerminal(s))) {
      const ids: string[] = [];
      for await (const [id, state] of this.iter(this.active)) {
        if (states.includes(state as JobState)) ids.push(id);
      }
      const recs = ids.length ? await this.jobs.get(ids) : [];
      for (const r of recs) if (r && states.includes(r.state)) out.push(r);
    } else {
      for await (const [, rec] of this.iter(this.jobs)) {
        const r = rec as JobRecord;
        if (!states || states.includes(r.state)) out.push(r);
      }
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  private async *iter<T>(k: Keyv<T>): AsyncGenerator<[string, T]> {
    if (!k.iterator) throw new Error('this job store backend cannot list records');
    for await (const entry of k.iterator(k.namespace)) {
      const [key, value] = entry as [string, T];
      if (value !== undefined) yield [key, value];
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removals.close();
    // A polite QUIT waits for a Redis that is away; past the time limit the connections are dropped.
    const polite = Promise.allSettled([this.jobs.disconnect(), this.active.disconnect()]).then(() => true);
    const quit = await Promise.race([polite, new Promise<false>((r) => setTimeout(() => r(false), this.timeoutMs).unref())]);
    if (!quit) {
      await Promise.allSettled(
        [this.jobs, this.active].map((k) => (k.store as { disconnect?: (force?: boolean) => Promise<void> }).disconnect?.(true)),
      );
    }
    if (this.db?.open) this.db.close();
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    if (u.username) u.username = u.username ? '***' : '';
    return u.toString();
  } catch {
    return 'the configured URL';
  }
}
