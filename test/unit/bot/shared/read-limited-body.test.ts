import { describe, expect, it } from 'vitest';
import { readLimitedBody } from '../../../../src/bot/shared/read-limited-body.ts';

function stream(chunks: number[], onCancel?: () => void): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(new Uint8Array(chunks[i++]).fill(7));
      else controller.close();
    },
    cancel() {
      onCancel?.();
    },
  });
}

describe('readLimitedBody', () => {
  it('returns every byte of a body within the limit', async () => {
    const data = await readLimitedBody(stream([3, 4, 3]), 10, () => new Error('too big'));
    expect(data.length).toBe(10);
    expect([...data].every((b) => b === 7)).toBe(true);
  });

  it('stops reading and cancels the stream as soon as the limit is passed', async () => {
    let cancelled = false;
    const err = await readLimitedBody(stream([6, 6, 1000], () => (cancelled = true)), 10, () => new Error('too big')).catch((e: unknown) => e);
    expect((err as Error).message).toBe('too big');
    expect(cancelled).toBe(true);
  });

  it('an empty or missing body is zero bytes', async () => {
    expect((await readLimitedBody(null, 10, () => new Error('x'))).length).toBe(0);
    expect((await readLimitedBody(stream([]), 10, () => new Error('x'))).length).toBe(0);
  });
});
