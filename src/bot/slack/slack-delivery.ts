/**
 * Follows a job in its Slack thread: one progress message edited with chat.update (coalesced, within
 * a budget all jobs share, and backing off when Slack rate-limits the edits), then the gallery and images uploaded with files v2
 * and, once Slack has shared them in the thread, a result card with the buttons. The message
 * references are stored on the job (platformRefs.slack) so that after a restart the result of a
 * recovered job still lands in the right thread, and Delete knows what to remove.
 *
 * It gets its own Web API client (see slack-rate-limits.ts): a rate limit on delivery never delays
 * the bot's interactive calls such as opening a modal.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Easel, RenderLimits } from '../../app/types.ts';
import type { JobEvent, JobRecord } from '../../jobs/types.ts';
import { CoalescingUpdater } from '../shared/coalescing-updater.ts';
import { deletedMessage, progressMessage, resultMessage, type SlackMessage } from './slack-messages.ts';
import { EditBudgetExhausted, ProgressEditBudget } from './progress-edit-budget.ts';
import { politely, retryAfterMs } from './slack-rate-limits.ts';
import { waitForShares } from './slack-shares.ts';

/** What Easel keeps on a job about its Slack messages. */
export interface SlackRefs {
  channel: string;
  threadTs: string;
  progressTs?: string;
  resultTs?: string;
  fileIds?: string[];
  /** The result was posted; a replayed `done` must not post it again. */
  delivered?: boolean;
}

/** The `error` of a Slack Web API failure (e.g. "message_not_found"). */
export function slackErrorCode(err: unknown): string | undefined {
  const code = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
  return typeof code === 'string' ? code : undefined;
}

export function slackRefsOf(job: JobRecord): SlackRefs | undefined {
  const refs = job.platformRefs?.slack as SlackRefs | undefined;
  return refs && typeof refs.channel === 'string' && typeof refs.threadTs === 'string' ? refs : undefined;
}

export interface DeliveryOptions {
  progressIntervalMs: number;
  renderLimits: RenderLimits;
  logger?: Logger;
  /** How long to wait for Slack to share the uploaded images before posting the card anyway, ms (default 20 s). */
  shareTimeoutMs?: number;
  /** The chat.update budget shared by all progress messages (default: 45 a minute, under Slack's Tier 3). */
  editBudget?: ProgressEditBudget;
}

/** A state of the progress message; `final` for the last one (done, failed, cancelled). */
interface ProgressState {
  msg: SlackMessage;
  final: boolean;
}

const TERMINAL = new Set(['done', 'failed', 'cancelled']);

interface Tracker {
  refs: SlackRefs;
  updater: CoalescingUpdater<ProgressState>;
  unsubscribe?: () => void;
  finished: Promise<void>;
  resolveFinished: () => void;
}

export class SlackDelivery {
  private readonly trackers = new Map<string, Tracker>();
  private offEvent: (() => void) | undefined;
  private stopped = false;
  private readonly pendingWork = new Set<Promise<unknown>>();
  private readonly editBudget: ProgressEditBudget;

  constructor(
    private readonly easel: Easel,
    private readonly client: WebClient,
    private readonly opts: DeliveryOptions,
  ) {
    this.editBudget = opts.editBudget ?? new ProgressEditBudget();
  }

  /** Pick up jobs started before a restart (their refs are on the record) when their events arrive. */
  start(): void {
    this.offEvent = this.easel.onEvent((e) => {
      if (this.stopped || this.trackers.has(e.job.id) || e.job.actor.platform !== 'slack') return;
      const refs = slackRefsOf(e.job);
      if (!refs || refs.delivered) return;
      this.follow(e.job.id, refs);
    });
  }

  /** Post the progress message for a new job in `channel`/`threadTs` and follow it. */
  async track(job: JobRecord, where: { channel: string; threadTs: string }): Promise<void> {
    const refs: SlackRefs = { channel: where.channel, threadTs: where.threadTs };
    const first = progressMessage(job, { type: 'queued', job, position: 1, etaMs: 0 });
    const posted = await this.politely(() =>
      this.client.chat.postMessage({ channel: refs.channel, thread_ts: refs.threadTs, text: first.text, blocks: first.blocks as never }),
    );
    refs.progressTs = posted.ts;
    await this.easel.setPlatformRefs(job.id, { slack: { ...refs } });
    this.follow(job.id, refs);
  }

  /** Resolves when the job's result (or failure) has been posted; for tests and shutdown. */
  async settled(jobId: string): Promise<void> {
    await this.trackers.get(jobId)?.finished;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.offEvent?.();
    for (const t of this.trackers.values()) {
      t.unsubscribe?.();
      void t.updater.stop();
    }
    await Promise.allSettled([...this.pendingWork]);
  }

  /** Delete a job's result messages and files, and say who did it. */
  async removeResult(job: JobRecord, byUserId: string): Promise<void> {
    const refs = slackRefsOf(job);
    if (!refs) return;
    for (const id of refs.fileIds ?? []) {
      await this.politely(() => this.client.files.delete({ file: id })).catch((err) => this.log('files.delete failed', err));
    }
    if (refs.resultTs) {
      const ts = refs.resultTs;
      await this.politely(() => this.client.chat.delete({ channel: refs.channel, ts })).catch((err) => this.log('chat.delete failed', err));
    }
    if (refs.progressTs) {
      const msg = deletedMessage(job, byUserId);
      const ts = refs.progressTs;
      await this.politely(() => this.client.chat.update({ channel: refs.channel, ts, text: msg.text, blocks: msg.blocks as never })).catch((err) =>
        this.log('chat.update failed', err),
      );
    }
  }

  private follow(jobId: string, refs: SlackRefs): void {
    let resolveFinished!: () => void;
    const finished = new Promise<void>((r) => (resolveFinished = r));
    const tracker: Tracker = {
      refs,
      finished,
      resolveFinished,
      updater: new CoalescingUpdater<ProgressState>({
        minIntervalMs: this.opts.progressIntervalMs,
        apply: (state) => this.updateProgress(refs, state),
        // Someone deleted the progress message (or the channel): stop editing it, keep the job.
        isGone: (err) => ['message_not_found', 'channel_not_found', 'is_archived'].includes(slackErrorCode(err) ?? ''),
        onGone: () => this.opts.logger?.info({ channel: refs.channel }, 'slack: progress message is gone; no more edits'),
        onError: (err) => this.log('progress update failed', err),
        // No room in the budget, or Slack rate-limited an edit: wait, then send only the newest state.
        retryAfterMs: (err) => {
          if (err instanceof EditBudgetExhausted) return err.waitMs;
          const ms = retryAfterMs(err);
          if (ms !== undefined) {
            this.editBudget.backOff(ms);
            this.opts.logger?.info({ channel: refs.channel, retryAfterMs: ms }, 'slack: progress edits rate-limited; backing off');
          }
          return ms;
        },
      }),
    };
    this.trackers.set(jobId, tracker);
    tracker.unsubscribe = this.easel.subscribe(jobId, (e) => this.onJobEvent(tracker, e));
  }

  private onJobEvent(tracker: Tracker, e: JobEvent): void {
    if (this.stopped) return;
    if (!TERMINAL.has(e.type)) {
      tracker.updater.push({ msg: progressMessage(e.job, e), final: false });
      return;
    }
    tracker.unsubscribe?.();
    const work = this.finish(tracker, e)
      .catch((err) => this.log('delivering the result failed', err))
      .finally(() => {
        this.trackers.delete(e.job.id);
        this.pendingWork.delete(work);
        tracker.resolveFinished();
      });
    this.pendingWork.add(work);
  }

  private async finish(tracker: Tracker, e: JobEvent): Promise<void> {
    // A replayed terminal event can arrive twice (subscribe replays, onEvent); finish() runs once per tracker.
    if (tracker.refs.delivered) return;
    tracker.refs.delivered = true;
    tracker.updater.push({ msg: progressMessage(e.job, e), final: true }, { final: true });
    // The final edit may have to wait out a rate limit; the result does not wait for it.
    const progressDone = tracker.updater.idle().then(() => tracker.updater.stop());
    try {
      if (e.type === 'done') await this.postResult(tracker, e.job);
    } finally {
      await progressDone;
      await this.easel.setPlatformRefs(e.job.id, { slack: { ...tracker.refs } });
    }
  }

  private async postResult(tracker: Tracker, finished: JobRecord): Promise<void> {
    const job = (await this.easel.getJob(finished.id)) ?? finished;
    const { channel, threadTs } = tracker.refs;
    try {
      const rendered = await this.easel.render(job, this.opts.renderLimits);
      const fileIds: string[] = [];
      if (rendered.files.length > 0) {
        const res = (await this.politely(() =>
          this.client.filesUploadV2({
            channel_id: channel,
            thread_ts: threadTs,
            file_uploads: rendered.files.map((f) => ({ file: f.data, filename: f.name, title: f.description, alt_text: f.description })),
          } as never),
        )) as unknown as { files?: Array<{ files?: Array<{ id?: string }> }> };
        // One message per group (one files.completeUploadExternal call) shows its files: watching one
        // file of each group is enough, and spares files.info calls.
        const watch: string[] = [];
        for (const group of res.files ?? []) {
          const ids = (group.files ?? []).map((f) => f.id).filter((id): id is string => Boolean(id));
          fileIds.push(...ids);
          if (ids.length > 0) watch.push(ids[0]);
        }
        tracker.refs.fileIds = fileIds;
        // Slack shares the files a moment after the upload completes: the card comes after them.
        const shared = await waitForShares(this.client, watch, { channel, threadTs }, { timeoutMs: this.opts.shareTimeoutMs });
        if (!shared) this.opts.logger?.warn({ channel, fileIds }, 'slack: the uploaded images are not shared in the thread yet; posting the card anyway');
      }
      const card = resultMessage(job, rendered);
      const posted = await this.politely(() => this.client.chat.postMessage({ channel, thread_ts: threadTs, text: card.text, blocks: card.blocks as never }));
      tracker.refs.resultTs = posted.ts;
      tracker.refs.fileIds = fileIds;
    } catch (err) {
      this.log('posting the result failed', err);
      const reason = err instanceof Error ? err.message : String(err);
      await this.politely(() =>
        this.client.chat.postMessage({ channel, thread_ts: threadTs, text: `:warning: The job finished, but Easel could not post the result here (${reason}).` }),
      ).catch(() => {});
    }
  }

  /** A call that waits out a rate limit (only this call waits; nothing else is held). */
  private politely<T>(call: () => Promise<T>): Promise<T> {
    return politely(call, { onWait: (ms) => this.opts.logger?.info({ retryAfterMs: ms }, 'slack: rate-limited; retrying after the wait Slack asked for') });
  }

  private async updateProgress(refs: SlackRefs, { msg, final }: ProgressState): Promise<void> {
    // No retry here: the updater backs off on a rate limit and then sends only the newest state.
    if (!refs.progressTs) return;
    const wait = this.editBudget.reserve(final);
    // No room for an in-between state: skip it (a newer one or the final state follows). The final
    // state waits for room (the updater retries it then).
    if (wait > 0 && !final) return;
    if (wait > 0) throw new EditBudgetExhausted(wait);
    await this.client.chat.update({ channel: refs.channel, ts: refs.progressTs, text: msg.text, blocks: msg.blocks as never });
  }

  private log(what: string, err: unknown): void {
    const detail = err instanceof Error ? err.message : String(err);
    this.opts.logger?.warn({ err: detail }, `slack: ${what}`);
  }
}
