/**
 * A local Discord for tests: gateway (HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME) and
 * the REST routes a bot uses (gateway/bot, interaction callbacks, webhook edits and follow-ups, channel
 * messages, DMs, application commands) plus a CDN route serving attachments. It checks what Discord
 * checks and fails the same way (`{code, message, errors}`): the 3-second acknowledgement (10062), a
 * second acknowledgement (40060), the 15-minute token (50027), file size (40005), file count, rows and
 * buttons, custom_id and content lengths (50035), deleted messages (10008), missing permissions
 * (50013), and per-route rate limits (X-RateLimit-* headers, 429 + retry_after).
 *
 * Like Discord, it also holds the bot to what its Guilds-only intent allows: a message read back
 * through REST (GET channel message) has empty content, attachments, embeds and components unless
 * the bot wrote it, it mentions the bot, or it is in a DM (MESSAGE_CONTENT is privileged). Channels
 * the bot cannot see answer 50001 Missing Access; files in a channel without Attach Files answer
 * 50013; a DM to a user who closed them answers 50007. CDN links are signed (`ex`, `is`, `hm`) and
 * refused once `ex` (hex unix seconds) has passed or the signature does not match. Embeds are checked
 * (field lengths, 25 fields, 6000 characters in all, image url scheme) and their images resolved:
 * `attachment://name` to that file's CDN link, an outside url to a `proxy_url` on Discord's media proxy.
 *
 * Its clock (`fake.clock`) can be advanced to expire tokens without waiting.
 */
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  DiscordHttpError,
  LIMITS,
  checkAutocomplete,
  checkCommand,
  checkMessageBody,
  checkModal,
  type DiscordErrorBody,
} from './discord-limits.ts';
import { FakeClock, snowflake } from './fake-clock.ts';
import { RateLimiter, type RateLimitRule } from './rate-limiter.ts';

type Json = Record<string, unknown>;

export interface FakeUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: null;
  bot?: boolean;
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type: string;
  description?: string | null;
  width?: number;
  height?: number;
  data: Buffer;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  guild_id?: string;
  type: number;
  author: FakeUser;
  content: string;
  components: Json[];
  embeds: Json[];
  attachments: FakeAttachment[];
  flags: number;
  timestamp: string;
  edited_timestamp: string | null;
  webhook_id?: string;
  application_id?: string;
  /** The interaction whose response or follow-up this is. */
  interactionId?: string;
  deleted: boolean;
  /** allowed_mentions the message was sent with (who it may ping). */
  allowedMentions?: Json;
  /** Every state the message went through (content, attachment names), for assertions. */
  history: Array<{ content: string; files: string[]; components: number }>;
}

export interface FakeChannel {
  id: string;
  type: number;
  name?: string;
  guild_id?: string;
  recipients?: FakeUser[];
  /** May the bot post/edit here? (false: 50013 Missing Permissions) */
  botCanWrite: boolean;
  /** May the bot see this channel at all? (false: every channel route answers 50001 Missing Access) */
  botCanView: boolean;
  /** May the bot attach files here? (false: a message with files answers 50013 Missing Permissions) */
  botCanAttach: boolean;
}

export interface FakeInteraction {
  id: string;
  token: string;
  type: number;
  user: FakeUser;
  channelId: string;
  guildId?: string;
  issuedAt: number;
  ackType?: number;
  ackedAt?: number;
  /** Set after the first callback: the response message (or the clicked message for 6/7). */
  originalMessageId?: string;
  /** Components and modals from a message: the message the component sits on. */
  componentMessageId?: string;
  attachmentSizeLimit: number;
  /** Callback bodies received (the first one is the acknowledgement). */
  callbacks: Array<{ type: number; data?: Json; status: number }>;
  payload: Json;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number;
  at: number;
  body?: unknown;
  files?: string[];
  code?: number;
}

export interface FakeDiscordOptions {
  token?: string;
  /** Milliseconds a bot has to acknowledge an interaction (Discord: 3000). */
  ackWindowMs?: number;
  /** Lifetime of an interaction token (Discord: 15 minutes). */
  tokenLifetimeMs?: number;
  /** Per-route rate limit (default 5 requests per 5 s per route bucket, like message sends). */
  rateLimit?: RateLimitRule;
  heartbeatIntervalMs?: number;
  /** attachment_size_limit sent with interactions (default 10 MiB). */
  attachmentSizeLimit?: number;
  /**
   * The per-file cap the API really enforces (default 10 MiB). Discord enforces 10 MiB on webhooks
   * and interactions even where `attachment_size_limit` reports more.
   */
  enforcedFileBytes?: number;
  /** How long a signed CDN link stays valid (Discord: about 24 hours). */
  cdnLinkLifetimeMs?: number;
}

interface GatewaySession {
  ws: WebSocket;
  sessionId?: string;
  seq: number;
  identified: boolean;
}

const API_PREFIX = '/api/v10';
const TOKEN_LIFETIME = 15 * 60 * 1000;
const PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15);
const MESSAGE_CONTENT_INTENT = 1 << 15;
const CDN_LINK_LIFETIME = 24 * 60 * 60 * 1000;
const EVERYONE_PERMS = '2248473465835073';

export class FakeDiscord extends EventEmitter {
  readonly clock = new FakeClock();
  readonly token: string;
  readonly applicationId: string;
  readonly guildId: string;
  readonly channelId: string;
  readonly botUser: FakeUser;
  readonly requests: RequestRecord[] = [];
  readonly interactions = new Map<string, FakeInteraction>();
  readonly messages = new Map<string, FakeMessage>();
  readonly channels = new Map<string, FakeChannel>();
  readonly users = new Map<string, FakeUser>();
  /** Application commands: key '' for global, else the guild id. */
  readonly commands = new Map<string, Json[]>();
  /** Commands created today (Discord allows 200 per day). */
  commandCreates = 0;
  /** Users whose DMs are closed to the bot (50007). */
  readonly closedDms = new Set<string>();
  /** When false, the bot may not edit interaction responses through the channel route (50005). */
  botCanEditInteractionResponses = true;

  private readonly server: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sessions = new Set<GatewaySession>();
  private readonly sessionLog = new Map<string, Array<{ s: number; frame: string }>>();
  private readonly limiter: RateLimiter;
  private opts: Required<Omit<FakeDiscordOptions, 'token' | 'rateLimit'>>;
  private readonly attachmentBytes = new Map<string, FakeAttachment>();
  /** Outside images Discord's media proxy has cached, by proxy key. */
  private readonly externalImages = new Map<string, { url: string; data: Buffer; contentType: string }>();
  private readonly cdnSecret = Math.random().toString(36).slice(2);
  /** Intents of the identified bot (the fake refuses privileged ones, as for an unapproved app). */
  private botIntents = 0;
  private port = 0;
  private readyWaiters: Array<() => void> = [];

  private constructor(opts: FakeDiscordOptions) {
    super();
    this.setMaxListeners(100);
    this.token = opts.token ?? 'fake.bot.token';
    this.opts = {
      ackWindowMs: opts.ackWindowMs ?? 3000,
      tokenLifetimeMs: opts.tokenLifetimeMs ?? TOKEN_LIFETIME,
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 41250,
      attachmentSizeLimit: opts.attachmentSizeLimit ?? LIMITS.fileBytes,
      enforcedFileBytes: opts.enforcedFileBytes ?? LIMITS.fileBytes,
      cdnLinkLifetimeMs: opts.cdnLinkLifetimeMs ?? CDN_LINK_LIFETIME,
    };
    this.limiter = new RateLimiter(opts.rateLimit ?? { limit: 5, windowMs: 5000 });
    const t = this.clock.now();
    this.applicationId = snowflake(t);
    this.guildId = snowflake(t);
    this.channelId = snowflake(t);
    this.botUser = { id: this.applicationId, username: 'easel', global_name: null, discriminator: '0', avatar: null, bot: true };
    this.users.set(this.botUser.id, this.botUser);
    this.channels.set(this.channelId, { id: this.channelId, type: 0, name: 'art', guild_id: this.guildId, botCanWrite: true, botCanView: true, botCanAttach: true });
    this.server = http.createServer((req, res) => void this.onHttp(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/gateway')) {
        socket.destroy();
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onGateway(ws));
    });
  }

  static async start(opts: FakeDiscordOptions = {}): Promise<FakeDiscord> {
    const fake = new FakeDiscord(opts);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.port = (fake.server.address() as AddressInfo).port;
    return fake;
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** For discord.js `rest.api` and Easel's `discord.apiBase`. */
  get apiBase(): string {
    return `${this.origin}/api`;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) s.ws.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- test API: people, channels, files --------------------------------------------------------

  addUser(username: string): FakeUser {
    const u: FakeUser = { id: snowflake(this.clock.now()), username, global_name: username[0].toUpperCase() + username.slice(1), discriminator: '0', avatar: null };
    this.users.set(u.id, u);
    return u;
  }

  addChannel(name: string, opts: { botCanWrite?: boolean; botCanView?: boolean; botCanAttach?: boolean } = {}): FakeChannel {
    const botCanView = opts.botCanView ?? true;
    const c: FakeChannel = {
      id: snowflake(this.clock.now()),
      type: 0,
      name,
      guild_id: this.guildId,
      botCanView,
      botCanWrite: botCanView && (opts.botCanWrite ?? true),
      botCanAttach: opts.botCanAttach ?? true,
    };
    this.channels.set(c.id, c);
    return c;
  }

  /** Change the per-file cap the API enforces from now on (see FakeDiscordOptions.enforcedFileBytes). */
  setEnforcedFileBytes(bytes: number): void {
    this.opts.enforcedFileBytes = bytes;
  }

  setChannelWritable(channelId: string, writable: boolean): void {
    const c = this.channels.get(channelId);
    if (!c) throw new Error(`no channel ${channelId}`);
    c.botCanWrite = writable;
  }

  /**
   * A file uploaded by a user, served from the fake CDN route. Its links are signed like Discord's:
   * `ex` (expiry, hex unix seconds), `is` (issued, hex unix seconds) and `hm` (signature).
   */
  addAttachment(filename: string, data: Buffer, contentType: string, extra: { width?: number; height?: number } = {}): FakeAttachment {
    const id = snowflake(this.clock.now());
    const path = `/attachments/${id}/${encodeURIComponent(filename)}`;
    const url = `${this.origin}${path}?${this.signCdnPath(path)}`;
    const a: FakeAttachment = { id, filename, size: data.length, url, proxy_url: url, content_type: contentType, data, ...extra };
    this.attachmentBytes.set(id, a);
    return a;
  }

  /** The query Discord adds to a CDN link: ex/is in hex unix seconds and an HMAC over path, ex and is. */
  private signCdnPath(path: string): string {
    const issued = Math.floor(this.clock.now() / 1000);
    const ex = Math.floor((this.clock.now() + this.opts.cdnLinkLifetimeMs) / 1000).toString(16);
    const is = issued.toString(16);
    return `ex=${ex}&is=${is}&hm=${this.cdnSignature(path, ex, is)}`;
  }

  private cdnSignature(path: string, ex: string, is: string): string {
    return createHmac('sha256', this.cdnSecret).update(`${path}|${ex}|${is}`).digest('hex');
  }

  /** An image on some outside web site that Discord's media proxy has fetched for an embed. */
  addExternalImage(url: string, data: Buffer, contentType: string): void {
    this.externalImages.set(this.externalKey(url), { url, data, contentType });
  }

  private externalKey(url: string): string {
    return createHmac('sha256', this.cdnSecret).update(url).digest('hex').slice(0, 32);
  }

  /** A message written by a user (e.g. the target of a context-menu command), optionally with link embeds. */
  postUserMessage(author: FakeUser, opts: { channelId?: string; content?: string; attachments?: FakeAttachment[]; embeds?: Json[] } = {}): FakeMessage {
    const channelId = opts.channelId ?? this.channelId;
    const m = this.newMessage(channelId, author, { content: opts.content ?? '', attachments: opts.attachments ?? [], embeds: opts.embeds, type: 0 });
    return m;
  }

  /** The user deletes a message (later edits get 10008). */
  deleteMessage(id: string): void {
    const m = this.messages.get(id);
    if (m) m.deleted = true;
    this.changed();
  }

  messagesIn(channelId: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId && !m.deleted);
  }

  original(i: FakeInteraction): FakeMessage | undefined {
    return i.originalMessageId ? this.messages.get(i.originalMessageId) : undefined;
  }

  followUps(i: FakeInteraction): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.interactionId === i.id && m.id !== i.originalMessageId);
  }

  errors(): RequestRecord[] {
    return this.requests.filter((r) => r.status >= 400);
  }

  /** Resolves with the first truthy value of `check`, re-evaluated whenever the fake's state changes. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 15000, what = 'condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const test = () => {
        let v: T | undefined | null | false;
        try {
          v = check();
        } catch (err) {
          cleanup();
          reject(err as Error);
          return;
        }
        if (v) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake discord: timed out waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('change', test);
      };
      this.on('change', test);
      test();
    });
  }

  /** Resolves when a bot has identified on the gateway. */
  whenReady(): Promise<void> {
    if ([...this.sessions].some((s) => s.identified)) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  // ---- test API: interactions -------------------------------------------------------------------

  private member(user: FakeUser): Json {
    return { user, roles: [], permissions: EVERYONE_PERMS, joined_at: new Date(this.clock.now()).toISOString(), deaf: false, mute: false, flags: 0, nick: null, avatar: null };
  }

  private baseInteraction(type: number, user: FakeUser, opts: { channelId?: string; dm?: boolean }): { i: FakeInteraction; payload: Json } {
    const now = this.clock.now();
    const id = snowflake(now);
    const token = `itok-${id}-${Math.random().toString(36).slice(2)}`;
    const channelId = opts.channelId ?? this.channelId;
    const channel = this.channels.get(channelId);
    const payload: Json = {
      id,
      application_id: this.applicationId,
      type,
      token,
      version: 1,
      locale: 'en-US',
      entitlements: [],
      attachment_size_limit: this.opts.attachmentSizeLimit,
      app_permissions: EVERYONE_PERMS,
    };
    if (opts.dm) {
      payload.user = user;
      payload.channel = { id: channelId, type: 1, recipients: [user] };
      payload.channel_id = channelId;
      payload.context = 1;
      payload.authorizing_integration_owners = { '0': this.guildId };
    } else {
      payload.guild_id = this.guildId;
      payload.guild_locale = 'en-US';
      payload.channel_id = channelId;
      payload.channel = { id: channelId, type: 0, guild_id: this.guildId, name: channel?.name ?? 'channel' };
      payload.member = this.member(user);
      payload.context = 0;
      payload.authorizing_integration_owners = { '0': this.guildId };
    }
    const i: FakeInteraction = {
      id,
      token,
      type,
      user,
      channelId,
      guildId: opts.dm ? undefined : this.guildId,
      issuedAt: now,
      attachmentSizeLimit: this.opts.attachmentSizeLimit,
      callbacks: [],
      payload,
    };
    return { i, payload };
  }

  private async fire(i: FakeInteraction): Promise<FakeInteraction> {
    await this.whenReady();
    // The 3 s window starts when Discord sends the event.
    i.issuedAt = this.clock.now();
    this.interactions.set(i.token, i);
    this.dispatch('INTERACTION_CREATE', i.payload);
    return i;
  }

  private commandId(name: string, type: number): string {
    for (const list of this.commands.values()) {
      const c = list.find((x) => x.name === name && ((x.type as number) ?? 1) === type);
      if (c) return c.id as string;
    }
    return snowflake(this.clock.now());
  }

  /**
   * A slash command. `options` are `{name, type, value}` (type 11 for attachments: pass the
   * FakeAttachment as value). `subcommand` wraps the options in a subcommand.
   */
  async slashCommand(
    name: string,
    opts: { user: FakeUser; options?: Array<{ name: string; type: number; value: unknown; focused?: boolean }>; subcommand?: string; channelId?: string; dm?: boolean; autocomplete?: boolean },
  ): Promise<FakeInteraction> {
    const { i, payload } = this.baseInteraction(opts.autocomplete ? 4 : 2, opts.user, opts);
    const attachments: Record<string, Json> = {};
    let options: Json[] = (opts.options ?? []).map((o) => {
      if (o.type === 11) {
        const a = o.value as FakeAttachment;
        const { data: _data, ...rest } = a;
        attachments[a.id] = { ...rest, ephemeral: true };
        return { name: o.name, type: 11, value: a.id };
      }
      return { name: o.name, type: o.type, value: o.value, ...(o.focused ? { focused: true } : {}) };
    });
    if (opts.subcommand) options = [{ name: opts.subcommand, type: 1, options }];
    payload.data = {
      id: this.commandId(name, 1),
      name,
      type: 1,
      options,
      ...(Object.keys(attachments).length ? { resolved: { attachments } } : {}),
      ...(opts.dm ? {} : { guild_id: this.guildId }),
    };
    return this.fire(i);
  }

  async messageCommand(name: string, target: FakeMessage, opts: { user: FakeUser }): Promise<FakeInteraction> {
    const { i, payload } = this.baseInteraction(2, opts.user, { channelId: target.channel_id });
    payload.data = {
      id: this.commandId(name, 3),
      name,
      type: 3,
      target_id: target.id,
      resolved: { messages: { [target.id]: this.messageJson(target) } },
      guild_id: this.guildId,
    };
    return this.fire(i);
  }

  async clickButton(message: FakeMessage, customId: string, opts: { user: FakeUser }): Promise<FakeInteraction> {
    const found = message.components.some((row) => ((row.components as Json[]) ?? []).some((c) => c.custom_id === customId));
    if (!found) throw new Error(`fake discord: message ${message.id} has no button ${customId}`);
    if (message.deleted) throw new Error(`fake discord: message ${message.id} was deleted`);
    const { i, payload } = this.baseInteraction(3, opts.user, { channelId: message.channel_id });
    payload.data = { custom_id: customId, component_type: 2 };
    payload.message = this.messageJson(message);
    i.componentMessageId = message.id;
    return this.fire(i);
  }

  /** Submit the modal that `opener` was answered with (values by text input custom_id). */
  async submitModal(opener: FakeInteraction, values: Record<string, string>, opts: { user?: FakeUser } = {}): Promise<FakeInteraction> {
    const modal = opener.callbacks.find((c) => c.type === 9 && c.status < 300)?.data;
    if (!modal) throw new Error('fake discord: that interaction was not answered with a modal');
    const user = opts.user ?? opener.user;
    const { i, payload } = this.baseInteraction(5, user, { channelId: opener.channelId });
    const rows = (modal.components as Json[]).map((row) => {
      const input = (row.type === 1 ? (row.components as Json[])[0] : (row.component as Json)) ?? {};
      const id = input.custom_id as string;
      const value = id in values ? values[id] : ((input.value as string | undefined) ?? '');
      return row.type === 1
        ? { type: 1, components: [{ type: 4, custom_id: id, value }] }
        : { type: 18, id: row.id ?? 1, component: { type: 4, custom_id: id, value } };
    });
    payload.data = { custom_id: modal.custom_id, components: rows };
    if (opener.componentMessageId) {
      const m = this.messages.get(opener.componentMessageId);
      if (m) payload.message = this.messageJson(m);
      i.componentMessageId = opener.componentMessageId;
    }
    return this.fire(i);
  }

  /** Wait for the acknowledgement (first callback) of an interaction. */
  acknowledged(i: FakeInteraction, timeoutMs = 10000): Promise<{ type: number; data?: Json; status: number }> {
    return this.waitFor(() => i.callbacks[0], timeoutMs, `acknowledgement of interaction ${i.id}`);
  }

  // ---- gateway ----------------------------------------------------------------------------------

  dispatch(t: string, d: unknown): void {
    for (const s of this.sessions) {
      if (!s.identified) continue;
      s.seq++;
      const frame = JSON.stringify({ op: 0, t, s: s.seq, d });
      if (s.sessionId) this.sessionLog.get(s.sessionId)?.push({ s: s.seq, frame });
      s.ws.send(frame);
    }
  }

  /** Ask connected clients to reconnect and RESUME (op 7). */
  requestReconnect(): void {
    for (const s of this.sessions) s.ws.send(JSON.stringify({ op: 7, d: null, s: null, t: null }));
  }

  get gatewaySessions(): number {
    return [...this.sessions].filter((s) => s.identified).length;
  }

  private onGateway(ws: WebSocket): void {
    const session: GatewaySession = { ws, seq: 0, identified: false };
    this.sessions.add(session);
    ws.on('close', () => {
      this.sessions.delete(session);
      this.changed();
    });
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.opts.heartbeatIntervalMs }, s: null, t: null }));
    ws.on('message', (raw) => {
      let msg: { op?: number; d?: Json };
      try {
        msg = JSON.parse(String(raw));
      } catch {
        ws.close(4002, 'Error while decoding payload.');
        return;
      }
      switch (msg.op) {
        case 1:
          ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
          return;
        case 2:
          this.identify(session, msg.d ?? {});
          return;
        case 6:
          this.resume(session, msg.d ?? {});
          return;
        case 3:
        case 4:
        case 8:
          return;
        default:
          ws.close(4001, 'Unknown opcode.');
      }
    });
  }

  private identify(s: GatewaySession, d: Json): void {
    if (s.identified) {
      s.ws.close(4005, 'Already authenticated.');
      return;
    }
    if (d.token !== this.token && d.token !== `Bot ${this.token}`) {
      s.ws.close(4004, 'Authentication failed.');
      return;
    }
    const intents = d.intents;
    if (typeof intents !== 'number' || intents < 0) {
      s.ws.close(4013, 'Invalid intent(s).');
      return;
    }
    if (intents & PRIVILEGED_INTENTS) {
      s.ws.close(4014, 'Disallowed intent(s).');
      return;
    }
    s.identified = true;
    this.botIntents = intents;
    s.sessionId = `sess-${Math.random().toString(36).slice(2)}`;
    this.sessionLog.set(s.sessionId, []);
    const resumeUrl = `ws://127.0.0.1:${this.port}/gateway`;
    this.dispatch('READY', {
      v: 10,
      user: { ...this.botUser, flags: 0, verified: true, mfa_enabled: false },
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: s.sessionId,
      resume_gateway_url: resumeUrl,
      shard: [0, 1],
      application: { id: this.applicationId, flags: 0 },
    });
    this.dispatch('GUILD_CREATE', this.guildJson());
    for (const w of this.readyWaiters.splice(0)) w();
    this.changed();
  }

  private resume(s: GatewaySession, d: Json): void {
    const log = typeof d.session_id === 'string' ? this.sessionLog.get(d.session_id) : undefined;
    if (d.token !== this.token || !log) {
      s.ws.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
      return;
    }
    s.identified = true;
    s.sessionId = d.session_id as string;
    const from = Number(d.seq ?? 0);
    for (const entry of log) if (entry.s > from) s.ws.send(entry.frame);
    s.seq = log.length ? log[log.length - 1].s : from;
    this.dispatch('RESUMED', {});
    this.changed();
  }

  private guildJson(): Json {
    return {
      id: this.guildId,
      name: 'Test Guild',
      unavailable: false,
      owner_id: this.botUser.id,
      joined_at: new Date(this.clock.now()).toISOString(),
      member_count: this.users.size,
      large: false,
      features: [],
      roles: [{ id: this.guildId, name: '@everyone', permissions: EVERYONE_PERMS, position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
      channels: [...this.channels.values()]
        .filter((c) => c.guild_id === this.guildId)
        .map((c, i) => ({ id: c.id, type: c.type, name: c.name, guild_id: this.guildId, position: i, permission_overwrites: [] })),
      members: [],
      threads: [],
      presences: [],
      voice_states: [],
      emojis: [],
      stickers: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  // ---- HTTP -------------------------------------------------------------------------------------

  private changed(): void {
    this.emit('change');
  }

  /** Re-run pending waitFor checks (for state outside the fake, e.g. events the bot received). */
  notify(): void {
    this.changed();
  }

  private async onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const method = req.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const record: RequestRecord = { method, path: url.pathname, status: 0, at: this.clock.now() };
    this.requests.push(record);
    let headers: Record<string, string> = {};
    try {
      if (url.pathname.startsWith('/attachments/')) {
        this.serveAttachment(url, res, record);
        return;
      }
      if (url.pathname.startsWith('/external/')) {
        this.serveExternal(url, res, record);
        return;
      }
      if (!url.pathname.startsWith(API_PREFIX + '/')) throw new DiscordHttpError(404, { code: 0, message: '404: Not Found' });
      const segs = url.pathname.slice(API_PREFIX.length + 1).split('/').map((s) => decodeURIComponent(s));
      const parsed = await this.parseBody(req, raw);
      record.body = parsed.json;
      record.files = parsed.files.map((f) => f.name);
      const bucket = this.bucketOf(method, segs);
      if (bucket) {
        const verdict = this.limiter.take(bucket);
        headers = verdict.headers;
        if (verdict.limited) {
          throw new DiscordHttpError(
            429,
            { message: 'You are being rate limited.', retry_after: verdict.retryAfterMs / 1000, global: false, code: 0 } as unknown as DiscordErrorBody,
            headers,
          );
        }
      }
      const result = await this.route(method, segs, url, req, parsed);
      record.status = result.status;
      res.writeHead(result.status, { ...headers, ...(result.body !== undefined ? { 'content-type': 'application/json' } : {}) });
      res.end(result.body !== undefined ? JSON.stringify(result.body) : undefined);
    } catch (err) {
      const e =
        err instanceof DiscordHttpError ? err : new DiscordHttpError(500, { code: 0, message: `fake discord crashed: ${(err as Error).stack}` });
      record.status = e.status;
      record.code = e.body.code;
      res.writeHead(e.status, { ...headers, ...e.headers, 'content-type': 'application/json' });
      res.end(JSON.stringify(e.body));
    } finally {
      this.changed();
    }
  }

  private serveAttachment(url: URL, res: http.ServerResponse, record: RequestRecord): void {
    const [, , id] = url.pathname.split('/');
    const a = this.attachmentBytes.get(id);
    const ex = url.searchParams.get('ex') ?? '';
    const is = url.searchParams.get('is') ?? '';
    const hm = url.searchParams.get('hm') ?? '';
    const expires = /^[0-9a-f]+$/.test(ex) ? parseInt(ex, 16) * 1000 : NaN;
    const signed = hm !== '' && hm === this.cdnSignature(url.pathname, ex, is);
    // Discord answers an unsigned, tampered or expired link the same way as a missing file.
    if (!a || !signed || !(this.clock.now() < expires)) return sendFile(res, record, 404, 'text/plain', 'This content is no longer available.');
    sendFile(res, record, 200, a.content_type, a.data);
  }

  private serveExternal(url: URL, res: http.ServerResponse, record: RequestRecord): void {
    const [, , key] = url.pathname.split('/');
    const img = this.externalImages.get(key);
    if (!img) return sendFile(res, record, 404, 'text/plain', 'Not Found');
    sendFile(res, record, 200, img.contentType, img.data);
  }

  private async parseBody(req: http.IncomingMessage, raw: Buffer): Promise<{ json: Json | Json[] | undefined; files: Array<{ key: string; name: string; data: Buffer; type: string }> }> {
    const ct = req.headers['content-type'] ?? '';
    if (raw.length === 0) return { json: undefined, files: [] };
    if (ct.startsWith('multipart/form-data')) {
      const form = (await new Request('http://x/', { method: 'POST', headers: { 'content-type': ct }, body: new Uint8Array(raw) }).formData()) as unknown as {
        entries(): IterableIterator<[string, string | File]>;
      };
      let json: Json | undefined;
      const files: Array<{ key: string; name: string; data: Buffer; type: string }> = [];
      for (const [key, value] of form.entries()) {
        if (key === 'payload_json') json = JSON.parse(String(value));
        else if (typeof value !== 'string') files.push({ key, name: value.name, data: Buffer.from(await value.arrayBuffer()), type: value.type });
      }
      return { json, files };
    }
    if (ct.startsWith('application/json')) {
      try {
        return { json: JSON.parse(raw.toString('utf8')), files: [] };
      } catch {
        throw new DiscordHttpError(400, { code: 50109, message: 'The request body contains invalid JSON.' });
      }
    }
    throw new DiscordHttpError(400, { code: 0, message: `unsupported content type ${ct}` });
  }

  private bucketOf(method: string, segs: string[]): string | undefined {
    if (segs[0] === 'interactions') return undefined; // one callback per interaction anyway
    if (segs[0] === 'webhooks') return `webhook:${segs[1]}:${segs[2]}:${method === 'DELETE' ? 'delete' : 'msg'}`;
    if (segs[0] === 'channels') return `channel:${segs[1]}:${method === 'DELETE' ? 'delete' : 'msg'}`;
    if (segs[0] === 'applications') return `commands:${segs.slice(1, 4).filter((x) => x !== 'commands').join(':')}`;
    return undefined;
  }

  private requireBot(req: http.IncomingMessage): void {
    if (req.headers.authorization !== `Bot ${this.token}`) throw new DiscordHttpError(401, { code: 0, message: '401: Unauthorized' });
  }

  private async route(
    method: string,
    segs: string[],
    url: URL,
    req: http.IncomingMessage,
    body: { json: Json | Json[] | undefined; files: Array<{ key: string; name: string; data: Buffer; type: string }> },
  ): Promise<{ status: number; body?: unknown }> {
    const json = (body.json ?? {}) as Json;
    // GET /gateway/bot
    if (segs[0] === 'gateway' && segs[1] === 'bot' && method === 'GET') {
      this.requireBot(req);
      return {
        status: 200,
        body: {
          url: `ws://127.0.0.1:${this.port}/gateway`,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
        },
      };
    }
    // POST /interactions/:id/:token/callback
    if (segs[0] === 'interactions' && segs[3] === 'callback' && method === 'POST') {
      return this.callback(segs[1], segs[2], json, body.files, url.searchParams.get('with_response') === 'true');
    }
    // /webhooks/:app/:token[/messages/:id]
    if (segs[0] === 'webhooks') return this.webhook(method, segs, json, body.files, url);
    if (segs[0] === 'channels') {
      this.requireBot(req);
      return this.channelRoute(method, segs, json, body.files);
    }
    if (segs[0] === 'users' && segs[1] === '@me' && segs[2] === 'channels' && method === 'POST') {
      this.requireBot(req);
      const user = this.users.get(json.recipient_id as string);
      if (!user) throw new DiscordHttpError(400, { code: 50035, message: 'Invalid Form Body', errors: { recipient_id: { _errors: [{ code: 'USER_UNKNOWN', message: 'Unknown user' }] } } });
      let ch = [...this.channels.values()].find((c) => c.type === 1 && c.recipients?.[0]?.id === user.id);
      if (!ch) {
        ch = { id: snowflake(this.clock.now()), type: 1, recipients: [user], botCanWrite: true, botCanView: true, botCanAttach: true };
        this.channels.set(ch.id, ch);
      }
      return { status: 200, body: { id: ch.id, type: 1, recipients: [user], last_message_id: null, flags: 0 } };
    }
    if (segs[0] === 'applications') {
      this.requireBot(req);
      return this.commandsRoute(method, segs, body.json);
    }
    throw new DiscordHttpError(404, { code: 0, message: '404: Not Found' });
  }

  // ---- interactions and webhooks ----------------------------------------------------------------

  private callback(
    id: string,
    token: string,
    json: Json,
    files: Array<{ key: string; name: string; data: Buffer; type: string }>,
    withResponse: boolean,
  ): { status: number; body?: unknown } {
    const i = this.interactions.get(token);
    if (!i || i.id !== id || this.clock.now() - i.issuedAt > this.opts.ackWindowMs) {
      if (i) i.callbacks.push({ type: json.type as number, data: json.data as Json, status: 404 });
      throw new DiscordHttpError(404, { code: 10062, message: 'Unknown interaction' });
    }
    if (i.ackType !== undefined) {
      i.callbacks.push({ type: json.type as number, data: json.data as Json, status: 400 });
      throw new DiscordHttpError(400, { code: 40060, message: 'Interaction has already been acknowledged.' });
    }
    const type = json.type as number;
    const data = json.data as Json | undefined;
    const allowed: Record<number, number[]> = { 2: [4, 5, 9], 3: [4, 5, 6, 7, 9], 4: [8], 5: [4, 5, 6, 7] };
    if (!(allowed[i.type] ?? []).includes(type) || ((type === 6 || type === 7) && !i.componentMessageId)) {
      i.callbacks.push({ type, data, status: 400 });
      throw new DiscordHttpError(400, { code: 50035, message: 'Invalid Form Body', errors: { type: { _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Interaction response type is invalid for this interaction.' }] } } });
    }
    try {
      if (type === 9) checkModal(data);
      if (type === 8) checkAutocomplete(data);
      if (type === 4 || type === 7) {
        this.checkFiles(files, this.interactionFileCap(i));
        checkMessageBody(data ?? {}, { creating: type === 4, fileCount: files.length });
      }
    } catch (err) {
      i.callbacks.push({ type, data, status: (err as DiscordHttpError).status ?? 400 });
      throw err;
    }
    i.ackType = type;
    i.ackedAt = this.clock.now();
    i.callbacks.push({ type, data, status: withResponse ? 200 : 204 });
    let message: FakeMessage | undefined;
    if (type === 4 || type === 5) {
      const flags = (Number(data?.flags ?? 0) & 64) | (type === 5 ? 128 : 0);
      message = this.newMessage(i.channelId, this.botUser, {
        content: type === 4 ? ((data?.content as string) ?? '') : '',
        components: type === 4 ? ((data?.components as Json[]) ?? []) : [],
        attachments: type === 4 ? this.filesToAttachments(files, data) : [],
        embeds: type === 4 ? (data?.embeds as Json[] | undefined) : undefined,
        allowedMentions: type === 4 ? (data?.allowed_mentions as Json | undefined) : undefined,
        flags,
        type: i.type === 2 ? 20 : 19,
        interactionId: i.id,
      });
      i.originalMessageId = message.id;
    } else if (type === 6 || type === 7) {
      i.originalMessageId = i.componentMessageId;
      message = i.componentMessageId ? this.messages.get(i.componentMessageId) : undefined;
      if (type === 7 && message) this.applyEdit(message, data ?? {}, files);
    }
    if (!withResponse) return { status: 204 };
    return {
      status: 200,
      body: {
        interaction: {
          id: i.id,
          type: i.type,
          ...(message ? { response_message_id: message.id, response_message_loading: type === 5, response_message_ephemeral: (message.flags & 64) !== 0 } : {}),
        },
        ...(message ? { resource: { type, message: this.messageJson(message) } } : type === 9 ? { resource: { type } } : {}),
      },
    };
  }

  private webhookInteraction(appId: string, token: string): FakeInteraction {
    const i = this.interactions.get(token);
    if (!i || appId !== this.applicationId) throw new DiscordHttpError(404, { code: 10015, message: 'Unknown Webhook' });
    if (this.clock.now() - i.issuedAt > this.opts.tokenLifetimeMs) throw new DiscordHttpError(401, { code: 50027, message: 'Invalid Webhook Token' });
    if (i.ackType === undefined) throw new DiscordHttpError(404, { code: 10015, message: 'Unknown Webhook' });
    return i;
  }

  private webhook(method: string, segs: string[], json: Json, files: Array<{ key: string; name: string; data: Buffer; type: string }>, url: URL): { status: number; body?: unknown } {
    const i = this.webhookInteraction(segs[1], segs[2]);
    if (segs.length === 3 && method === 'POST') {
      this.checkFiles(files, this.interactionFileCap(i));
      checkMessageBody(json, { creating: true, fileCount: files.length });
      const m = this.newMessage(i.channelId, this.botUser, {
        content: (json.content as string) ?? '',
        components: (json.components as Json[]) ?? [],
        attachments: this.filesToAttachments(files, json),
        embeds: json.embeds as Json[] | undefined,
        allowedMentions: json.allowed_mentions as Json | undefined,
        flags: Number(json.flags ?? 0) & 64,
        type: 0,
        interactionId: i.id,
      });
      return url.searchParams.get('wait') === 'true' ? { status: 200, body: this.messageJson(m) } : { status: 204 };
    }
    if (segs[3] === 'messages' && segs[4]) {
      const mid = segs[4] === '@original' ? i.originalMessageId : segs[4];
      const m = mid ? this.messages.get(mid) : undefined;
      const ownedByInteraction = m && (m.interactionId === i.id || m.id === i.originalMessageId);
      if (!m || m.deleted || !ownedByInteraction) throw new DiscordHttpError(404, { code: 10008, message: 'Unknown Message' });
      if (method === 'GET') return { status: 200, body: this.messageJson(m) };
      if (method === 'DELETE') {
        m.deleted = true;
        return { status: 204 };
      }
      if (method === 'PATCH') {
        this.checkFiles(files, this.interactionFileCap(i));
        this.applyEdit(m, json, files);
        return { status: 200, body: this.messageJson(m) };
      }
    }
    throw new DiscordHttpError(405, { code: 0, message: '405: Method Not Allowed' });
  }

  private channelRoute(method: string, segs: string[], json: Json, files: Array<{ key: string; name: string; data: Buffer; type: string }>): { status: number; body?: unknown } {
    const ch = this.channels.get(segs[1]);
    if (!ch) throw new DiscordHttpError(404, { code: 10003, message: 'Unknown Channel' });
    if (!ch.botCanView) throw new DiscordHttpError(403, { code: 50001, message: 'Missing Access' });
    if (segs.length === 2 && method === 'GET') {
      return { status: 200, body: { id: ch.id, type: ch.type, name: ch.name, guild_id: ch.guild_id, recipients: ch.recipients } };
    }
    if (segs[2] !== 'messages') throw new DiscordHttpError(404, { code: 0, message: '404: Not Found' });
    if (segs.length === 3 && method === 'POST') {
      if (!ch.botCanWrite) throw new DiscordHttpError(403, { code: 50013, message: 'Missing Permissions' });
      if (ch.type === 1 && ch.recipients && this.closedDms.has(ch.recipients[0].id)) {
        throw new DiscordHttpError(403, { code: 50007, message: 'Cannot send messages to this user' });
      }
      if (files.length && !ch.botCanAttach) throw new DiscordHttpError(403, { code: 50013, message: 'Missing Permissions' });
      this.checkFiles(files, this.opts.enforcedFileBytes);
      checkMessageBody(json, { creating: true, fileCount: files.length });
      const m = this.newMessage(ch.id, this.botUser, {
        content: (json.content as string) ?? '',
        components: (json.components as Json[]) ?? [],
        attachments: this.filesToAttachments(files, json),
        embeds: json.embeds as Json[] | undefined,
        allowedMentions: json.allowed_mentions as Json | undefined,
        flags: 0,
        type: 0,
      });
      return { status: 200, body: this.messageJson(m) };
    }
    const m = this.messages.get(segs[3]);
    if (!m || m.deleted || m.channel_id !== ch.id) throw new DiscordHttpError(404, { code: 10008, message: 'Unknown Message' });
    if (method === 'GET') return { status: 200, body: this.messageJsonForBot(m, ch) };
    if (method === 'PATCH') {
      if (m.author.id !== this.botUser.id || (m.interactionId && !this.botCanEditInteractionResponses) || (m.flags & 64) !== 0) {
        throw new DiscordHttpError(403, { code: 50005, message: 'Cannot edit a message authored by another user' });
      }
      if (!ch.botCanWrite) throw new DiscordHttpError(403, { code: 50013, message: 'Missing Permissions' });
      if (files.length && !ch.botCanAttach) throw new DiscordHttpError(403, { code: 50013, message: 'Missing Permissions' });
      this.checkFiles(files, this.opts.enforcedFileBytes);
      this.applyEdit(m, json, files);
      return { status: 200, body: this.messageJson(m) };
    }
    if (method === 'DELETE') {
      if (m.author.id !== this.botUser.id && !ch.botCanWrite) throw new DiscordHttpError(403, { code: 50013, message: 'Missing Permissions' });
      m.deleted = true;
      return { status: 204 };
    }
    throw new DiscordHttpError(405, { code: 0, message: '405: Method Not Allowed' });
  }

  /** What an interaction webhook really accepts per file: the reported limit, but never above the enforced cap. */
  private interactionFileCap(i: FakeInteraction): number {
    return Math.min(i.attachmentSizeLimit, this.opts.enforcedFileBytes);
  }

  private checkFiles(files: Array<{ name: string; data: Buffer }>, limit: number): void {
    if (files.some((f) => f.data.length > limit)) throw new DiscordHttpError(413, { code: 40005, message: 'Request entity too large' });
  }

  private filesToAttachments(files: Array<{ key: string; name: string; data: Buffer; type: string }>, json: Json | undefined): FakeAttachment[] {
    const described = (json?.attachments as Json[] | undefined) ?? [];
    return files.map((f, idx) => {
      const index = /^files\[(\d+)\]$/.exec(f.key)?.[1] ?? String(idx);
      const meta = described.find((a) => String(a.id) === index);
      const filename = (meta?.filename as string | undefined) ?? f.name;
      const a = this.addAttachment(filename, f.data, f.type || 'application/octet-stream');
      a.description = (meta?.description as string | null | undefined) ?? null;
      return a;
    });
  }

  private applyEdit(m: FakeMessage, json: Json, files: Array<{ key: string; name: string; data: Buffer; type: string }>): void {
    let attachments = m.attachments;
    if (Array.isArray(json.attachments)) {
      const listed = json.attachments as Json[];
      const kept = m.attachments.filter((a) => listed.some((l) => String(l.id) === a.id));
      attachments = [...kept, ...this.filesToAttachments(files, json)];
    } else if (files.length) {
      attachments = [...m.attachments, ...this.filesToAttachments(files, json)];
    }
    const next = { ...m, ...('content' in json ? { content: (json.content as string) ?? '' } : {}), ...('components' in json ? { components: (json.components as Json[]) ?? [] } : {}) };
    const embeds = 'embeds' in json ? ((json.embeds as Json[] | null) ?? []) : undefined;
    checkMessageBody({ content: next.content, components: next.components, ...(embeds ? { embeds } : {}) }, { creating: false, fileCount: attachments.length });
    m.content = next.content;
    m.components = next.components;
    m.attachments = attachments;
    if (embeds) m.embeds = this.resolveEmbeds(embeds, attachments);
    if ('allowed_mentions' in json) m.allowedMentions = json.allowed_mentions as Json;
    m.flags &= ~128; // no longer "thinking"
    m.edited_timestamp = new Date(this.clock.now()).toISOString();
    m.history.push({ content: m.content, files: m.attachments.map((a) => a.filename), components: m.components.length });
  }

  private newMessage(
    channelId: string,
    author: FakeUser,
    init: {
      content: string;
      components?: Json[];
      attachments: FakeAttachment[];
      embeds?: Json[];
      allowedMentions?: Json;
      flags?: number;
      type: number;
      interactionId?: string;
    },
  ): FakeMessage {
    const ch = this.channels.get(channelId);
    const m: FakeMessage = {
      id: snowflake(this.clock.now()),
      channel_id: channelId,
      ...(ch?.guild_id ? { guild_id: ch.guild_id } : {}),
      type: init.type,
      author,
      content: init.content,
      components: init.components ?? [],
      embeds: this.resolveEmbeds(init.embeds ?? [], init.attachments),
      attachments: init.attachments,
      ...(init.allowedMentions ? { allowedMentions: init.allowedMentions } : {}),
      flags: init.flags ?? 0,
      timestamp: new Date(this.clock.now()).toISOString(),
      edited_timestamp: null,
      ...(init.interactionId ? { webhook_id: this.applicationId, application_id: this.applicationId, interactionId: init.interactionId } : {}),
      deleted: false,
      history: [],
    };
    m.history.push({ content: m.content, files: m.attachments.map((a) => a.filename), components: m.components.length });
    this.messages.set(m.id, m);
    return m;
  }

  /**
   * Embeds as Discord stores them: an image or thumbnail given as `attachment://name` becomes that
   * file's CDN link; an outside link keeps its `url` and gets a `proxy_url` on Discord's media proxy.
   */
  private resolveEmbeds(embeds: Json[], attachments: FakeAttachment[]): Json[] {
    return embeds.map((e) => {
      const out: Json = { type: 'rich', ...e };
      for (const k of ['image', 'thumbnail']) {
        const media = e[k] as Json | undefined;
        if (!media || typeof media.url !== 'string') continue;
        const url = media.url;
        if (url.startsWith('attachment://')) {
          const a = attachments.find((x) => x.filename === url.slice('attachment://'.length));
          if (a) out[k] = { url: a.url, proxy_url: a.proxy_url, width: a.width ?? 0, height: a.height ?? 0, content_type: a.content_type, flags: 0 };
          else delete out[k];
        } else {
          const key = this.externalKey(url);
          const u = new URL(url);
          out[k] = { url, proxy_url: `${this.origin}/external/${key}/${u.protocol.slice(0, -1)}/${u.host}${u.pathname}`, width: 0, height: 0, flags: 0 };
        }
      }
      return out;
    });
  }

  /** Does the bot, with the intents it identified with, see this message's content? */
  private botSeesContent(m: FakeMessage, ch: FakeChannel): boolean {
    if (this.botIntents & MESSAGE_CONTENT_INTENT) return true;
    return m.author.id === this.botUser.id || ch.type === 1 || m.content.includes(`<@${this.botUser.id}>`);
  }

  /** A message as a REST read returns it to the bot: without MESSAGE_CONTENT, others' messages come back empty. */
  messageJsonForBot(m: FakeMessage, ch: FakeChannel): Json {
    const json = this.messageJson(m);
    if (this.botSeesContent(m, ch)) return json;
    return { ...json, content: '', embeds: [], attachments: [], components: [] };
  }

  messageJson(m: FakeMessage): Json {
    return {
      id: m.id,
      channel_id: m.channel_id,
      ...(m.guild_id ? { guild_id: m.guild_id } : {}),
      type: m.type,
      author: m.author,
      content: m.content,
      components: m.components,
      embeds: m.embeds,
      attachments: m.attachments.map(({ data: _data, ...a }) => a),
      flags: m.flags,
      timestamp: m.timestamp,
      edited_timestamp: m.edited_timestamp,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      pinned: false,
      ...(m.webhook_id ? { webhook_id: m.webhook_id, application_id: m.application_id } : {}),
    };
  }

  // ---- application commands ---------------------------------------------------------------------

  private commandsRoute(method: string, segs: string[], body: Json | Json[] | undefined): { status: number; body?: unknown } {
    if (segs[1] !== this.applicationId) throw new DiscordHttpError(403, { code: 50001, message: 'Missing Access' });
    let scope = '';
    let rest = segs.slice(2);
    if (rest[0] === 'guilds') {
      if (rest[1] !== this.guildId) throw new DiscordHttpError(403, { code: 50001, message: 'Missing Access' });
      scope = rest[1];
      rest = rest.slice(2);
    }
    if (rest[0] !== 'commands') throw new DiscordHttpError(404, { code: 0, message: '404: Not Found' });
    const list = this.commands.get(scope) ?? [];
    const key = (c: Json) => `${(c.type as number | undefined) ?? 1}:${c.name as string}`;
    const stored = (c: Json, id: string, version: string): Json => ({
      id,
      application_id: this.applicationId,
      version,
      default_member_permissions: null,
      type: 1,
      nsfw: false,
      description: '',
      dm_permission: true,
      contexts: null,
      integration_types: [0],
      ...(scope ? { guild_id: scope } : {}),
      ...c,
    });
    const countCreate = () => {
      if (this.commandCreates >= 200) {
        throw new DiscordHttpError(429, { code: 30034, message: 'Max number of daily application command creates has been reached (200)', retry_after: 86400, global: false } as unknown as DiscordErrorBody, { 'retry-after': '86400' });
      }
      this.commandCreates++;
    };
    if (rest.length === 1) {
      if (method === 'GET') return { status: 200, body: list };
      if (method === 'PUT') {
        if (!Array.isArray(body)) throw new DiscordHttpError(400, { code: 50035, message: 'Invalid Form Body', errors: { _errors: [{ code: 'BASE_TYPE_ARRAY', message: 'Must be an array.' }] } });
        const seen = new Set<string>();
        body.forEach((c, idx) => {
          checkCommand(c, [idx]).throwIfAny();
          if (seen.has(key(c))) throw new DiscordHttpError(400, { code: 50035, message: 'Invalid Form Body', errors: { [idx]: { name: { _errors: [{ code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: 'Application command names must be unique' }] } } } });
          seen.add(key(c));
        });
        const next = body.map((c) => {
          const prev = list.find((p) => key(p) === key(c));
          if (!prev) countCreate();
          return stored(c, (prev?.id as string) ?? snowflake(this.clock.now()), snowflake(this.clock.now()));
        });
        this.commands.set(scope, next);
        return { status: 200, body: next };
      }
      if (method === 'POST') {
        const c = body as Json;
        checkCommand(c).throwIfAny();
        const prev = list.find((p) => key(p) === key(c));
        countCreate();
        const s = stored(c, (prev?.id as string) ?? snowflake(this.clock.now()), snowflake(this.clock.now()));
        this.commands.set(scope, [...list.filter((p) => p !== prev), s]);
        return { status: prev ? 200 : 201, body: s };
      }
    }
    if (rest.length === 2) {
      const prev = list.find((p) => p.id === rest[1]);
      if (!prev) throw new DiscordHttpError(404, { code: 10063, message: 'Unknown application command' });
      if (method === 'GET') return { status: 200, body: prev };
      if (method === 'DELETE') {
        this.commands.set(scope, list.filter((p) => p !== prev));
        return { status: 204 };
      }
      if (method === 'PATCH') {
        const merged = { ...prev, ...(body as Json) };
        checkCommand(merged).throwIfAny();
        const s = { ...merged, version: snowflake(this.clock.now()) };
        this.commands.set(scope, list.map((p) => (p === prev ? s : p)));
        return { status: 200, body: s };
      }
    }
    throw new DiscordHttpError(405, { code: 0, message: '405: Method Not Allowed' });
  }
}

/** Answer a file request (CDN or an outside image host) with this status and body, and record the status. */
function sendFile(res: http.ServerResponse, record: RequestRecord, status: number, contentType: string, body: Buffer | string): void {
  record.status = status;
  res.writeHead(status, typeof body === 'string' ? { 'content-type': contentType } : { 'content-type': contentType, 'content-length': String(body.length) });
  res.end(body);
}
