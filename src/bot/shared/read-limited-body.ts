/**
 * Read an HTTP response body into memory, but never more than `maxBytes`: the stream is cancelled
 * and `tooLarge()` thrown as soon as the limit is passed, so a lying or missing Content-Length
 * cannot make a front end buffer a huge download.
 */
export async function readLimitedBody(
  body: ReadableStream<Uint8Array> | null | undefined,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}
