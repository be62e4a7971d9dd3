/**
 * sharp (libvips) keeps a cache of recent operations and their pixel buffers (50 MB by default) so
 * that re-running the same pipeline on the same file is fast. Easel never decodes the same upload
 * twice that way: every request brings a different picture, so the cache only holds memory that a
 * flood of uploads then cannot use. Turned off once per process, before the first image.
 */
import sharp from 'sharp';

let done = false;

export function releaseSharpCache(): void {
  if (done) return;
  done = true;
  sharp.cache(false);
}
