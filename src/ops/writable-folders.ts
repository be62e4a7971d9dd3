/**
 * The folders Easel writes to, each with the setting that chose it, and a probe that proves a folder
 * can take a new file. Used at start (createApp refuses to start on a folder it cannot write, naming
 * the folder and its setting) and by GET /healthz (which must leave nothing behind, even when the
 * disk is full: the probe file is removed whether or not its write succeeded).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import path from 'node:path';
import type { EaselConfig } from '../config/types.ts';

export interface WritableFolder {
  /** Absolute folder path. */
  folder: string;
  /** What it holds, e.g. "image storage folder". */
  what: string;
  /** The setting that chose it, and its environment variable. */
  key: string;
  variable: string;
}

type FolderConfig = Pick<EaselConfig, 'store' | 'storage'> & Partial<Pick<EaselConfig, 'dataDir' | 'hosts'>>;

/**
 * Folders this configuration writes to: the SQLite job store's folder, image storage, and (when the
 * built-in simulator runs, i.e. hosts is given and empty) the simulator's data under dataDir.
 */
export function writableFolders(config: FolderConfig): WritableFolder[] {
  const out: WritableFolder[] = [];
  if (!config.store.redisUrl) {
    out.push({ folder: path.dirname(config.store.sqlitePath), what: 'job store folder', key: 'store.sqlitePath', variable: 'EASEL_SQLITE_PATH' });
  }
  out.push({ folder: config.storage.dir, what: 'image storage folder', key: 'storage.dir', variable: 'EASEL_STORAGE_DIR' });
  if (config.dataDir && config.hosts?.length === 0) {
    out.push({ folder: path.join(config.dataDir, 'simulator'), what: 'data folder', key: 'dataDir', variable: 'EASEL_DATA_DIR' });
  }
  return out;
}

export class FolderNotWritableError extends Error {
  constructor(
    readonly target: WritableFolder,
    readonly reason: string,
  ) {
    super(
      `The ${target.what} ${target.folder} cannot be written (${reason}). ` +
        `Set ${target.key} (or ${target.variable}) to a folder Easel can write to, or free space / fix permissions there.`,
    );
    this.name = 'FolderNotWritableError';
  }
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is used up',
    EFBIG: 'no room for another file',
    EROFS: 'read-only file system',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'a file of that name is in the way',
  };
  return e?.code ? `${e.code}: ${why[e.code] ?? e.message}` : String((err as Error)?.message ?? err);
}

/** Create the folder if needed and write (then remove) a small probe file in it. Never leaves the probe behind. */
export async function probeWritable(target: WritableFolder): Promise<void> {
  const probe = path.join(target.folder, `.easel-probe-${randomUUID()}`);
  let created = false;
  try {
    await mkdir(target.folder, { recursive: true });
    const handle = await open(probe, 'wx');
    created = true;
    try {
      await handle.writeFile('ok');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new FolderNotWritableError(target, describeFsError(err));
  } finally {
    if (created) await rm(probe, { force: true }).catch(() => undefined);
  }
}

/** Every folder of the configuration writable, else the first that is not (as FolderNotWritableError). */
export async function checkWritableFolders(config: FolderConfig): Promise<void> {
  for (const target of writableFolders(config)) await probeWritable(target);
}
