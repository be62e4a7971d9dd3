/**
 * Waiting for Slack to share uploaded files. files.completeUploadExternal answers before the files
 * are shared: the message that shows them appears a little later, and until then files.info lists the
 * file with no shares. Easel posts a result card only after its images are visible in the thread, so
 * the card never comes before (or without) them.
 */
import type { WebClient } from '@slack/web-api';
import { retryAfterMs } from './slack-rate-limits.ts';

interface ShareEntry {
  ts?: string;
  thread_ts?: string;
}

interface FileShares {
  shares?: { public?: Record<string, ShareEntry[]>; private?: Record<string, ShareEntry[]> };
}

/** Is the file (as files.info describes it) shown in `channel`, in the thread `threadTs` if given? */
export function isSharedIn(file: FileShares | undefined, channel: string, threadTs?: string): boolean {
  const entries = [...(file?.shares?.public?.[channel] ?? []), ...(file?.shares?.private?.[channel] ?? [])];
  return entries.some((e) => !threadTs || e.thread_ts === threadTs || e.ts === threadTs);
}

export interface WaitForSharesOptions {
  /** Give up after this long, ms (default 20 s). */
  timeoutMs?: number;
  /** Pause before the first look, ms; it doubles after each look, up to 2 s (default 200). */
  firstPollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolve true once every file is shared in the channel/thread, false when `timeoutMs` passes first.
 * Asks files.info (Tier 4) with a growing pause, and waits out a rate limit as Slack asks.
 */
export async function waitForShares(
  client: WebClient,
  fileIds: string[],
  where: { channel: string; threadTs?: string },
  opts: WaitForSharesOptions = {},
): Promise<boolean> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? sleepFor;
  const deadline = now() + (opts.timeoutMs ?? 20_000);
  let pause = opts.firstPollMs ?? 200;
  const waiting = new Set(fileIds);
  // Sharing takes a moment: look first after one pause.
  if (waiting.size > 0) await sleep(pause);
  for (;;) {
    let backOff = 0;
    for (const id of [...waiting]) {
      try {
        const res = await client.files.info({ file: id });
        if (isSharedIn(res.file as FileShares, where.channel, where.threadTs)) waiting.delete(id);
      } catch (err) {
        const wait = retryAfterMs(err);
        if (wait === undefined) throw err;
        backOff = Math.max(backOff, wait);
        break;
      }
    }
    if (waiting.size === 0) return true;
    const wait = Math.max(pause, backOff);
    if (now() + wait > deadline) return false;
    await sleep(wait);
    pause = Math.min(pause * 2, 2_000);
  }
}
