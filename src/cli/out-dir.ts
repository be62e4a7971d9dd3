/**
 * The output folder of `easel run`, made ready before any GPU work: created level by level (Node's
 * recursive mkdir never returns on some special folders such as /proc), checked writable with a probe
 * file, and every problem named at the path where it is (`--out afile/sub`: "afile is a file").
 * Folders created for a run that then fails are removed again.
 */
import { lstat, mkdir, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from './usage-error.ts';

export interface OutDir {
  path: string;
  /** Remove the folders this run created (only if still empty). */
  discard(): Promise<void>;
}

function why(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'the disk is full';
    case 'ENOENT':
      return 'folders cannot be created there (it is not an ordinary folder)';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}

export async function prepareOutDir(given: string, cwd = process.cwd()): Promise<OutDir> {
  const target = path.resolve(cwd, given);
  // Walk up to the deepest part of the path that exists.
  const missing: string[] = [];
  let existing = target;
  for (;;) {
    const info = await stat(existing).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      if (err.code === 'ENOTDIR') return 'not-dir' as const;
      throw new UsageError(`--out ${given}: cannot use ${existing}: ${why(err)}`);
    });
    if (info === 'not-dir') {
      missing.unshift(existing);
      existing = path.dirname(existing);
      continue;
    }
    if (info) {
      if (!info.isDirectory()) {
        throw new UsageError(existing === target ? `--out ${target} is a file, not a folder` : `--out ${target}: ${existing} is a file, not a folder`);
      }
      break;
    }
    const parent = path.dirname(existing);
    if (parent === existing) throw new UsageError(`--out ${target}: no part of the path exists`);
    missing.unshift(existing);
    existing = parent;
  }

  const created: string[] = [];
  const discard = async () => {
    for (const dir of [...created].reverse()) await rmdir(dir).catch(() => undefined);
  };
  try {
    for (const dir of missing) {
      try {
        await mkdir(dir);
      } catch (err) {
        // Someone else made it meanwhile: fine if it is a folder.
        if ((err as NodeJS.ErrnoException).code === 'EEXIST' && (await lstat(dir)).isDirectory()) continue;
        throw new UsageError(`cannot create the output folder ${target}: ${why(err)} (at ${dir})`);
      }
      created.push(dir);
    }
    const probe = path.join(target, `.easel-write-test-${process.pid}`);
    try {
      await writeFile(probe, '');
    } catch (err) {
      throw new UsageError(`cannot write to the output folder ${target}: ${why(err)}`);
    }
    await unlink(probe).catch(() => undefined);
  } catch (err) {
    await discard();
    throw err;
  }
  return { path: target, discard };
}
