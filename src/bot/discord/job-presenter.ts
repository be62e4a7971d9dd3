/**
 * Follows one job and keeps its Discord message current: queue position and ETA, then a progress bar
 * with the newest preview (edits coalesced to one per `editIntervalMs`), then the result, a failure
 * notice or "Cancelled". Everything it needs lives in the job's platformRefs, so a presenter can be
 * rebuilt after a restart from the stored job alone.
 *
 * Delivery outlives the 15-minute interaction token: while the token lives, messages go through the
 * interaction webhook. Shortly before it expires (by the adapter's clock) the presenter hands over:
 * one last edit through the token tells the user the result will come as a new message, and from
 * then on the reply is edited as the bot through the channel. A result after that (or after Discord
 * says the token is dead) is posted as a bot message in the channel, or in the author's DMs when the
 * channel is not writable, or, when their DMs are closed too, as a text-only message in the channel
 * that mentions them; the original reply is edited to point at it. When Discord refuses the files as
 * too large (40005) the result is re-rendered at smaller and smaller sizes until it fits.
 */
import { Routes, type REST } from 'discord.js';
import type pino from 'pino';
import type { Easel, RenderedResult } from '../../app/types.ts';
import type { JobEvent, JobRecord } from '../../jobs/types.ts';
import type { Clock, ClockTimer } from '../shared/clock.ts';
import { CoalescingUpdater } from '../shared/coalescing-updater.ts';
import { describeProgress, formatBytes, jobTitle } from '../shared/job-text.ts';
import { isMessageGone, isNoAccess, isTokenDead, isTooLarge } from './discord-errors.ts';
import { DEFAULT_ATTACHMENT_LIMIT, MAX_FILES, noticeMessage, resultMessage, statusMessage, type OutgoingMessage } from './message-payloads.ts';

/** Interaction tokens live 15 minutes; stop trusting one a little before that. */
export const TOKEN_LIFETIME_MS = 15 * 60 * 1000;
export const TOKEN_MARGIN_MS = 30 * 1000;
/** A last edit through the token is still made when at least this much of its life is left. */
const TOKEN_LAST_USE_MS = 5 * 1000;
/** Files are never stepped down below this size per file after a 40005. */
export const MIN_UPLOAD_STEP_BYTES = 64 * 1024;

export const HANDOVER_NOTE = 'This is taking a while: when it is done I will post the result as a new message and mention you.';

/** What the Discord adapter stores in job.platformRefs.discord. */
export interface DiscordRefs {
  applicationId: string;
  channelId: string;
  guildId?: string;
  interactionToken?: string;
  tokenIssuedAt?: number;
  /** The reply that shows progress (and, while the token lives, the result). */
  messageId?: string;
  attachmentSizeLimit?: number;
  resultChannelId?: string;
  resultMessageId?: string;
  /** Set once the result, failure or cancellation has been shown. */
  delivered?: boolean;
}

export function discordRefsOf(job: JobRecord): DiscordRefs | undefined {
  const r = job.platformRefs?.discord as DiscordRefs | undefined;
  return r && typeof r === 'object' && typeof r.channelId === 'string' ? r : undefined;
}

export interface PresenterDeps {
  easel: Easel;
  rest: REST;
  logger: pino.Logger;
  clock: Clock;
  editIntervalMs: number;
}

interface SentMessage {
  id: string;
  channel_id: string;
}

export class JobPresenter {
  private readonly updater: CoalescingUpdater<string[]>;
  /** Newest preview from the host, and whether the message already shows it. */
  private preview: { image: Buffer; mime: string } | undefined;
  private previewShown = true;
  private tokenDead = false;
  /** The presenter stopped using the token before it expired (see handOver). */
  private tokenRetired = false;
  private handoverTimer: ClockTimer | undefined;
  /** The newest progress lines, for the hand-over edit. */
  private lastLines: string[] = [];
  private originalGone = false;
  private terminal: Promise<void> | undefined;
  private finishedResolve!: () => void;
  /** Resolves when the job's outcome has been shown (or could not be). */
  readonly finished = new Promise<void>((r) => (this.finishedResolve = r));

  constructor(
    private job: JobRecord,
    private refs: DiscordRefs,
    private readonly deps: PresenterDeps,
  ) {
    this.updater = new CoalescingUpdater<string[]>({
      minIntervalMs: deps.editIntervalMs,
      apply: async (lines) => {
        // Upload the preview only when it is new; otherwise the message keeps the one it has.
        const fresh = !this.previewShown ? this.preview : undefined;
        await this.editOriginal(statusMessage(this.job, this.tokenRetired ? [...lines, HANDOVER_NOTE] : lines, fresh));
        if (fresh) this.previewShown = true;
      },
      isGone: (err) => isMessageGone(err) || isNoAccess(err) || isTokenDead(err),
      onGone: (err) => {
        if (isMessageGone(err)) this.originalGone = true;
        deps.logger.debug({ job: job.id, err: String(err) }, 'discord: progress message gone, no more edits');
      },
      onError: (err) => deps.logger.warn({ job: job.id, err: String(err) }, 'discord: progress edit failed'),
      now: () => deps.clock.now(),
    });
    this.scheduleHandover();
  }

  get jobId(): string {
    return this.job.id;
  }

  handle(e: JobEvent): void {
    if (this.terminal) return;
    this.job = { ...e.job, platformRefs: this.job.platformRefs };
    switch (e.type) {
      case 'done':
        this.terminal = this.finish(() => this.deliverResult());
        return;
      case 'failed':
        this.terminal = this.finish(() => this.deliverFailure(e.code, e.reason));
        return;
      case 'cancelled':
        this.terminal = this.finish(() => this.deliverNotice(`**${jobTitle(this.job)}** for <@${this.job.actor.userId}>: cancelled.`));
        return;
      default:
        if (e.type === 'running' && e.preview) {
          this.preview = e.preview;
          this.previewShown = false;
        }
        this.lastLines = describeProgress(e);
        this.updater.push(this.lastLines);
    }
  }

  /** Stop editing (bot shutting down). */
  async stop(): Promise<void> {
    this.cancelHandover();
    await this.updater.stop();
  }

  private scheduleHandover(): void {
    if (!this.refs.interactionToken || this.refs.tokenIssuedAt === undefined || this.refs.delivered) return;
    const at = this.refs.tokenIssuedAt + TOKEN_LIFETIME_MS - TOKEN_MARGIN_MS;
    this.handoverTimer = this.deps.clock.setTimeout(() => {
      this.handoverTimer = undefined;
      void this.handOver().catch((err) => this.deps.logger.debug({ job: this.job.id, err: String(err) }, 'discord: hand-over edit failed'));
    }, at - this.deps.clock.now());
  }

  private cancelHandover(): void {
    if (this.handoverTimer) this.deps.clock.clearTimeout(this.handoverTimer);
    this.handoverTimer = undefined;
  }

  /**
   * The token is about to expire and the job is still going: stop using the token, and with one last
   * edit through it (while it surely still works) tell the user where the result will come.
   */
  private async handOver(): Promise<void> {
    if (this.terminal || this.tokenDead || this.tokenRetired || this.refs.tokenIssuedAt === undefined) return;
    this.tokenRetired = true;
    this.deps.logger.info({ job: this.job.id }, 'discord: interaction token about to expire, handing over to bot messages');
    const left = this.refs.tokenIssuedAt + TOKEN_LIFETIME_MS - this.deps.clock.now();
    if (this.originalGone || left < TOKEN_LAST_USE_MS) return;
    const m = statusMessage(this.job, [...this.lastLines, HANDOVER_NOTE]);
    await this.deps.rest.patch(this.webhookRoute('@original'), { body: m.body, files: m.files, auth: false });
  }

  private async finish(work: () => Promise<void>): Promise<void> {
    this.cancelHandover();
    await this.updater.stop();
    try {
      await work();
      this.refs = { ...this.refs, delivered: true };
      await this.deps.easel.setPlatformRefs(this.job.id, { discord: this.refs });
    } catch (err) {
      this.deps.logger.error({ job: this.job.id, err: err instanceof Error ? err.stack : String(err) }, 'discord: could not deliver the outcome of a job');
    } finally {
      this.finishedResolve();
    }
  }

  // ---- transport -------------------------------------------------------------------------------

  private tokenAlive(): boolean {
    if (this.tokenDead || this.tokenRetired || !this.refs.interactionToken || this.refs.tokenIssuedAt === undefined) return false;
    return this.deps.clock.now() - this.refs.tokenIssuedAt < TOKEN_LIFETIME_MS - TOKEN_MARGIN_MS;
  }

  private webhookRoute(messageId?: string): `/${string}` {
    const token = this.refs.interactionToken as string;
    return messageId
      ? Routes.webhookMessage(this.refs.applicationId, token, messageId)
      : Routes.webhook(this.refs.applicationId, token);
  }

  /** Edit the reply: through the token while it lives, else as the bot through the channel route. */
  private async editOriginal(m: OutgoingMessage): Promise<SentMessage> {
    if (this.tokenAlive()) {
      try {
        return (await this.deps.rest.patch(this.webhookRoute('@original'), { body: m.body, files: m.files, auth: false })) as SentMessage;
      } catch (err) {
        if (!isTokenDead(err)) throw err;
        this.tokenDead = true;
      }
    }
    if (!this.refs.messageId) throw Object.assign(new Error('no message to edit'), { code: 10008 });
    return (await this.deps.rest.patch(Routes.channelMessage(this.refs.channelId, this.refs.messageId), {
      body: m.body,
      files: m.files,
    })) as SentMessage;
  }

  /**
   * A new message: a follow-up through the token, else a bot message in the channel, else a DM. When
   * the DM is refused too (50007, DMs closed) and `textOnly` is given, that goes to the channel: the
   * channel may refuse files (no Attach Files) yet take text.
   */
  private async postNew(m: OutgoingMessage, opts: { viaToken: boolean; textOnly?: OutgoingMessage }): Promise<SentMessage> {
    if (opts.viaToken && this.tokenAlive()) {
      try {
        return (await this.deps.rest.post(this.webhookRoute(), {
          body: m.body,
          files: m.files,
          auth: false,
          query: new URLSearchParams({ wait: 'true' }),
        })) as SentMessage;
      } catch (err) {
        if (!isTokenDead(err)) throw err;
        this.tokenDead = true;
      }
    }
    try {
      return (await this.deps.rest.post(Routes.channelMessages(this.refs.channelId), { body: m.body, files: m.files })) as SentMessage;
    } catch (err) {
      if (!isNoAccess(err)) throw err;
      this.deps.logger.info({ job: this.job.id }, 'discord: channel not writable, sending the result by DM');
    }
    try {
      const dm = (await this.deps.rest.post(Routes.userChannels(), { body: { recipient_id: this.job.actor.userId } })) as { id: string };
      return (await this.deps.rest.post(Routes.channelMessages(dm.id), { body: m.body, files: m.files })) as SentMessage;
    } catch (err) {
      if (!opts.textOnly || !isNoAccess(err)) throw err;
      this.deps.logger.info({ job: this.job.id, err: String(err) }, 'discord: DM refused too, posting the result without files in the channel');
    }
    return (await this.deps.rest.post(Routes.channelMessages(this.refs.channelId), { body: opts.textOnly.body, files: opts.textOnly.files })) as SentMessage;
  }

  private link(m: SentMessage): string {
    const inGuild = m.channel_id === this.refs.channelId && this.refs.guildId;
    return `https://discord.com/channels/${inGuild ? this.refs.guildId : '@me'}/${m.channel_id}/${m.id}`;
  }

  // ---- outcomes --------------------------------------------------------------------------------

  private async render(limit: number) {
    return this.deps.easel.render(this.job, { maxFileBytes: limit, maxFiles: MAX_FILES });
  }

  /** The result in the reply while the token lives, else as a new message that pings the author. */
  private async sendResult(rendered: RenderedResult, extraLines: string[] = []): Promise<{ sent: SentMessage; replaced: boolean }> {
    if (!this.originalGone && this.tokenAlive()) {
      const msg = resultMessage(this.job, rendered, { mention: false, extraLines });
      try {
        const sent = (await this.deps.rest.patch(this.webhookRoute('@original'), { body: msg.body, files: msg.files, auth: false })) as SentMessage;
        return { sent, replaced: true };
      } catch (err) {
        if (isMessageGone(err)) this.originalGone = true;
        else if (isTokenDead(err)) this.tokenDead = true;
        else throw err;
      }
    }
    // The token is gone (or the reply was deleted): a new message, pinging the author.
    const textOnly = resultMessage(this.job, rendered, {
      mention: true,
      withoutFiles: true,
      extraLines: [
        ...extraLines,
        'I could not attach the images here: I may not attach files in this channel and your DMs are closed to me. ' +
          'Allow direct messages from this server, or ask a moderator to let me attach files here; the buttons below still work.',
      ],
    });
    const sent = await this.postNew(resultMessage(this.job, rendered, { mention: true, extraLines }), { viaToken: true, textOnly });
    return { sent, replaced: false };
  }

  private async deliverResult(): Promise<void> {
    let limit = this.refs.attachmentSizeLimit ?? DEFAULT_ATTACHMENT_LIMIT;
    let rendered = await this.render(limit);
    let outcome: { sent: SentMessage; replaced: boolean } | undefined;
    for (;;) {
      try {
        outcome = await this.sendResult(rendered);
        break;
      } catch (err) {
        if (!isTooLarge(err)) throw err;
        if (limit <= MIN_UPLOAD_STEP_BYTES) break;
        // Discord's real cap is lower than it told us: step the files down until they fit.
        limit = Math.max(MIN_UPLOAD_STEP_BYTES, Math.floor(limit / 2));
        this.deps.logger.info({ job: this.job.id, limit }, 'discord: files too large (40005), trying smaller ones');
        rendered = await this.render(limit);
      }
    }
    if (!outcome) {
      const note = `Discord refused the images even at ${formatBytes(limit)} per file, so they are not attached. The buttons below still work.`;
      outcome = await this.sendResult({ ...rendered, files: [] }, [note]);
    }
    this.refs = { ...this.refs, resultChannelId: outcome.sent.channel_id, resultMessageId: outcome.sent.id };
    if (!outcome.replaced && !this.originalGone && this.refs.messageId) {
      await this.editOriginal(noticeMessage(`**${jobTitle(this.job)}** for <@${this.job.actor.userId}> is done: ${this.link(outcome.sent)}`)).catch(
        (err) => this.deps.logger.debug({ job: this.job.id, err: String(err) }, 'discord: could not point the reply at the result'),
      );
    }
  }

  private async deliverFailure(code: string, reason: string): Promise<void> {
    const text = `Your **${jobTitle(this.job)}** failed: ${reason || code}`;
    if (this.tokenAlive()) {
      try {
        await this.deps.rest.post(this.webhookRoute(), {
          body: { content: text, flags: 64, allowed_mentions: { parse: [] } },
          auth: false,
          query: new URLSearchParams({ wait: 'true' }),
        });
        await this.deps.rest.delete(this.webhookRoute('@original'), { auth: false }).catch(() => undefined);
        return;
      } catch (err) {
        if (!isTokenDead(err)) throw err;
        this.tokenDead = true;
      }
    }
    await this.deliverNotice(`**${jobTitle(this.job)}** for <@${this.job.actor.userId}> failed: ${reason || code}`);
  }

  private async deliverNotice(text: string): Promise<void> {
    if (!this.originalGone) {
      try {
        await this.editOriginal(noticeMessage(text));
        return;
      } catch (err) {
        if (!isMessageGone(err) && !isNoAccess(err) && !isTokenDead(err)) throw err;
      }
    }
    await this.postNew(noticeMessage(text), { viaToken: true });
  }
}
