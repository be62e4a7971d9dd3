/** Sizes written the way people read them in chat messages. */

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${trim(bytes / 1024)} KB`;
  return `${trim(bytes / (1024 * 1024))} MB`;
}

export function formatMegapixels(pixels: number): string {
  const mp = pixels / 1_000_000;
  return `${trim(mp)} MP`;
}

/** 400 -> "400", 12.34 -> "12.3", 0.05 -> "0.05". */
function trim(n: number): string {
  if (n >= 100) return String(Math.round(n));
  if (n >= 1) return String(Math.round(n * 10) / 10);
  return String(Math.round(n * 100) / 100);
}
