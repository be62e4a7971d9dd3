/**
 * A local fake of Slack for running the real Bolt app against: the Web API (form-encoded, JSON and
 * multipart bodies; Bearer tokens; Slack's ok:false errors and Block Kit limits), files v2 uploads and
 * authenticated downloads (an HTML sign-in page with status 200 when the token may not read files),
 * response_url (5 uses in 30 minutes), Socket Mode (hello, envelopes, acks within 3 s) and signed HTTP
 * posts to an app in HTTP mode. Its clock can be moved forward (trigger_id lives 3 s, single use).
 * Like Slack it rate-limits each method by its tier (HTTP 429, `Retry-After`, `ratelimited`; see
 * rate-limits.ts), and shares completed uploads asynchronously: files.completeUploadExternal answers at
 * once, the message with the files appears `shareDelayMs` later; until then only files.info knows the
 * file, with no shares.
 *
 * Tests drive it like a user: `slashCommand`, `messageShortcut`, `clickButton`, `submitView`,
 * `mention`, and read back what the bot did: `messages`, `thread`, `ephemerals`, `openViews`, `calls`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { checkBlocks, checkView } from './block-rules.ts';
import { FakeClock } from './fake-clock.ts';
import { defaultRateRules, RateLimiter, type RateRule } from './rate-limits.ts';
import { slackSignature } from './signing.ts';

type Obj = Record<string, unknown>;

export const TEAM_ID = 'T000TEST';
export const APP_ID = 'A0APP0001';
export const BOT_USER_ID = 'U0BOT0001';
export const BOT_ID = 'B0BOT0001';

export const DEFAULT_SCOPES = [
  'commands',
  'chat:write',
  'files:read',
  'files:write',
  'app_mentions:read',
  'channels:history',
  'groups:history',
  'im:history',
];

export interface FakeSlackOptions {
  botToken?: string;
  appToken?: string;
  signingSecret?: string;
  /** Scopes the bot token has (default DEFAULT_SCOPES). */
  scopes?: string[];
  clock?: FakeClock;
  /** How long the app has to ack a Socket Mode envelope (Slack: 3 s). */
  ackTimeoutMs?: number;
  /** Rate limits per method, replacing Slack's tiers for the methods named (see rate-limits.ts). */
  rateLimits?: Record<string, RateRule>;
  /**
   * How long after files.completeUploadExternal the message with the files appears (Slack shares
   * asynchronously; default 400 ms).
   */
  shareDelayMs?: number;
}

/** Where a file was shared: the message that shows it. */
export interface FakeShare {
  channel: string;
  ts: string;
  thread_ts?: string;
}

export interface FakeFile {
  id: string;
  name: string;
  title: string;
  mimetype: string;
  filetype: string;
  size: number;
  user: string;
  data?: Buffer;
  /** Upload announced with this length (files v2), not yet received. */
  pendingLength?: number;
  uploaded: boolean;
  completed: boolean;
  created: number;
  deleted?: boolean;
  /** Messages showing the file, once Slack has shared it. */
  shares: FakeShare[];
}

export interface FakeMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  user: string;
  bot_id?: string;
  text: string;
  blocks?: unknown[];
  files?: string[];
  edited?: number;
  deleted?: boolean;
}

export interface FakeEphemeral {
  channel: string;
  user: string;
  text: string;
  thread_ts?: string;
  via: 'chat.postEphemeral' | 'response_url';
}

export interface FakeView {
  id: string;
  hash: string;
  user: string;
  view: Obj;
  open: boolean;
  updates: number;
}

export interface ApiCall {
  method: string;
  args: Obj;
  at: number;
  ok: boolean;
  error?: string;
  /** Set on a call refused with HTTP 429: the Retry-After it was given, in seconds. */
  retryAfter?: number;
}

/** What the app answered to something delivered to it (the ack). */
export interface Delivery {
  /** HTTP status in HTTP mode; 200 for an acked Socket Mode envelope. */
  status: number;
  /** The ack payload (JSON body in HTTP mode, envelope payload in Socket Mode), if any. */
  body: unknown;
}

type Target = { kind: 'socket' } | { kind: 'http'; url: string; signingSecret: string };

const SIGN_IN_PAGE = '<!DOCTYPE html><html><head><title>Slack</title></head><body><h1>Sign in to Slack</h1><form action="/signin"></form></body></html>';

class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly extra: Obj = {},
  ) {
    super(code);
  }
}

export class FakeSlack {
  readonly clock: FakeClock;
  readonly botToken: string;
  readonly appToken: string;
  scopes: Set<string>;
  readonly calls: ApiCall[] = [];
  readonly ephemerals: FakeEphemeral[] = [];
  /** Signed requests the app refused and deliveries it did not ack in time (for assertions). */
  readonly deliveryLog: Array<{ kind: string; status: number }> = [];

  private server!: Server;
  private wss!: WebSocketServer;
  private base = '';
  private target: Target = { kind: 'socket' };
  private readonly sockets = new Set<WebSocket>();
  private readonly tickets = new Set<string>();
  private readonly acks = new Map<string, (payload: unknown) => void>();
  private readonly channels = new Map<string, { id: string; name: string; botMember: boolean }>();
  private readonly users = new Map<string, string>();
  private readonly messagesByChannel = new Map<string, FakeMessage[]>();
  private readonly files = new Map<string, FakeFile>();
  private readonly views = new Map<string, FakeView>();
  private readonly triggers = new Map<string, { at: number; used: boolean }>();
  private readonly responseUrls = new Map<string, { at: number; uses: number; channel: string; user: string }>();
  private seq = 0;
  private readonly ackTimeoutMs: number;
  /** Socket Mode connections opened so far (reconnects count). */
  connections = 0;
  /** Slack's per-method rate limits; tests may change one with `rateLimits.set`. */
  readonly rateLimits: RateLimiter;
  /** Delay between files.completeUploadExternal and the message with the files (may be changed). */
  shareDelayMs: number;
  private readonly shareTimers = new Set<NodeJS.Timeout>();
  private readonly holds = new Map<string, { reach: () => void; gate: Promise<void>; open: () => void }>();
  private helloListeners: Array<() => void> = [];

  private constructor(opts: FakeSlackOptions) {
    this.clock = opts.clock ?? new FakeClock();
    this.botToken = opts.botToken ?? 'xoxb-fake-bot-token';
    this.appToken = opts.appToken ?? 'xapp-fake-app-token';
    this.scopes = new Set(opts.scopes ?? DEFAULT_SCOPES);
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 3_000;
    this.rateLimits = new RateLimiter(() => this.clock.now(), { ...defaultRateRules(), ...opts.rateLimits });
    this.shareDelayMs = opts.shareDelayMs ?? 400;
  }

  static async start(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(opts);
    await fake.listen();
    fake.addChannel('C0CHAN001', 'general');
    fake.addUser('U0USER001', 'alice');
    fake.addUser('U0USER002', 'bob');
    return fake;
  }

  /** Base URL of the Web API, for clientOptions.slackApiUrl. */
  get apiUrl(): string {
    return `${this.base}/api/`;
  }

  get url(): string {
    return this.base;
  }

  /** Where interactions and events go: the app's Socket Mode connection, or its HTTP endpoint (signed). */
  deliverTo(target: Target): void {
    this.target = target;
  }

  addChannel(id: string, name: string, opts: { botMember?: boolean } = {}): void {
    this.channels.set(id, { id, name, botMember: opts.botMember ?? true });
    if (!this.messagesByChannel.has(id)) this.messagesByChannel.set(id, []);
  }

  addUser(id: string, name: string): void {
    this.users.set(id, name);
  }

  async close(): Promise<void> {
    for (const h of this.holds.values()) h.open();
    this.holds.clear();
    for (const t of this.shareTimers) clearTimeout(t);
    this.shareTimers.clear();
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------ reading state (assertions)

  messages(channel: string): FakeMessage[] {
    return (this.messagesByChannel.get(channel) ?? []).filter((m) => !m.deleted);
  }

  /** The root message and its replies, oldest first. */
  thread(channel: string, ts: string): FakeMessage[] {
    return this.messages(channel).filter((m) => m.ts === ts || m.thread_ts === ts);
  }

  message(channel: string, ts: string): FakeMessage | undefined {
    return this.messages(channel).find((m) => m.ts === ts);
  }

  file(id: string): FakeFile | undefined {
    return this.files.get(id);
  }

  openViews(): FakeView[] {
    return [...this.views.values()].filter((v) => v.open);
  }

  view(id: string): FakeView | undefined {
    return this.views.get(id);
  }

  /** The public file object Slack shows for a file (message `files`, file_input state, files.info). */
  fileObject(f: FakeFile): Obj {
    const path = `${this.base}/files-pri/${TEAM_ID}-${f.id}`;
    return {
      id: f.id,
      created: f.created,
      timestamp: f.created,
      name: f.name,
      title: f.title,
      mimetype: f.mimetype,
      filetype: f.filetype,
      pretty_type: f.filetype.toUpperCase(),
      user: f.user,
      user_team: TEAM_ID,
      size: f.size,
      mode: 'hosted',
      is_external: false,
      is_public: true,
      url_private: `${path}/${encodeURIComponent(f.name)}`,
      url_private_download: `${path}/download/${encodeURIComponent(f.name)}`,
      permalink: `https://testteam.slack.com/files/${f.user}/${f.id}/${encodeURIComponent(f.name)}`,
    };
  }

  /** Wait until `check` returns something truthy (polls every 10 ms). */
  async waitFor<T>(check: () => T | undefined | false | null, what: string, timeoutMs = 10_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = check();
      if (v) return v;
      if (Date.now() > until) throw new Error(`fake slack: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  // ------------------------------------------------------------------ acting as users

  /** A file a user uploaded (as through the file picker); not posted anywhere yet. */
  userFile(opts: { user?: string; name: string; mimetype: string; data: Buffer }): Obj {
    const f = this.newFile(opts.user ?? 'U0USER001', opts.name, opts.mimetype);
    f.data = opts.data;
    f.size = opts.data.length;
    f.uploaded = true;
    f.completed = true;
    return this.fileObject(f);
  }

  /** A message a user posted (with files), stored in the channel. No event is sent. */
  userMessage(opts: { channel?: string; user?: string; text: string; threadTs?: string; files?: Obj[] }): FakeMessage {
    const channel = opts.channel ?? 'C0CHAN001';
    const msg: FakeMessage = {
      channel,
      ts: this.nextTs(),
      ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}),
      user: opts.user ?? 'U0USER001',
      text: opts.text,
      files: (opts.files ?? []).map((f) => String(f.id)),
    };
    this.channelMessages(channel).push(msg);
    for (const id of msg.files ?? []) this.files.get(id)?.shares.push({ channel, ts: msg.ts, ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}) });
    return msg;
  }

  /**
   * A user runs a slash command. `triggerAgeMs`: the trigger_id was issued that long ago (Slack's
   * delivery was slow), so it may already be past its 3 s life when the app uses it.
   */
  async slashCommand(opts: { command: string; text?: string; user?: string; channel?: string; triggerAgeMs?: number }): Promise<Delivery & { triggerId: string }> {
    const user = opts.user ?? 'U0USER001';
    const channel = opts.channel ?? 'C0CHAN001';
    const triggerId = this.newTrigger(user, opts.triggerAgeMs);
    const body: Record<string, string> = {
      token: 'verification-token',
      team_id: TEAM_ID,
      team_domain: 'testteam',
      channel_id: channel,
      channel_name: this.channels.get(channel)?.name ?? 'unknown',
      user_id: user,
      user_name: this.users.get(user) ?? user,
      command: opts.command,
      text: opts.text ?? '',
      api_app_id: APP_ID,
      is_enterprise_install: 'false',
      response_url: this.newResponseUrl(channel, user),
      trigger_id: triggerId,
    };
    const res = await this.deliver('slash_commands', body);
    return { ...res, triggerId };
  }

  async messageShortcut(opts: { callbackId: string; channel?: string; messageTs: string; user?: string }): Promise<Delivery & { triggerId: string }> {
    const user = opts.user ?? 'U0USER001';
    const channel = opts.channel ?? 'C0CHAN001';
    const msg = this.message(channel, opts.messageTs);
    if (!msg) throw new Error(`fake slack: no message ${opts.messageTs} in ${channel}`);
    const triggerId = this.newTrigger(user);
    const payload = {
      type: 'message_action',
      callback_id: opts.callbackId,
      trigger_id: triggerId,
      action_ts: this.nextTs(),
      message_ts: msg.ts,
      team: { id: TEAM_ID, domain: 'testteam' },
      user: this.userObj(user),
      channel: { id: channel, name: this.channels.get(channel)?.name ?? 'unknown' },
      is_enterprise_install: false,
      enterprise: null,
      api_app_id: APP_ID,
      token: 'verification-token',
      response_url: this.newResponseUrl(channel, user),
      message: this.messageObj(msg),
    };
    const res = await this.deliver('interactive', payload);
    return { ...res, triggerId };
  }

  /** Click a button on a stored message, found by its action_id. */
  async clickButton(opts: { channel?: string; messageTs: string; actionId: string; user?: string }): Promise<Delivery> {
    const user = opts.user ?? 'U0USER001';
    const channel = opts.channel ?? 'C0CHAN001';
    const msg = this.message(channel, opts.messageTs);
    if (!msg) throw new Error(`fake slack: no message ${opts.messageTs} in ${channel}`);
    let found: { block: Obj; el: Obj } | undefined;
    for (const b of (msg.blocks ?? []) as Obj[]) {
      for (const el of (Array.isArray(b.elements) ? b.elements : []) as Obj[]) {
        if (el.type === 'button' && el.action_id === opts.actionId) found = { block: b, el };
      }
    }
    if (!found) throw new Error(`fake slack: message ${opts.messageTs} has no button ${opts.actionId}`);
    const payload = {
      type: 'block_actions',
      user: this.userObj(user),
      api_app_id: APP_ID,
      token: 'verification-token',
      trigger_id: this.newTrigger(user),
      team: { id: TEAM_ID, domain: 'testteam' },
      enterprise: null,
      is_enterprise_install: false,
      container: { type: 'message', message_ts: msg.ts, channel_id: channel, is_ephemeral: false, ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}) },
      channel: { id: channel, name: this.channels.get(channel)?.name ?? 'unknown' },
      message: this.messageObj(msg),
      state: { values: {} },
      response_url: this.newResponseUrl(channel, user),
      actions: [
        {
          action_id: found.el.action_id,
          block_id: found.block.block_id ?? 'b',
          type: 'button',
          value: found.el.value,
          text: found.el.text,
          action_ts: this.nextTs(),
        },
      ],
    };
    return this.deliver('interactive', payload);
  }

  /** Choose an option of a select inside an open modal (an actions block): Slack sends block_actions. */
  async selectInView(opts: { viewId: string; actionId: string; value: string; user?: string }): Promise<Delivery> {
    const v = this.views.get(opts.viewId);
    if (!v?.open) throw new Error(`fake slack: view ${opts.viewId} is not open`);
    let found: { block: Obj; el: Obj } | undefined;
    for (const b of (v.view.blocks ?? []) as Obj[]) {
      const els = (Array.isArray(b.elements) ? b.elements : b.accessory ? [b.accessory] : []) as Obj[];
      for (const el of els) if (el.action_id === opts.actionId) found = { block: b, el };
    }
    if (!found) throw new Error(`fake slack: view has no element ${opts.actionId}`);
    const option = ((found.el.options ?? []) as Obj[]).find((o) => o.value === opts.value);
    if (!option) throw new Error(`fake slack: select ${opts.actionId} has no option ${opts.value}`);
    const payload = {
      type: 'block_actions',
      user: this.userObj(opts.user ?? v.user),
      api_app_id: APP_ID,
      token: 'verification-token',
      trigger_id: this.newTrigger(),
      team: { id: TEAM_ID, domain: 'testteam' },
      enterprise: null,
      is_enterprise_install: false,
      container: { type: 'view', view_id: v.id },
      view: this.viewPayload(v, {}),
      actions: [
        {
          type: 'static_select',
          action_id: opts.actionId,
          block_id: found.block.block_id ?? 'b',
          selected_option: option,
          action_ts: this.nextTs(),
        },
      ],
    };
    return this.deliver('interactive', payload);
  }

  /**
   * Submit an open modal. `values` maps block_id to what the user entered: a string (text input or the
   * value of a select option), a boolean (checkbox), or file objects (file_input). Untouched inputs
   * keep their initial values, as in Slack. Slack's client refuses to submit with a required input
   * empty; so does this (it throws).
   */
  async submitView(opts: { viewId: string; values?: Record<string, string | boolean | Obj[]>; user?: string }): Promise<Delivery> {
    const v = this.views.get(opts.viewId);
    if (!v?.open) throw new Error(`fake slack: view ${opts.viewId} is not open`);
    const state = this.viewState(v, opts.values ?? {});
    const payload = {
      type: 'view_submission',
      team: { id: TEAM_ID, domain: 'testteam' },
      user: this.userObj(opts.user ?? v.user),
      api_app_id: APP_ID,
      token: 'verification-token',
      trigger_id: this.newTrigger(),
      is_enterprise_install: false,
      enterprise: null,
      response_urls: [],
      view: this.viewPayload(v, state),
    };
    const res = await this.deliver('interactive', payload);
    const ack = (res.body ?? {}) as Obj;
    if (res.status === 200 && ack.response_action !== 'errors' && ack.response_action !== 'update' && ack.response_action !== 'push') v.open = false;
    return res;
  }

  /**
   * Hold Slack's answers to `method` until `release()` (a slow Slack), to catch the app in the middle
   * of its work. `reached` resolves when the first such call has arrived.
   */
  hold(method: string): { reached: Promise<void>; release: () => void } {
    let reach!: () => void;
    const reached = new Promise<void>((resolve) => (reach = resolve));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    this.holds.set(method, { reach, gate, open });
    return {
      reached,
      release: () => {
        this.holds.delete(method);
        open();
      },
    };
  }

  /** The user closes an open modal without submitting it (Cancel or ×). */
  closeView(viewId: string): void {
    const v = this.views.get(viewId);
    if (!v?.open) throw new Error(`fake slack: view ${viewId} is not open`);
    v.open = false;
  }

  /** A user posts `text` mentioning the bot (with files, optionally in a thread); Slack sends app_mention. */
  async mention(opts: {
    channel?: string;
    user?: string;
    text: string;
    files?: Obj[];
    threadTs?: string;
    eventId?: string;
    /**
     * false: the event leaves out the message's files (the app must read the message to find them);
     * 'check_file_info': it lists them only by id, as Slack does in some channels (the app asks files.info).
     */
    filesInEvent?: boolean | 'check_file_info';
  }): Promise<Delivery & { message: FakeMessage; eventId: string }> {
    const msg = this.userMessage({ channel: opts.channel, user: opts.user, text: opts.text, threadTs: opts.threadTs, files: opts.files });
    const event: Obj = {
      type: 'app_mention',
      user: msg.user,
      text: msg.text,
      ts: msg.ts,
      channel: msg.channel,
      event_ts: msg.ts,
      ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}),
      ...(opts.files?.length && opts.filesInEvent !== false
        ? { files: opts.filesInEvent === 'check_file_info' ? opts.files.map((f) => ({ id: f.id, file_access: 'check_file_info' })) : opts.files, upload: false }
        : {}),
    };
    const eventId = opts.eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`;
    const res = await this.sendEvent(event, { eventId });
    return { ...res, message: msg, eventId };
  }

  /** Deliver an Events API event_callback; retries carry X-Slack-Retry-Num (HTTP) or retry_attempt (socket). */
  async sendEvent(event: Obj, opts: { eventId: string; retryNum?: number; retryReason?: string }): Promise<Delivery> {
    const body = {
      token: 'verification-token',
      team_id: TEAM_ID,
      api_app_id: APP_ID,
      event,
      type: 'event_callback',
      event_id: opts.eventId,
      event_time: this.clock.seconds(),
      authorizations: [{ enterprise_id: null, team_id: TEAM_ID, user_id: BOT_USER_ID, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: `4-${opts.eventId}`,
    };
    return this.deliver('events_api', body, { retryNum: opts.retryNum, retryReason: opts.retryReason });
  }

  /**
   * Post a signed request to the app in HTTP mode with full control (forged signatures, old timestamps).
   * Returns the status and body text.
   */
  async postSigned(opts: {
    body: string;
    contentType: string;
    timestamp?: number;
    signature?: string;
    headers?: Record<string, string>;
  }): Promise<{ status: number; text: string }> {
    if (this.target.kind !== 'http') throw new Error('fake slack: postSigned needs an HTTP target');
    const ts = opts.timestamp ?? this.clock.seconds();
    const signature = opts.signature ?? slackSignature(this.target.signingSecret, ts, opts.body);
    // Slack waits 3 s for the HTTP answer (the ack); after that the user sees "operation_timeout" and
    // events are sent again.
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.target.url, {
        method: 'POST',
        headers: {
          'content-type': opts.contentType,
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': signature,
          ...opts.headers,
        },
        body: opts.body,
        signal: AbortSignal.timeout(this.ackTimeoutMs),
      });
      text = await res.text();
    } catch (err) {
      if ((err as Error).name !== 'TimeoutError') throw err;
      this.deliveryLog.push({ kind: 'signed-post', status: 0 });
      throw new Error(`fake slack: the app did not answer a signed request within ${this.ackTimeoutMs} ms`);
    }
    this.deliveryLog.push({ kind: 'signed-post', status: res.status });
    return { status: res.status, text };
  }

  /** Ask the app's socket to reconnect (Slack does this every few hours). */
  refreshSockets(): void {
    for (const ws of this.sockets) ws.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'fake' } }));
  }

  /** Resolves once an app has connected over Socket Mode and got `hello`. */
  socketReady(): Promise<void> {
    if ([...this.sockets].some((ws) => ws.readyState === ws.OPEN)) return Promise.resolve();
    return new Promise((resolve) => this.helloListeners.push(resolve));
  }

  // ------------------------------------------------------------------ delivery to the app

  private async deliver(kind: 'slash_commands' | 'interactive' | 'events_api', payload: Obj, opts: { retryNum?: number; retryReason?: string } = {}): Promise<Delivery> {
    if (this.target.kind === 'socket') return this.sendEnvelope(kind, payload, opts);
    let body: string;
    let contentType: string;
    if (kind === 'slash_commands') {
      body = new URLSearchParams(payload as Record<string, string>).toString();
      contentType = 'application/x-www-form-urlencoded';
    } else if (kind === 'interactive') {
      body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      contentType = 'application/x-www-form-urlencoded';
    } else {
      body = JSON.stringify(payload);
      contentType = 'application/json';
    }
    const headers: Record<string, string> = {};
    if (opts.retryNum !== undefined) {
      headers['x-slack-retry-num'] = String(opts.retryNum);
      headers['x-slack-retry-reason'] = opts.retryReason ?? 'http_timeout';
    }
    const res = await this.postSigned({ body, contentType, headers });
    let parsed: unknown = undefined;
    if (res.text) {
      try {
        parsed = JSON.parse(res.text);
      } catch {
        parsed = res.text;
      }
    }
    return { status: res.status, body: parsed };
  }

  private sendEnvelope(type: string, payload: Obj, opts: { retryNum?: number; retryReason?: string }): Promise<Delivery> {
    const ws = [...this.sockets].at(-1);
    if (!ws) return Promise.reject(new Error('fake slack: no Socket Mode connection'));
    const envelopeId = randomUUID();
    const envelope = {
      envelope_id: envelopeId,
      type,
      payload,
      accepts_response_payload: type !== 'events_api',
      ...(type === 'events_api' ? { retry_attempt: opts.retryNum ?? 0, retry_reason: opts.retryReason ?? '' } : {}),
    };
    return new Promise<Delivery>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(envelopeId);
        this.deliveryLog.push({ kind: `envelope:${type}`, status: 0 });
        reject(new Error(`fake slack: the app did not ack a ${type} envelope within ${this.ackTimeoutMs} ms`));
      }, this.ackTimeoutMs);
      this.acks.set(envelopeId, (ackPayload) => {
        clearTimeout(timer);
        resolve({ status: 200, body: ackPayload });
      });
      ws.send(JSON.stringify(envelope));
    });
  }

  // ------------------------------------------------------------------ server

  private async listen(): Promise<void> {
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', this.base);
      const ticket = url.searchParams.get('ticket') ?? '';
      if (url.pathname !== '/link/' || !this.tickets.delete(ticket)) {
        socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.base = `http://127.0.0.1:${port}`;
  }

  private onSocket(ws: WebSocket): void {
    this.sockets.add(ws);
    this.connections++;
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('error', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      let msg: Obj;
      try {
        msg = JSON.parse(String(data)) as Obj;
      } catch {
        return;
      }
      const id = typeof msg.envelope_id === 'string' ? msg.envelope_id : undefined;
      const done = id ? this.acks.get(id) : undefined;
      if (id && done) {
        this.acks.delete(id);
        done(msg.payload);
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.sockets.size,
        debug_info: { host: 'fake', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: APP_ID },
      }),
    );
    const listeners = this.helloListeners;
    this.helloListeners = [];
    for (const l of listeners) l();
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.base);
    const raw = await readBody(req);
    if (req.method === 'POST' && url.pathname.startsWith('/api/')) {
      await this.api(url.pathname.slice(5), req, raw, res);
      return;
    }
    if (req.method === 'POST' && url.pathname.startsWith('/upload/v1/')) {
      await this.upload(decodeURIComponent(url.pathname.slice('/upload/v1/'.length)), req, raw, res);
      return;
    }
    if (req.method === 'GET' && url.pathname.startsWith('/files-pri/')) {
      this.download(url.pathname, req, res);
      return;
    }
    if (req.method === 'POST' && url.pathname.startsWith('/response_url/')) {
      this.responseUrl(url.pathname.slice('/response_url/'.length), raw, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  }

  private async api(method: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    let args: Obj = {};
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    try {
      if (type.startsWith('application/json')) args = raw.length ? (JSON.parse(raw.toString('utf8')) as Obj) : {};
      else if (type.startsWith('multipart/form-data')) args = await parseMultipart(raw, type);
      else args = Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
    } catch {
      return this.reply(res, method, args, { ok: false, error: 'invalid_form_data' });
    }
    // Slack reads a token from the form body, but never from a JSON body: JSON needs the header.
    const bodyToken = !type.startsWith('application/json') && typeof args.token === 'string' ? args.token : '';
    const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '') || bodyToken;
    const held = this.holds.get(method);
    if (held) {
      held.reach();
      await held.gate;
    }
    const retryAfter = this.rateLimits.take(method, typeof args.channel === 'string' ? args.channel : undefined);
    if (retryAfter !== undefined) {
      this.calls.push({ method, args, at: this.clock.now(), ok: false, error: 'ratelimited', retryAfter });
      res.writeHead(429, { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(retryAfter) });
      res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }
    try {
      const out = this.method(method, args, token);
      this.reply(res, method, args, { ok: true, ...out });
    } catch (err) {
      if (err instanceof ApiError) this.reply(res, method, args, { ok: false, error: err.code, ...err.extra });
      else throw err;
    }
  }

  private reply(res: ServerResponse, method: string, args: Obj, body: Obj): void {
    this.calls.push({ method, args, at: this.clock.now(), ok: body.ok === true, ...(body.ok ? {} : { error: String(body.error) }) });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-oauth-scopes': [...this.scopes].join(',') });
    res.end(JSON.stringify(body));
  }

  private needBot(token: string, scope?: string): void {
    if (!token) throw new ApiError('not_authed');
    if (token.startsWith('xapp-')) throw new ApiError('not_allowed_token_type');
    if (token !== this.botToken) throw new ApiError('invalid_auth');
    if (scope && !this.scopes.has(scope)) throw new ApiError('missing_scope', { needed: scope, provided: [...this.scopes].join(',') });
  }

  private method(method: string, args: Obj, token: string): Obj {
    switch (method) {
      case 'api.test':
        return { args };
      case 'auth.test':
        this.needBot(token);
        return {
          url: 'https://testteam.slack.com/',
          team: 'Test Team',
          user: 'easel',
          team_id: TEAM_ID,
          user_id: BOT_USER_ID,
          bot_id: BOT_ID,
          is_enterprise_install: false,
        };
      case 'apps.connections.open': {
        if (!token) throw new ApiError('not_authed');
        if (!token.startsWith('xapp-')) throw new ApiError('not_allowed_token_type');
        if (token !== this.appToken) throw new ApiError('invalid_auth');
        const ticket = randomUUID();
        this.tickets.add(ticket);
        return { url: `${this.base.replace('http', 'ws')}/link/?ticket=${ticket}&app_id=${APP_ID}` };
      }
      case 'chat.postMessage':
        return this.postMessage(args, token);
      case 'chat.update':
        return this.updateMessage(args, token);
      case 'chat.delete':
        return this.deleteMessage(args, token);
      case 'chat.postEphemeral':
        return this.postEphemeral(args, token);
      case 'views.open':
        return this.openView(args, token);
      case 'views.update':
        return this.updateView(args, token);
      case 'files.getUploadURLExternal':
        return this.getUploadUrl(args, token);
      case 'files.completeUploadExternal':
        return this.completeUpload(args, token);
      case 'files.delete': {
        this.needBot(token, 'files:write');
        const f = this.files.get(String(args.file ?? ''));
        if (!f || f.deleted) throw new ApiError('file_not_found');
        if (f.user !== BOT_USER_ID) throw new ApiError('cant_delete_file');
        f.deleted = true;
        for (const list of this.messagesByChannel.values()) {
          for (const m of list) if (m.files?.includes(f.id)) m.files = m.files.filter((x) => x !== f.id);
        }
        return {};
      }
      case 'files.info': {
        this.needBot(token, 'files:read');
        const f = this.files.get(String(args.file ?? ''));
        if (!f || f.deleted || !f.completed) throw new ApiError('file_not_found');
        return { file: { ...this.fileObject(f), ...this.sharesObject(f) } };
      }
      case 'conversations.replies': {
        const channel = this.channelFor(args);
        this.needBot(token, channel.id.startsWith('G') ? 'groups:history' : 'channels:history');
        const ts = String(args.ts ?? '');
        const root = this.message(channel.id, ts);
        if (!root) throw new ApiError('thread_not_found');
        const all = this.thread(channel.id, root.thread_ts ?? root.ts);
        return { messages: all.map((m) => this.messageObj(m)), has_more: false };
      }
      default:
        this.needBot(token);
        throw new ApiError('unknown_method');
    }
  }

  private channelFor(args: Obj, key = 'channel'): { id: string; name: string; botMember: boolean } {
    const id = typeof args[key] === 'string' ? (args[key] as string) : '';
    const channel = this.channels.get(id);
    if (!channel) throw new ApiError('channel_not_found');
    return channel;
  }

  private parseJsonArg(args: Obj, key: string): unknown {
    const v = args[key];
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v);
    } catch {
      throw new ApiError(key === 'blocks' ? 'invalid_blocks_format' : 'invalid_arguments');
    }
  }

  private checkMessageContent(args: Obj): { text: string; blocks?: unknown[] } {
    const blocks = args.blocks === undefined ? undefined : this.parseJsonArg(args, 'blocks');
    const text = typeof args.text === 'string' ? args.text : '';
    if (blocks !== undefined) {
      const problems = checkBlocks(blocks, 'message');
      if (problems.length > 0) throw new ApiError('invalid_blocks', { response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
    }
    if (!text && (!Array.isArray(blocks) || blocks.length === 0)) throw new ApiError('no_text');
    if (text.length > 40_000) throw new ApiError('msg_too_long');
    return { text, blocks: blocks as unknown[] | undefined };
  }

  private postMessage(args: Obj, token: string): Obj {
    this.needBot(token, 'chat:write');
    const channel = this.channelFor(args);
    if (!channel.botMember) throw new ApiError('not_in_channel');
    const { text, blocks } = this.checkMessageContent(args);
    const threadTs = typeof args.thread_ts === 'string' && args.thread_ts ? args.thread_ts : undefined;
    if (threadTs && !this.message(channel.id, threadTs)) throw new ApiError('thread_not_found');
    const msg = this.postAsBot(channel.id, threadTs ? this.message(channel.id, threadTs) : undefined, text, blocks);
    return { channel: channel.id, ts: msg.ts, message: this.messageObj(msg) };
  }

  /** A message from the bot in a channel (in the root's thread when there is one), now visible. */
  private postAsBot(channelId: string, root: FakeMessage | undefined, text: string, blocks: unknown[] | undefined, files?: string[]): FakeMessage {
    const msg: FakeMessage = {
      channel: channelId,
      ts: this.nextTs(),
      ...(root ? { thread_ts: root.thread_ts ?? root.ts } : {}),
      user: BOT_USER_ID,
      bot_id: BOT_ID,
      text,
      ...(blocks ? { blocks } : {}),
      ...(files ? { files } : {}),
    };
    this.channelMessages(channelId).push(msg);
    return msg;
  }

  private updateMessage(args: Obj, token: string): Obj {
    this.needBot(token, 'chat:write');
    const channel = this.channelFor(args);
    const msg = this.message(channel.id, String(args.ts ?? ''));
    if (!msg) throw new ApiError('message_not_found');
    if (msg.user !== BOT_USER_ID) throw new ApiError('cant_update_message');
    const { text, blocks } = this.checkMessageContent(args);
    msg.text = text;
    if (blocks !== undefined) msg.blocks = blocks;
    msg.edited = (msg.edited ?? 0) + 1;
    return { channel: channel.id, ts: msg.ts, text, message: this.messageObj(msg) };
  }

  private deleteMessage(args: Obj, token: string): Obj {
    this.needBot(token, 'chat:write');
    const channel = this.channelFor(args);
    const msg = this.message(channel.id, String(args.ts ?? ''));
    if (!msg) throw new ApiError('message_not_found');
    if (msg.user !== BOT_USER_ID) throw new ApiError('cant_delete_message');
    msg.deleted = true;
    return { channel: channel.id, ts: msg.ts };
  }

  private postEphemeral(args: Obj, token: string): Obj {
    this.needBot(token, 'chat:write');
    const channel = this.channelFor(args);
    if (!channel.botMember) throw new ApiError('not_in_channel');
    const user = typeof args.user === 'string' ? args.user : '';
    if (!this.users.has(user)) throw new ApiError('user_not_found');
    const { text } = this.checkMessageContent(args);
    const threadTs = typeof args.thread_ts === 'string' && args.thread_ts ? args.thread_ts : undefined;
    this.ephemerals.push({ channel: channel.id, user, text, ...(threadTs ? { thread_ts: threadTs } : {}), via: 'chat.postEphemeral' });
    return { message_ts: this.nextTs() };
  }

  private openView(args: Obj, token: string): Obj {
    this.needBot(token);
    const triggerId = typeof args.trigger_id === 'string' ? args.trigger_id : '';
    const trigger = this.triggers.get(triggerId);
    if (!trigger) throw new ApiError('invalid_trigger_id');
    if (trigger.used) throw new ApiError('exchanged_trigger_id');
    if (this.clock.now() - trigger.at > 3_000) throw new ApiError('expired_trigger_id');
    const view = this.parseJsonArg(args, 'view') as Obj;
    this.checkViewArg(view);
    trigger.used = true;
    const v: FakeView = { id: `V${this.nextId()}`, hash: `${this.clock.seconds()}.${randomUUID().slice(0, 8)}`, user: 'U0USER001', view, open: true, updates: 0 };
    const owner = this.triggerUsers.get(triggerId);
    if (owner) v.user = owner;
    this.views.set(v.id, v);
    return { view: this.viewPayload(v, { values: {} }) };
  }

  private updateView(args: Obj, token: string): Obj {
    this.needBot(token);
    const v = this.views.get(String(args.view_id ?? ''));
    if (!v || !v.open) throw new ApiError('not_found');
    if (typeof args.hash === 'string' && args.hash && args.hash !== v.hash) throw new ApiError('hash_conflict');
    const view = this.parseJsonArg(args, 'view') as Obj;
    this.checkViewArg(view);
    v.view = view;
    v.hash = `${this.clock.seconds()}.${randomUUID().slice(0, 8)}`;
    v.updates++;
    return { view: this.viewPayload(v, { values: {} }) };
  }

  private checkViewArg(view: Obj): void {
    if (!view || typeof view !== 'object') throw new ApiError('invalid_arguments');
    if (JSON.stringify(view).length > 250_000) throw new ApiError('view_too_large');
    const problems = checkView(view);
    if (problems.length > 0) throw new ApiError('invalid_arguments', { response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
  }

  private getUploadUrl(args: Obj, token: string): Obj {
    this.needBot(token, 'files:write');
    const filename = typeof args.filename === 'string' ? args.filename : '';
    const length = Number(args.length);
    if (!filename || !Number.isInteger(length) || length <= 0) throw new ApiError('invalid_arguments');
    if (length > 1024 * 1024 * 1024) throw new ApiError('file_too_large');
    const f = this.newFile(BOT_USER_ID, filename, mimeFor(filename));
    f.pendingLength = length;
    if (typeof args.alt_text === 'string' && args.alt_text.length > 1000) throw new ApiError('invalid_arguments');
    return { upload_url: `${this.base}/upload/v1/${f.id}`, file_id: f.id };
  }

  private completeUpload(args: Obj, token: string): Obj {
    this.needBot(token, 'files:write');
    const list = this.parseJsonArg(args, 'files');
    if (!Array.isArray(list) || list.length === 0) throw new ApiError('invalid_arguments');
    const files: FakeFile[] = [];
    for (const item of list as Obj[]) {
      const f = this.files.get(String(item.id ?? ''));
      if (!f || f.user !== BOT_USER_ID) throw new ApiError('file_not_found');
      if (!f.uploaded) throw new ApiError('file_upload_not_completed'); // the upload_url was never used
      if (f.completed) throw new ApiError('file_already_completed');
      if (typeof item.title === 'string' && item.title) f.title = item.title;
      files.push(f);
    }
    const channelId = typeof args.channel_id === 'string' && args.channel_id ? args.channel_id : undefined;
    let blocks: unknown[] | undefined;
    if (args.blocks !== undefined) {
      blocks = this.parseJsonArg(args, 'blocks') as unknown[];
      const problems = checkBlocks(blocks, 'message');
      if (problems.length > 0) throw new ApiError('invalid_blocks', { response_metadata: { messages: problems } });
    }
    let share: (() => void) | undefined;
    if (channelId) {
      const channel = this.channelFor(args, 'channel_id');
      if (!channel.botMember) throw new ApiError('not_in_channel');
      const threadTs = typeof args.thread_ts === 'string' && args.thread_ts ? args.thread_ts : undefined;
      const root = threadTs ? this.message(channel.id, threadTs) : undefined;
      if (threadTs && !root) throw new ApiError('invalid_thread_ts');
      const text = typeof args.initial_comment === 'string' ? args.initial_comment : '';
      share = () => {
        const shown = files.filter((f) => !f.deleted);
        if (shown.length === 0) return;
        const msg = this.postAsBot(channel.id, root, text, blocks, shown.map((f) => f.id));
        for (const f of shown) f.shares.push({ channel: channel.id, ts: msg.ts, ...(msg.thread_ts ? { thread_ts: msg.thread_ts } : {}) });
      };
    }
    for (const f of files) f.completed = true;
    // Slack answers first and shares later: the message with the files is not there yet.
    if (share) {
      const timer = setTimeout(() => {
        this.shareTimers.delete(timer);
        share();
      }, this.shareDelayMs);
      this.shareTimers.add(timer);
    }
    return { files: files.map((f) => ({ id: f.id, title: f.title })) };
  }

  /** The `channels`/`groups`/`shares` fields files.info gives: empty until the file is shared. */
  private sharesObject(f: FakeFile): Obj {
    const pub: Record<string, Obj[]> = {};
    const priv: Record<string, Obj[]> = {};
    for (const s of f.shares) {
      const into = s.channel.startsWith('G') ? priv : pub;
      (into[s.channel] ??= []).push({
        reply_users: [],
        reply_users_count: 0,
        reply_count: 0,
        ts: s.ts,
        ...(s.thread_ts ? { thread_ts: s.thread_ts } : {}),
        channel_name: this.channels.get(s.channel)?.name ?? '',
        team_id: TEAM_ID,
        share_user_id: BOT_USER_ID,
      });
    }
    return {
      channels: Object.keys(pub),
      groups: Object.keys(priv),
      ims: [],
      shares: { ...(Object.keys(pub).length ? { public: pub } : {}), ...(Object.keys(priv).length ? { private: priv } : {}) },
    };
  }

  private async upload(fileId: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const f = this.files.get(fileId);
    const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    if (!f || f.pendingLength === undefined || f.uploaded) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('upload url not found or already used');
      return;
    }
    if (token && token !== this.botToken) {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end('invalid_auth');
      return;
    }
    let data: Buffer;
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type.startsWith('multipart/form-data')) {
      const parts = await parseMultipartFiles(raw, type);
      if (parts.length !== 1) {
        res.writeHead(400, { 'content-type': 'text/plain' });
        res.end('expected exactly one file part');
        return;
      }
      data = parts[0];
    } else {
      data = raw;
    }
    if (data.length !== f.pendingLength) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`length mismatch: announced ${f.pendingLength}, got ${data.length}`);
      return;
    }
    f.data = data;
    f.size = data.length;
    f.uploaded = true;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${data.length}`);
  }

  private download(pathname: string, req: IncomingMessage, res: ServerResponse): void {
    const m = /^\/files-pri\/([A-Z0-9]+)-([A-Z0-9]+)\/(?:download\/)?[^/]+$/.exec(pathname);
    const token = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
    // Slack never says 401 here: without a valid token with files:read it serves its sign-in page.
    if (!m || token !== this.botToken || !this.scopes.has('files:read')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(SIGN_IN_PAGE);
      return;
    }
    const f = this.files.get(m[2]);
    if (!f || f.deleted || !f.data || !f.completed) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('file not found');
      return;
    }
    res.writeHead(200, { 'content-type': f.mimetype, 'content-length': String(f.data.length) });
    res.end(f.data);
  }

  private responseUrl(id: string, raw: Buffer, res: ServerResponse): void {
    const r = this.responseUrls.get(id);
    if (!r) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no_response_url');
      return;
    }
    if (this.clock.now() - r.at > 30 * 60_000) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('expired_url');
      return;
    }
    if (r.uses >= 5) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('used_url');
      return;
    }
    let body: Obj;
    try {
      body = JSON.parse(raw.toString('utf8')) as Obj;
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('invalid_payload');
      return;
    }
    r.uses++;
    if (body.response_type !== 'in_channel') {
      this.ephemerals.push({ channel: r.channel, user: r.user, text: String(body.text ?? ''), via: 'response_url' });
    } else {
      this.channelMessages(r.channel).push({ channel: r.channel, ts: this.nextTs(), user: BOT_USER_ID, bot_id: BOT_ID, text: String(body.text ?? '') });
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  }

  // ------------------------------------------------------------------ helpers

  private readonly triggerUsers = new Map<string, string>();

  /** A trigger_id as Slack issues with an interaction (valid 3 s, single use). */
  newTrigger(user?: string, ageMs = 0): string {
    const id = `${this.nextId()}.${Date.now()}.${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    this.triggers.set(id, { at: this.clock.now() - ageMs, used: false });
    if (user) this.triggerUsers.set(id, user);
    return id;
  }

  /** A response_url as Slack issues with an interaction (5 uses, 30 minutes). */
  newResponseUrl(channel: string, user: string): string {
    const id = `${this.nextId()}/${randomUUID().replace(/-/g, '')}`;
    this.responseUrls.set(id, { at: this.clock.now(), uses: 0, channel, user });
    return `${this.base}/response_url/${id}`;
  }

  private newFile(user: string, name: string, mimetype: string): FakeFile {
    const f: FakeFile = {
      id: `F${this.nextId()}`,
      name,
      title: name,
      mimetype,
      filetype: (name.split('.').pop() ?? 'bin').toLowerCase(),
      size: 0,
      user,
      uploaded: false,
      completed: false,
      created: this.clock.seconds(),
      shares: [],
    };
    this.files.set(f.id, f);
    return f;
  }

  private nextId(): string {
    this.seq++;
    return String(this.seq).padStart(8, '0');
  }

  private nextTs(): string {
    this.seq++;
    return `${this.clock.seconds()}.${String(this.seq % 1_000_000).padStart(6, '0')}`;
  }

  private channelMessages(channel: string): FakeMessage[] {
    let list = this.messagesByChannel.get(channel);
    if (!list) {
      list = [];
      this.messagesByChannel.set(channel, list);
    }
    return list;
  }

  private userObj(user: string): Obj {
    const name = this.users.get(user) ?? user;
    return { id: user, username: name, name, team_id: TEAM_ID };
  }

  private messageObj(m: FakeMessage): Obj {
    return {
      type: 'message',
      ts: m.ts,
      ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
      user: m.user,
      ...(m.bot_id ? { bot_id: m.bot_id } : {}),
      text: m.text,
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.files && m.files.length > 0
        ? { files: m.files.map((id) => this.files.get(id)).filter((f): f is FakeFile => Boolean(f)).map((f) => this.fileObject(f)), upload: false }
        : {}),
      team: TEAM_ID,
    };
  }

  private viewPayload(v: FakeView, state: Obj): Obj {
    return {
      id: v.id,
      team_id: TEAM_ID,
      type: 'modal',
      callback_id: v.view.callback_id ?? '',
      private_metadata: v.view.private_metadata ?? '',
      hash: v.hash,
      title: v.view.title,
      blocks: v.view.blocks ?? [],
      close: v.view.close ?? null,
      submit: v.view.submit ?? null,
      state,
      root_view_id: v.id,
      previous_view_id: null,
      app_id: APP_ID,
      bot_id: BOT_ID,
      clear_on_close: false,
      notify_on_close: false,
      external_id: '',
    };
  }

  /** Build `state.values` the way Slack does from the view's input blocks and what the user entered. */
  private viewState(v: FakeView, entered: Record<string, string | boolean | Obj[]>): Obj {
    const values: Record<string, Record<string, Obj>> = {};
    for (const key of Object.keys(entered)) {
      if (!((v.view.blocks ?? []) as Obj[]).some((b) => b.block_id === key && b.type === 'input')) {
        throw new Error(`fake slack: the view has no input block ${key}`);
      }
    }
    for (const b of (v.view.blocks ?? []) as Obj[]) {
      if (b.type !== 'input') continue;
      const el = b.element as Obj;
      const blockId = String(b.block_id);
      const actionId = String(el.action_id);
      const given = entered[blockId];
      let state: Obj;
      let empty: boolean;
      switch (el.type) {
        case 'plain_text_input': {
          const value = typeof given === 'string' ? given : typeof el.initial_value === 'string' ? el.initial_value : null;
          state = { type: 'plain_text_input', value: value === '' ? null : value };
          empty = state.value === null;
          break;
        }
        case 'static_select': {
          const options = (el.options ?? []) as Obj[];
          let selected: Obj | null = (el.initial_option as Obj | undefined) ?? null;
          if (typeof given === 'string') {
            selected = options.find((o) => o.value === given) ?? null;
            if (!selected) throw new Error(`fake slack: select ${blockId} has no option ${given}`);
          }
          state = { type: 'static_select', selected_option: selected };
          empty = selected === null;
          break;
        }
        case 'checkboxes': {
          const options = (el.options ?? []) as Obj[];
          const selected = typeof given === 'boolean' ? (given ? options.slice(0, 1) : []) : ((el.initial_options as Obj[] | undefined) ?? []);
          state = { type: 'checkboxes', selected_options: selected };
          empty = selected.length === 0;
          break;
        }
        case 'file_input': {
          const files = Array.isArray(given) ? given : [];
          const max = typeof el.max_files === 'number' ? el.max_files : 10;
          if (files.length > max) throw new Error(`fake slack: ${blockId} takes at most ${max} files`);
          state = { type: 'file_input', files };
          empty = files.length === 0;
          break;
        }
        default:
          state = { type: el.type, value: typeof given === 'string' ? given : null };
          empty = typeof given !== 'string';
      }
      if (empty && b.optional !== true) throw new Error(`fake slack: Slack would not submit: ${blockId} is required`);
      values[blockId] = { [actionId]: state };
    }
    return { values };
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function formData(raw: Buffer, contentType: string): Promise<Array<[string, string | Blob]>> {
  const fd = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(raw) }).formData();
  const out: Array<[string, string | Blob]> = [];
  fd.forEach((v, k) => out.push([k, v]));
  return out;
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<Obj> {
  const out: Obj = {};
  for (const [k, v] of await formData(raw, contentType)) out[k] = typeof v === 'string' ? v : Buffer.from(await v.arrayBuffer());
  return out;
}

async function parseMultipartFiles(raw: Buffer, contentType: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const [, v] of await formData(raw, contentType)) if (typeof v !== 'string') out.push(Buffer.from(await v.arrayBuffer()));
  return out;
}

function mimeFor(name: string): string {
  const ext = (name.split('.').pop() ?? '').toLowerCase();
  return (
    { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', webp: 'image/webp', gif: 'image/gif', txt: 'text/plain' } as Record<string, string>
  )[ext] ?? 'application/octet-stream';
}
