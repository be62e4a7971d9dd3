/**
 * Easel's Slack front end (Bolt 5). Entry points:
 *  - /restyle, /upscale, /variations, … (one per easel.commands): open a modal with a file input and the
 *    command's options, pre-filled from the typed text (`/restyle oil painting denoise 0.6`);
 *  - the "Easel this image" message shortcut: the same modal with the message's image;
 *  - `@Easel restyle watercolor` with an image in the message or its thread: starts a job directly;
 *  - the buttons on results (reroll, subtle, strong, ladder, V/U k, edit, delete; cancel while running).
 * Transport: the HTTP receiver with the signing secret (production) or Socket Mode with the app token
 * (development), chosen by config.slack.mode. The adapter only talks to the Easel interface.
 * Web API: one client for interactive calls (modals, replies) and one for job delivery (progress
 * edits, uploads, result cards), both failing a rate-limited call instead of pausing (slack-rate-limits.ts).
 */
import { App, HTTPReceiver, SocketModeReceiver, type Receiver } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { AdmissionTicket, Easel, RenderLimits } from '../../app/types.ts';
import type { EaselConfig } from '../../config/types.ts';
import type { CommandName, CommandSpec, JobAction } from '../../commands/types.ts';
import { isUserError } from '../../commands/errors.ts';
import type { Actor, JobRecord } from '../../jobs/types.ts';
import { describeQueue, describeStatus, jobTitle } from '../shared/job-text.ts';
import { memoryKeyClaims, type KeyClaimsFactory } from '../shared/recent-keys.ts';
import { decodeJobAction, JOB_ACTION_PATTERN } from './action-id.ts';
import { boltLogger } from './bolt-logger.ts';
import { SlackDelivery, slackErrorCode } from './slack-delivery.ts';
import { nonBlockingClientOptions, politely } from './slack-rate-limits.ts';
import { downloadSlackFile, isImageFile } from './slack-files.ts';
import { parseMention, mentionHelp, slackPlainText } from './slack-mention.ts';
import { escapeText, errorText, requestMessage } from './slack-messages.ts';
import {
  buildCommandModal,
  decodeContext,
  EDIT_CALLBACK,
  imageBlockId,
  PICK_COMMAND_ACTION,
  readModalValues,
  SUBMIT_CALLBACK,
  type ModalContext,
  type SlackFileRef,
} from './slack-modal.ts';

export const MESSAGE_SHORTCUT = 'easel_image';

export interface SlackBotOptions {
  logger?: Logger;
  /** Hosts besides files.slack.com that url_private may point to. Default: the host of config.apiUrl, if set. */
  fileHosts?: string[];
  /** Largest Slack file Easel downloads, bytes (default 25 MB, like limits.maxInputBytes). */
  maxDownloadBytes?: number;
  /** Least time between two edits of a progress message, ms (default 1500). */
  progressIntervalMs?: number;
  renderLimits?: RenderLimits;
  /** HTTP mode: address to listen on (default all interfaces). */
  host?: string;
  /** Web API retries (default: the SDK's; tests use 0). */
  retries?: number;
  /** A second press of the same button by the same person within this many ms is a double click (default 2000). */
  doubleClickMs?: number;
  /** Where retries and double clicks are remembered (default: this process; with Redis: every instance). */
  recentKeys?: KeyClaimsFactory;
}

export interface SlackBot {
  stop(): Promise<void>;
  /** HTTP mode: the port the receiver listens on. */
  port?: number;
  /** Resolves when everything started for a job has been posted (tests). */
  settled(jobId: string): Promise<void>;
  /**
   * Resolves once no Slack request (command, click, submission, event) is being handled any more,
   * including work done after the ack. Tests use it to check that something did NOT happen.
   */
  idle(): Promise<void>;
}

const DEFAULT_MAX_DOWNLOAD = 25 * 1024 * 1024;
const DEFAULT_RENDER_LIMITS: RenderLimits = { maxFileBytes: 20 * 1024 * 1024, maxFiles: 10 };

const VERBS: Record<JobAction, string> = {
  reroll: 'reroll',
  subtle: 'rerun',
  strong: 'rerun',
  ladder: 'make a ladder of',
  vary: 'vary',
  upscale: 'upscale',
  edit: 'edit',
  delete: 'delete',
  cancel: 'cancel',
};

interface StartRequest {
  command: CommandName;
  options: Record<string, unknown>;
  files: SlackFileRef[];
  actor: Actor;
  channel: string;
  /** Post in this thread; a new request message (thread root) is posted when unset. */
  threadTs?: string;
  /** Errors are replied in the thread for everyone (mentions) instead of only to the user. */
  publicErrors: boolean;
  /** The interaction's response_url, for errors when the bot can't post in the channel. */
  responseUrl?: string;
}

export async function startSlackBot(easel: Easel, config: EaselConfig['slack'], opts: SlackBotOptions = {}): Promise<SlackBot> {
  if (!config.botToken) throw new Error('Slack: the bot token is not set (slack.botToken or SLACK_BOT_TOKEN).');
  if (config.mode === 'http' && !config.signingSecret) {
    throw new Error('Slack: HTTP mode needs the signing secret (slack.signingSecret or SLACK_SIGNING_SECRET).');
  }
  if (config.mode === 'socket' && !config.appToken) {
    throw new Error('Slack: Socket Mode needs an app-level token (slack.appToken or SLACK_APP_TOKEN, starts with xapp-).');
  }
  const botToken = config.botToken;
  const logger = boltLogger(opts.logger);
  const baseClientOptions = {
    ...(config.apiUrl ? { slackApiUrl: config.apiUrl } : {}),
    ...(opts.retries !== undefined ? { retryConfig: { retries: opts.retries } } : {}),
  };
  // A 429 must not pause a client (the SDK's default): it would hold back modals whose trigger_id
  // lives 3 s. Rate-limited calls fail at once and are retried one by one where waiting makes sense.
  const clientOptions = nonBlockingClientOptions(baseClientOptions);
  let receiver: Receiver;
  let socket: SocketModeReceiver | undefined;
  if (config.mode === 'socket') {
    socket = new SocketModeReceiver({ appToken: config.appToken!, logger, installerOptions: { clientOptions: baseClientOptions } });
    receiver = socket;
  } else {
    receiver = new HTTPReceiver({ signingSecret: config.signingSecret!, logger, endpoints: ['/slack/events'] });
  }
  const app = new App({ token: botToken, receiver, logger, clientOptions, deferInitialization: true });
  try {
    await app.init(); // auth.test with the bot token
  } catch (err) {
    throw new Error(`Slack refused the bot token (${slackErrorCode(err) ?? errorMessage(err)}). Check SLACK_BOT_TOKEN (xoxb-…) and that the app is installed.`);
  }
  /** Interactive calls: views, replies to people, reading their files. */
  const client: WebClient = app.client;
  /** Job delivery (progress edits, uploads, result cards): its own client, so its rate limits stay its own. */
  const deliveryClient = new WebClient(botToken, { ...clientOptions, logger });

  const fileHosts = opts.fileHosts ?? defaultFileHosts(config.apiUrl);
  const maxDownloadBytes = opts.maxDownloadBytes ?? DEFAULT_MAX_DOWNLOAD;
  const delivery = new SlackDelivery(easel, deliveryClient, {
    progressIntervalMs: opts.progressIntervalMs ?? 1500,
    renderLimits: opts.renderLimits ?? DEFAULT_RENDER_LIMITS,
    logger: opts.logger,
  });
  /** Deliveries Slack may repeat (event retries, socket redelivery): remembered for 30 minutes. */
  // Shared by every instance when they run on one Redis (opts.recentKeys), so retries are caught anywhere.
  const recentKeys = opts.recentKeys ?? memoryKeyClaims;
  const deliveries = recentKeys('slack-deliveries', 30 * 60_000);
  /** Double clicks: the same person, the same button on the same message, within doubleClickMs. */
  const clicks = recentKeys('slack-clicks', opts.doubleClickMs ?? 2_000);
  const specOf = (name: string): CommandSpec | undefined => easel.commands.find((s) => s.name === name);
  const warn = (what: string, err: unknown) => opts.logger?.warn({ err: err instanceof Error ? err.message : String(err) }, `slack: ${what}`);
  /** A call that may wait out a rate limit (never used for views.open: its trigger_id would expire). */
  const patiently = <T>(call: () => Promise<T>): Promise<T> =>
    politely(call, { maxWaitMs: 30_000, onWait: (ms) => opts.logger?.info({ retryAfterMs: ms }, 'slack: rate-limited; retrying after the wait Slack asked for') });

  /** Requests being handled (after their ack too), for idle(). */
  let handling = 0;
  let idleWaiters: Array<() => void> = [];
  app.use(async ({ next }) => {
    handling++;
    try {
      await next();
    } finally {
      handling--;
      if (handling === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  });

  const friendly = (err: unknown): string => {
    if (isUserError(err)) return err.message;
    const code = (err as { data?: { error?: string } })?.data?.error;
    if (code === 'not_in_channel' || code === 'channel_not_found') {
      return 'Easel is not in this channel. Invite it with `/invite @Easel` and try again.';
    }
    warn('unexpected error', err);
    return 'Something went wrong inside Easel. Nothing was lost; please try again. (Details are in the operator log.)';
  };

  /**
   * Tell someone about a problem: in the thread for everyone (mentions), else only to them. When the
   * bot can't post in the channel (not invited), fall back to the interaction's response_url.
   */
  const tellUser = async (channel: string, user: string, threadTs: string | undefined, text: string, publicly: boolean, responseUrl?: string) => {
    try {
      if (publicly) await patiently(() => client.chat.postMessage({ channel, thread_ts: threadTs, text: errorText(text) }));
      else await patiently(() => client.chat.postEphemeral({ channel, user, text: errorText(text), ...(threadTs ? { thread_ts: threadTs } : {}) }));
      return;
    } catch (err) {
      if (!responseUrl) {
        warn('could not tell the user about a problem', err);
        return;
      }
    }
    try {
      const res = await fetch(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ response_type: 'ephemeral', replace_original: false, text: errorText(text) }),
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      if (!res.ok) warn('response_url refused the message', `status ${res.status}`);
    } catch (err) {
      warn('could not tell the user about a problem', err);
    }
  };

  /** Post the request line that starts the job's thread; returns its ts. */
  const postRequest = async (channel: string, job: JobRecord, options: Record<string, unknown>): Promise<string> => {
    const root = requestMessage(job.actor.userId, job.command, options);
    const posted = await patiently(() => client.chat.postMessage({ channel, text: root.text, blocks: root.blocks as never }));
    return posted.ts!;
  };

  /**
   * Slack sometimes sends a file without its links (`file_access: "check_file_info"`, e.g. in shared
   * channels or events): ask files.info for them.
   */
  const withDownloadLink = async (f: SlackFileRef): Promise<SlackFileRef> => {
    if (f.url_private_download || f.url_private || !f.id) return f;
    try {
      const id = f.id;
      const res = await patiently(() => client.files.info({ file: id }));
      return { ...f, ...(res.file as SlackFileRef) };
    } catch (err) {
      warn('files.info failed', err);
      return f;
    }
  };

  /** Files as listed on a message or event, with the ones Slack sent without details filled in. */
  const completeFiles = (list: SlackFileRef[]): Promise<SlackFileRef[]> => Promise.all(list.map(withDownloadLink));

  const startJob = async (req: StartRequest): Promise<JobRecord | undefined> => {
    let job: JobRecord | undefined;
    let ticket: AdmissionTicket | undefined;
    try {
      // Admission (policy, limits, cooldown, a free upload slot) before any file is fetched.
      ticket = await easel.admit({ command: req.command, actor: req.actor });
      const images = [];
      for (const f of req.files) {
        images.push(await downloadSlackFile(await withDownloadLink(f), { botToken, extraHosts: fileHosts, maxBytes: maxDownloadBytes }));
      }
      job = await easel.submit({ command: req.command, options: req.options, images, actor: req.actor, ticket });
      const threadTs = req.threadTs ?? (await postRequest(req.channel, job, req.options));
      await delivery.track(job, { channel: req.channel, threadTs });
      return job;
    } catch (err) {
      // Queued but nowhere to show it: don't let it run unseen.
      if (job) await easel.cancel(job.id, req.actor).catch(() => {});
      await tellUser(req.channel, req.actor.userId, req.threadTs, friendly(err), req.publicErrors, req.responseUrl);
      return undefined;
    } finally {
      ticket?.release(); // a no-op once submit has used it
    }
  };

  const choicesFor = (command: CommandName) => (option: string) => {
    try {
      return easel.choices(command, option);
    } catch {
      return [];
    }
  };

  // ---- slash commands -> modal ---------------------------------------------------------------
  for (const spec of easel.commands) {
    app.command(`/${spec.name}`, async ({ command, ack }) => {
      await ack();
      if (!(await deliveries.claim(`cmd:${command.trigger_id}`))) return;
      let prefill: Record<string, unknown> = {};
      let notice: string | undefined;
      try {
        prefill = easel.parseText(spec.name, slackPlainText(command.text ?? ''));
      } catch (err) {
        notice = `:warning: ${escapeText(friendly(err))}`;
      }
      const context: ModalContext = { command: spec.name, channelId: command.channel_id, responseUrl: command.response_url };
      try {
        await client.views.open({
          trigger_id: command.trigger_id,
          view: buildCommandModal({ spec, context, prefill, choices: choicesFor(spec.name), mode: 'new', notice }) as never,
        });
      } catch (err) {
        warn('views.open failed', err);
        await tellUser(command.channel_id, command.user_id, undefined, 'Slack did not let Easel open the form in time. Please run the command again.', false, command.response_url);
      }
    });
  }

  app.command('/easel', async ({ command, ack }) => {
    const [word = 'help', arg] = (command.text ?? '').trim().split(/\s+/);
    const actor: Actor = { platform: 'slack', userId: command.user_id, displayName: command.user_name, channelId: command.channel_id, serverId: command.team_id };
    const reply = (lines: string[]) => ack({ response_type: 'ephemeral', text: escapeText(lines.join('\n')).slice(0, 3000) });
    try {
      switch (word.toLowerCase()) {
        case 'status':
          return await reply(describeStatus(await easel.status()));
        case 'queue': {
          const s = await easel.status();
          return await reply(describeQueue(await easel.jobsOf(actor), s));
        }
        case 'cancel': {
          const mine = await easel.jobsOf(actor);
          const job = arg ? await easel.getJob(arg) : mine.at(-1);
          if (!job) return await reply([arg ? `There is no job ${arg}.` : 'You have no jobs waiting or running.']);
          if (!easel.mayAct(job, 'cancel', actor)) return await reply([`Only the person who started job ${job.id} can cancel it.`]);
          await easel.cancel(job.id, actor);
          return await reply([`Cancelled ${job.id} (${jobTitle(job)}).`]);
        }
        default:
          return await ack({ response_type: 'ephemeral', text: mentionHelp(easel.commands) });
      }
    } catch (err) {
      await ack({ response_type: 'ephemeral', text: errorText(friendly(err)) }).catch(() => {});
    }
  });

  // ---- message shortcut -> modal with the message's image ------------------------------------
  app.shortcut({ callback_id: MESSAGE_SHORTCUT, type: 'message_action' }, async ({ shortcut, ack }) => {
    await ack();
    if (!(await deliveries.claim(`sc:${shortcut.trigger_id}`))) return;
    const message = shortcut.message as { ts: string; thread_ts?: string; files?: SlackFileRef[] };
    const image = (await completeFiles(message.files ?? [])).find(isImageFile);
    const channel = shortcut.channel.id;
    if (!image) {
      await tellUser(channel, shortcut.user.id, message.thread_ts, 'That message has no image. Use the shortcut on a message with a picture.', false, shortcut.response_url);
      return;
    }
    const spec = easel.commands[0];
    const context: ModalContext = {
      command: spec.name,
      channelId: channel,
      threadTs: message.thread_ts ?? message.ts,
      messageImage: { url: image.url_private_download ?? image.url_private ?? '', name: image.name ?? 'image', ...(image.id ? { id: image.id } : {}) },
      responseUrl: shortcut.response_url,
    };
    try {
      await client.views.open({
        trigger_id: shortcut.trigger_id,
        view: buildCommandModal({ spec, context, prefill: {}, choices: choicesFor(spec.name), mode: 'new', commandPicker: easel.commands }) as never,
      });
    } catch (err) {
      warn('views.open failed', err);
      await tellUser(channel, shortcut.user.id, context.threadTs, 'Slack did not let Easel open the form in time. Please try again.', false, shortcut.response_url);
    }
  });

  app.action(PICK_COMMAND_ACTION, async ({ ack, body, action }) => {
    await ack();
    const view = (body as { view?: { id: string; hash?: string; private_metadata?: string } }).view;
    const picked = (action as { selected_option?: { value: string } }).selected_option?.value;
    const context = decodeContext(view?.private_metadata);
    const spec = picked ? specOf(picked) : undefined;
    if (!view || !context || !spec) return;
    try {
      await client.views.update({
        view_id: view.id,
        hash: view.hash,
        view: buildCommandModal({
          spec,
          context: { ...context, command: spec.name },
          prefill: {},
          choices: choicesFor(spec.name),
          mode: 'new',
          commandPicker: easel.commands,
        }) as never,
      });
    } catch (err) {
      warn('views.update failed', err);
    }
  });

  // ---- modal submissions ---------------------------------------------------------------------
  app.view(SUBMIT_CALLBACK, async ({ ack, body, view }) => {
    const context = decodeContext(view.private_metadata);
    const spec = context ? specOf(context.command) : undefined;
    if (!context || !spec) {
      await ack({ response_action: 'errors', errors: {} } as never);
      return;
    }
    const values = readModalValues(spec, view.state.values as never, 'new');
    const files: SlackFileRef[] = [];
    spec.images.forEach((_, i) => {
      const uploaded = values.files[i];
      const m = i === 0 ? context.messageImage : undefined;
      const fromMessage = m ? { ...(m.url ? { url_private: m.url } : {}), name: m.name, ...(m.id ? { id: m.id } : {}) } : undefined;
      const file = uploaded ?? fromMessage;
      if (!file) values.errors[imageBlockId(i)] = 'Attach an image here.';
      else if (uploaded && !isImageFile(uploaded)) values.errors[imageBlockId(i)] = `${uploaded.name ?? 'That file'} is not an image.`;
      else files.push(file);
    });
    if (Object.keys(values.errors).length > 0) {
      await ack({ response_action: 'errors', errors: values.errors });
      return;
    }
    await ack();
    if (!(await deliveries.claim(`view:${view.id}`))) return;
    await startJob({
      command: spec.name,
      options: values.options,
      files,
      actor: actorOf(body.user, context.channelId, body.team?.id),
      channel: context.channelId,
      threadTs: context.threadTs,
      publicErrors: false,
      responseUrl: context.responseUrl,
    });
  });

  app.view(EDIT_CALLBACK, async ({ ack, body, view }) => {
    const context = decodeContext(view.private_metadata);
    const spec = context ? specOf(context.command) : undefined;
    if (!context?.jobId || !spec) {
      await ack();
      return;
    }
    const values = readModalValues(spec, view.state.values as never, 'edit');
    if (Object.keys(values.errors).length > 0) {
      await ack({ response_action: 'errors', errors: values.errors });
      return;
    }
    await ack();
    if (!(await deliveries.claim(`view:${view.id}`))) return;
    const actor = actorOf(body.user, context.channelId, body.team?.id);
    try {
      const parent = await easel.getJob(context.jobId);
      if (!parent) throw new Error('gone');
      const edits: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(values.options)) if (parent.params[k] !== v) edits[k] = v;
      const job = await easel.rerun({ jobId: parent.id, action: 'edit', actor, edits });
      await delivery.track(job, { channel: context.channelId, threadTs: context.threadTs ?? (await postRequest(context.channelId, job, edits)) });
    } catch (err) {
      const text = err instanceof Error && err.message === 'gone' ? 'That result is no longer available.' : friendly(err);
      await tellUser(context.channelId, actor.userId, context.threadTs, text, false, context.responseUrl);
    }
  });

  // ---- mentions ------------------------------------------------------------------------------
  app.event('app_mention', async ({ event, body }) => {
    const eventId = (body as { event_id?: string }).event_id;
    if (eventId && !(await deliveries.claim(`ev:${eventId}`))) return;
    if (!(await deliveries.claim(`mention:${event.channel}:${event.ts}`))) return;
    const threadTs = event.thread_ts ?? event.ts;
    const user = event.user ?? '';
    const parsed = parseMention(event.text ?? '', easel.commands);
    if (parsed.kind === 'help') {
      await tellUser(event.channel, user, threadTs, parsed.text, true);
      return;
    }
    const spec = specOf(parsed.command)!;
    let options: Record<string, unknown>;
    try {
      options = easel.parseText(spec.name, parsed.rest);
    } catch (err) {
      await tellUser(event.channel, user, threadTs, friendly(err), true);
      return;
    }
    const files = (await completeFiles((event as { files?: SlackFileRef[] }).files ?? [])).filter(isImageFile);
    // Not enough images on the event: read the message itself (an app_mention may come without its
    // files) and, in a thread, the earlier messages of the thread.
    if (files.length < spec.images.length) {
      try {
        const more = await threadImages(patiently, client, completeFiles, event.channel, event.thread_ts ?? event.ts, event.ts, spec.images.length - files.length, files);
        files.push(...more);
      } catch (err) {
        warn('conversations.replies failed', err);
      }
    }
    if (files.length < spec.images.length) {
      const need = spec.images.length > 1 ? `${spec.images.length} images` : 'an image';
      await tellUser(event.channel, user, threadTs, `/${spec.name} needs ${need}: attach it to your message, or mention me in a thread that has one.`, true);
      return;
    }
    await startJob({
      command: spec.name,
      options,
      files: files.slice(0, spec.images.length),
      actor: { platform: 'slack', userId: user, channelId: event.channel, serverId: (body as { team_id?: string }).team_id },
      channel: event.channel,
      threadTs,
      publicErrors: true,
    });
  });

  // ---- buttons on progress and result messages -----------------------------------------------
  app.action(JOB_ACTION_PATTERN, async ({ ack, body, action }) => {
    await ack();
    const a = action as { action_id: string; action_ts?: string };
    const b = decodeJobAction(a.action_id);
    const payload = body as {
      user: { id: string; name?: string; username?: string };
      team?: { id: string } | null;
      channel?: { id: string };
      container?: { channel_id?: string; message_ts?: string };
      message?: { ts: string; thread_ts?: string };
      trigger_id?: string;
      response_url?: string;
    };
    const channel = payload.channel?.id ?? payload.container?.channel_id;
    const messageTs = payload.message?.ts ?? payload.container?.message_ts;
    if (!b || !channel) return;
    const threadTs = payload.message?.thread_ts ?? messageTs;
    if (a.action_ts && !(await deliveries.claim(`act:${a.action_ts}:${a.action_id}`))) return;
    if (!(await clicks.claim(`${payload.user.id}:${a.action_id}:${messageTs}`))) return;
    const actor = actorOf(payload.user, channel, payload.team?.id);
    try {
      const job = await easel.getJob(b.jobId);
      if (!job) {
        await tellUser(channel, actor.userId, threadTs, 'That result is no longer available (deleted or expired).', false, payload.response_url);
        return;
      }
      if (!easel.mayAct(job, b.action, actor)) {
        await tellUser(channel, actor.userId, threadTs, `Only <@${job.actor.userId}> can ${VERBS[b.action]} this.`, false, payload.response_url);
        return;
      }
      switch (b.action) {
        case 'cancel':
          await easel.cancel(job.id, actor);
          return;
        case 'delete': {
          const removed = await easel.remove(job.id, actor);
          await delivery.removeResult({ ...job, ...removed, platformRefs: { ...job.platformRefs, ...removed.platformRefs } }, actor.userId);
          return;
        }
        case 'edit': {
          const spec = specOf(job.command);
          if (!spec || !payload.trigger_id) return;
          const context: ModalContext = { command: job.command, channelId: channel, threadTs, jobId: job.id, responseUrl: payload.response_url };
          await client.views.open({
            trigger_id: payload.trigger_id,
            view: buildCommandModal({ spec, context, prefill: job.params, choices: choicesFor(spec.name), mode: 'edit' }) as never,
          });
          return;
        }
        default: {
          // Retry on a failed or cancelled job: the same settings again. Easel reruns unfinished jobs
          // only as edits, so ask for an edit that changes nothing.
          const retry = b.action === 'reroll' && (job.state === 'failed' || job.state === 'cancelled');
          const next = retry
            ? await easel.rerun({ jobId: job.id, action: 'edit', actor, edits: {} })
            : await easel.rerun({ jobId: job.id, action: b.action, actor, index: b.index });
          await delivery.track(next, { channel, threadTs: threadTs! });
        }
      }
    } catch (err) {
      await tellUser(channel, actor.userId, threadTs, friendly(err), false, payload.response_url);
    }
  });

  app.error(async (err) => {
    warn('unhandled error in a Slack handler', err);
  });

  let port: number | undefined;
  if (config.mode === 'socket') {
    try {
      await app.start(); // apps.connections.open with the app token, then the WebSocket
    } catch (err) {
      await socket?.client.disconnect().catch(() => {});
      throw new Error(`Slack refused the Socket Mode connection (${slackErrorCode(err) ?? errorMessage(err)}). Check SLACK_APP_TOKEN (xapp-…, scope connections:write) and that Socket Mode is on.`);
    }
  } else {
    const server = (await app.start(opts.host ? { port: config.port, host: opts.host } : config.port)) as Server;
    port = (server.address() as AddressInfo).port;
  }
  delivery.start();

  let stopped = false;
  return {
    port,
    settled: (jobId) => delivery.settled(jobId),
    idle: () => (handling === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    async stop() {
      if (stopped) return;
      stopped = true;
      await delivery.stop();
      // Bolt 5's stop() does not wait for the socket to close; disconnect first (or the process lingers).
      if (socket) await socket.client.disconnect().catch(() => {});
      await app.stop().catch(() => {});
    },
  };
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1', '[::1]'];

/**
 * Hosts besides files.slack.com that url_private may point to: none against real Slack; with a custom
 * API address (a local or test Slack), its host, and every loopback name when that host is loopback.
 */
export function defaultFileHosts(apiUrl: string | undefined): string[] {
  if (!apiUrl) return [];
  const host = new URL(apiUrl).hostname.toLowerCase();
  return LOOPBACK.includes(host) ? [...LOOPBACK] : [host];
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function actorOf(user: { id: string; name?: string; username?: string }, channelId: string, teamId?: string): Actor {
  return { platform: 'slack', userId: user.id, displayName: user.username ?? user.name, channelId, serverId: teamId };
}

/**
 * Images in a thread (or a lone message), newest first, from the message at `untilTs` and those before
 * it, leaving out files already in `have`. Slack lists the thread oldest first, the root included.
 */
async function threadImages(
  patiently: <T>(call: () => Promise<T>) => Promise<T>,
  client: WebClient,
  complete: (files: SlackFileRef[]) => Promise<SlackFileRef[]>,
  channel: string,
  threadTs: string,
  untilTs: string,
  count: number,
  have: SlackFileRef[] = [],
): Promise<SlackFileRef[]> {
  const res = await patiently(() => client.conversations.replies({ channel, ts: threadTs, limit: 200 }));
  const messages = (res.messages ?? []) as Array<{ ts?: string; files?: SlackFileRef[] }>;
  const seen = new Set(have.map((f) => f.id ?? f.url_private ?? ''));
  const found: SlackFileRef[] = [];
  for (const m of [...messages].reverse()) {
    if (m.ts && Number(m.ts) > Number(untilTs)) continue;
    for (const f of await complete(m.files ?? [])) {
      const key = f.id ?? f.url_private ?? '';
      if (!isImageFile(f) || seen.has(key) || found.length >= count) continue;
      seen.add(key);
      found.push(f);
    }
    if (found.length >= count) break;
  }
  return found;
}
