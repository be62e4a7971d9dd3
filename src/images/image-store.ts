/**
 * Images on disk, named by the SHA-256 of their bytes: `<dir>/<aa>/<sha256>.<ext>` where `aa` is the
 * first two hex digits. Paths come only from the hash and the sniffed type, never from anything a user
 * typed or uploaded as a name. Putting the same bytes twice is a no-op apart from refreshing the
 * file's age, and reading refreshes it too: retention counts from last use, so rerunning a job weeks
 * later works as long as that job (or a rerun of it) was touched within the retention period.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS, withinPixelLimit } from './pixel-limit.ts';
import { UserError } from '../commands/errors.ts';
import type { StoredImage } from '../jobs/types.ts';
import { sniffImage } from './sniff.ts';

export const DEFAULT_RETENTION_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Half-written temp files older than this are leftovers of a crash and get swept. */
const TEMP_MAX_AGE_MS = 60 * 60 * 1000;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const SHARD = /^[0-9a-f]{2}$/;
const STORED_NAME = /^([0-9a-f]{64})\.(png|jpg|webp|gif|tiff|avif|heic)$/;
const TEMP_NAME = /^\.tmp-[0-9a-f]+$/;

const EXT_BY_MIME: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/tiff': 'tiff',
  'image/avif': 'avif',
  'image/heic': 'heic',
};

/**
 * Where Easel keeps images. Everything (jobs, rendering, retention) goes through this interface, so a
 * store other than a folder (e.g. an S3-compatible bucket) can be added without touching its users.
 * With several instances the store must be shared by all of them (see FolderImageStore).
 */
export interface ImageStore {
  /** Where the images are, as an admin would look for them (the folder; a bucket URL for other stores). */
  readonly dir: string;
  /** Days an image is kept after its last use. */
  readonly retentionDays: number;
  /** Store image bytes (any format sharp reads); idempotent for identical bytes. */
  put(data: Buffer, opts?: { label?: string }): Promise<StoredImage>;
  /** The bytes of a stored image. Throws UserError('expired') when retention has removed it. */
  read(image: StoredImage): Promise<Buffer>;
  has(image: Pick<StoredImage, 'sha256' | 'mime'>): Promise<boolean>;
  /** Delete images not used for longer than the retention period. Returns how many were deleted. */
  sweep(now?: number): Promise<number>;
}

/**
 * The default ImageStore: a folder. Several Easel instances may share one folder (a shared volume):
 * names come from content hashes and files appear by atomic rename, so concurrent writers agree and
 * readers never see half a file.
 */
export class FolderImageStore implements ImageStore {
  readonly dir: string;
  readonly retentionDays: number;

  constructor(dir: string, opts: { retentionDays?: number } = {}) {
    this.dir = dir;
    this.retentionDays = opts.retentionDays ?? DEFAULT_RETENTION_DAYS;
    if (!(this.retentionDays > 0)) throw new Error(`FolderImageStore retentionDays must be > 0, got ${opts.retentionDays}`);
  }

  /** Store image bytes (any format sharp reads); idempotent for identical bytes. */
  async put(data: Buffer, opts: { label?: string } = {}): Promise<StoredImage> {
    const sniffed = sniffImage(data);
    if (sniffed.kind !== 'image') throw new Error(`ImageStore.put: not an image (looks like ${sniffed.looksLike})`);
    const meta = await withinPixelLimit(sharp(data, { limitInputPixels: MAX_IMAGE_PIXELS }).metadata());
    const sha256 = createHash('sha256').update(data).digest('hex');
    const relative = relativePath(sha256, sniffed.mime);
    const absolute = join(this.dir, relative);
    const exists = await stat(absolute).then(
      (s) => s.size === data.length,
      () => false,
    );
    if (exists) {
      await touch(absolute);
    } else {
      const shardDir = join(this.dir, sha256.slice(0, 2));
      await mkdir(shardDir, { recursive: true });
      // Write then rename: readers never see half a file, and concurrent puts of the same bytes agree.
      const temp = join(shardDir, `.tmp-${randomBytes(8).toString('hex')}`);
      await writeFile(temp, data);
      await rename(temp, absolute);
    }
    const image: StoredImage = {
      sha256,
      path: relative,
      width: meta.autoOrient?.width ?? meta.width,
      height: meta.autoOrient?.height ?? meta.height,
      mime: sniffed.mime,
      bytes: data.length,
    };
    if (opts.label !== undefined) image.label = opts.label;
    return image;
  }

  /** The bytes of a stored image. Throws UserError('expired') when retention has removed it. */
  async read(image: StoredImage): Promise<Buffer> {
    const absolute = join(this.dir, relativePath(image.sha256, image.mime));
    let data: Buffer;
    try {
      data = await readFile(absolute);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UserError(
          'expired',
          `That image is no longer stored (Easel keeps images for ${this.retentionDays} days). Please upload it again.`,
        );
      }
      throw err;
    }
    if (createHash('sha256').update(data).digest('hex') !== image.sha256) {
      throw new Error(`ImageStore: ${image.sha256} is corrupt on disk (content hash mismatch)`);
    }
    await touch(absolute).catch(() => undefined);
    return data;
  }

  async has(image: Pick<StoredImage, 'sha256' | 'mime'>): Promise<boolean> {
    return stat(join(this.dir, relativePath(image.sha256, image.mime))).then(
      () => true,
      () => false,
    );
  }

  /** Absolute path of a stored image (for streaming uploads); derived from the hash only. */
  pathOf(image: Pick<StoredImage, 'sha256' | 'mime'>): string {
    return join(this.dir, relativePath(image.sha256, image.mime));
  }

  /** Delete images not used for longer than the retention period. Returns how many were deleted. */
  async sweep(now: number = Date.now()): Promise<number> {
    const cutoff = now - this.retentionDays * DAY_MS;
    let deleted = 0;
    const shards = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    for (const shard of shards) {
      if (!SHARD.test(shard)) continue;
      const shardDir = join(this.dir, shard);
      const names = await readdir(shardDir).catch(() => [] as string[]);
      let left = names.length;
      for (const name of names) {
        const isStored = STORED_NAME.test(name);
        const isTemp = TEMP_NAME.test(name);
        if (!isStored && !isTemp) continue;
        const file = join(shardDir, name);
        const info = await stat(file).catch(() => undefined);
        if (!info) {
          left--;
          continue;
        }
        const lastUse = Math.max(info.mtimeMs, info.atimeMs);
        const expired = isStored ? lastUse < cutoff : info.mtimeMs < now - TEMP_MAX_AGE_MS;
        if (!expired) continue;
        await rm(file, { force: true });
        left--;
        if (isStored) deleted++;
      }
      if (left === 0) await rmdir(shardDir).catch(() => undefined);
    }
    return deleted;
  }
}

function relativePath(sha256: string, mime: string): string {
  if (!SHA256_HEX.test(sha256)) throw new Error('ImageStore: invalid image hash');
  const ext = EXT_BY_MIME[mime];
  if (!ext) throw new Error(`ImageStore: unsupported mime ${JSON.stringify(mime)}`);
  return `${sha256.slice(0, 2)}/${sha256}.${ext}`;
}

async function touch(file: string): Promise<void> {
  const now = new Date();
  await utimes(file, now, now);
}
