/**
 * A keyv storage adapter over better-sqlite3: one embedded file, no server, no set-up.
 * (@keyv/sqlite needs the `sqlite3` native module, which Easel does not install.)
 *
 * Rows are (namespace, key) -> serialized value, with an optional expiry in ms since the epoch.
 * Keyv is used with `useKeyPrefix: false`, so keys arrive here bare and the namespace is a column.
 * Several adapters (namespaces) may share one database handle.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { KeyvStoreAdapter, StoredData } from 'keyv';

type Db = Database.Database;

/** Open (creating folders and the table as needed) a SQLite database for keyv adapters. */
export function openSqliteDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(
    `CREATE TABLE IF NOT EXISTS keyv (
       ns TEXT NOT NULL,
       key TEXT NOT NULL,
       value TEXT NOT NULL,
       expires INTEGER,
       PRIMARY KEY (ns, key)
     ) WITHOUT ROWID`,
  );
  return db;
}

export class SqliteKeyvStore extends EventEmitter implements KeyvStoreAdapter {
  /** keyv reads `opts.dialect` to decide whether the adapter can iterate. */
  readonly opts = { dialect: 'sqlite', url: 'sqlite' };
  namespace: string | undefined;
  private readonly stmts;

  constructor(
    private readonly db: Db,
    namespace?: string,
    private readonly ownsDb = false,
  ) {
    super();
    this.namespace = namespace;
    this.stmts = {
      get: db.prepare<[string, string], { value: string; expires: number | null }>(
        'SELECT value, expires FROM keyv WHERE ns = ? AND key = ?',
      ),
      set: db.prepare<[string, string, string, number | null]>(
        'INSERT INTO keyv (ns, key, value, expires) VALUES (?, ?, ?, ?) ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, expires = excluded.expires',
      ),
      del: db.prepare<[string, string]>('DELETE FROM keyv WHERE ns = ? AND key = ?'),
      clear: db.prepare<[string]>('DELETE FROM keyv WHERE ns = ?'),
      page: db.prepare<[string, string, number], { key: string; value: string; expires: number | null }>(
        'SELECT key, value, expires FROM keyv WHERE ns = ? AND key > ? ORDER BY key LIMIT ?',
      ),
    };
  }

  private get ns(): string {
    return this.namespace ?? '';
  }

  private live(row: { value: string; expires: number | null } | undefined): string | undefined {
    if (!row) return undefined;
    if (row.expires !== null && row.expires <= Date.now()) return undefined;
    return row.value;
  }

  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.live(this.stmts.get.get(this.ns, key)) as StoredData<Value> | undefined;
  }

  async getMany<Value>(keys: string[]): Promise<Array<StoredData<Value | undefined>>> {
    return keys.map((k) => this.live(this.stmts.get.get(this.ns, k)) as StoredData<Value | undefined>);
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    this.stmts.set.run(this.ns, key, text, typeof ttl === 'number' && ttl > 0 ? Date.now() + ttl : null);
    return true;
  }

  async setMany(values: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    const tx = this.db.transaction(() => {
      for (const v of values) {
        const text = typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
        this.stmts.set.run(this.ns, v.key, text, typeof v.ttl === 'number' && v.ttl > 0 ? Date.now() + v.ttl : null);
      }
    });
    tx();
  }

  async delete(key: string): Promise<boolean> {
    return this.stmts.del.run(this.ns, key).changes > 0;
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    let any = false;
    const tx = this.db.transaction(() => {
      for (const k of keys) any = this.stmts.del.run(this.ns, k).changes > 0 || any;
    });
    tx();
    return any;
  }

  async has(key: string): Promise<boolean> {
    return this.live(this.stmts.get.get(this.ns, key)) !== undefined;
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    return keys.map((k) => this.live(this.stmts.get.get(this.ns, k)) !== undefined);
  }

  async clear(): Promise<void> {
    this.stmts.clear.run(this.ns);
  }

  /** Every live entry of the namespace, in key order, read in pages so huge tables stay cheap. */
  async *iterator<Value>(namespace?: string): AsyncGenerator<Array<string | Awaited<Value> | undefined>, void> {
    const ns = namespace ?? this.ns;
    let after = '';
    for (;;) {
      const rows = this.stmts.page.all(ns, after, 500);
      for (const row of rows) {
        const value = this.live(row);
        if (value !== undefined) yield [row.key, value as Awaited<Value>];
      }
      if (rows.length < 500) return;
      after = rows[rows.length - 1].key;
    }
  }

  async disconnect(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
  }
}
