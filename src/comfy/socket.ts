/**
 * The one WebSocket a client keeps to its host: stable clientId, reconnect with capped jittered
 * backoff (slow, fixed pace after 401/403 so a bad credential never becomes a tight loop), and a
 * liveness check, because ComfyUI never pings: after a silence we send a ws ping and probe
 * GET /prompt; a socket that answers the ping stays up however long a node takes.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { formatCap, WS_MESSAGE_MAX_BYTES } from './answer-caps.ts';
import { authFailureDelay, backoffDelay, type BackoffOptions } from './backoff.ts';
import { networkReason } from './http.ts';

export interface HostSocketOptions {
  /** http(s) base URL of the host, no trailing slash. */
  baseUrl: string;
  clientId: string;
  headers: Record<string, string>;
  /** Handshake timeout. */
  connectTimeoutMs: number;
  livenessMs: number;
  /** How long to wait for a pong after a liveness ping. */
  pongTimeoutMs: number;
  backoff: BackoffOptions;
  previewMetadata: boolean;
  /** GET /prompt: true when the host answers HTTP. */
  probe: () => Promise<boolean>;
  /** Keeps secrets out of reasons and out of every text message the host sends. */
  redact: (text: string) => string;
  /** Largest message accepted (default WS_MESSAGE_MAX_BYTES); a bigger one drops the socket, which reconnects. */
  maxMessageBytes?: number;
  random?: () => number;
}

/**
 * Events: 'open', 'down' (reason), 'json' (message object), 'binary' (Buffer), 'silent' (a liveness
 * round started: nothing arrived for livenessMs), 'failed' (reason, authFailure: boolean) after a
 * failed attempt.
 */
export class HostSocket extends EventEmitter {
  private ws: WebSocket | undefined;
  private running = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private livenessTimer: NodeJS.Timeout | undefined;
  private lastSeen = Date.now();
  private probing = false;
  private wasOpen = false;
  private lastFailure: { reason: string; auth: boolean } | undefined;

  constructor(private readonly opts: HostSocketOptions) {
    super();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  get failure(): { reason: string; auth: boolean } | undefined {
    return this.lastFailure;
  }

  get maxMessageBytes(): number {
    return this.opts.maxMessageBytes ?? WS_MESSAGE_MAX_BYTES;
  }

  get wsUrl(): string {
    const base = this.opts.baseUrl.replace(/^http/, 'ws');
    return `${base}/ws?clientId=${encodeURIComponent(this.opts.clientId)}`;
  }

  /** Start connecting (and keep reconnecting until stop()). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.connectNow();
  }

  /** Resolves at the next open (now if open); rejects with the reason of the next failed attempt. */
  waitOpen(): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onOpen = () => {
        this.off('failed', onFail);
        resolve();
      };
      const onFail = (reason: string) => {
        this.off('open', onOpen);
        reject(new Error(reason));
      };
      this.once('open', onOpen);
      this.once('failed', onFail);
    });
  }

  /** If waiting between attempts, try again right away. */
  kick(): void {
    if (!this.running || this.ws) return;
    if (this.lastFailure?.auth) return; // credentials do not fix themselves
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.connectNow();
  }

  /** Drop the current socket (it will reconnect). */
  drop(reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    (ws as WebSocket & { dropReason?: string }).dropReason = reason;
    ws.terminate();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.livenessTimer);
    this.livenessTimer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (!ws) return;
    ws.removeAllListeners();
    ws.on('error', () => undefined);
    if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.terminate();
  }

  private connectNow(): void {
    if (!this.running) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.wsUrl, {
        headers: this.opts.headers,
        handshakeTimeout: this.opts.connectTimeoutMs,
        perMessageDeflate: false,
        maxPayload: this.maxMessageBytes,
      });
    } catch (err) {
      this.onAttemptFailed(networkReason(err), false);
      return;
    }
    this.ws = ws;
    let errorReason: string | undefined;
    let authFailure = false;
    let opened = false;

    ws.on('open', () => {
      opened = true;
      this.wasOpen = true;
      this.lastFailure = undefined;
      this.lastSeen = Date.now();
      if (this.opts.previewMetadata) {
        ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
      }
      clearTimeout(this.stableTimer);
      // Only a connection that stays up resets the backoff, so accept-then-drop cannot loop fast.
      this.stableTimer = setTimeout(() => (this.attempt = 0), Math.max(5_000, this.opts.backoff.initialMs * 4));
      this.stableTimer.unref?.();
      this.startLiveness();
      this.emit('open');
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      this.lastSeen = Date.now();
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (isBinary) {
        this.emit('binary', buf);
        return;
      }
      let msg: unknown;
      try {
        // Redacted before parsing: execution_error texts and tracebacks may echo credentials.
        msg = JSON.parse(this.opts.redact(buf.toString('utf8')));
      } catch {
        return; // not ours to understand
      }
      if (msg && typeof msg === 'object') this.emit('json', msg);
    });
    ws.on('pong', () => {
      this.lastSeen = Date.now();
    });
    ws.on('ping', () => {
      this.lastSeen = Date.now();
    });
    ws.on('error', (err: Error) => {
      if ((err as Error & { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        // ws closes the socket (1009) itself; say why, and the usual reconnect follows.
        (ws as WebSocket & { dropReason?: string }).dropReason =
          `the host sent a WebSocket message larger than ${formatCap(this.maxMessageBytes)}, Easel's limit`;
        return;
      }
      const status = /Unexpected server response: (\d+)/.exec(err.message);
      if (status) {
        const code = Number(status[1]);
        authFailure = code === 401 || code === 403 || code === 407;
        errorReason = authFailure
          ? `the host refused the WebSocket upgrade (HTTP ${code}): check the auth settings for this host`
          : `the WebSocket upgrade was answered with HTTP ${code}`;
      } else if (/handshake has timed out/i.test(err.message)) {
        errorReason = `no WebSocket handshake within ${Math.round(this.opts.connectTimeoutMs / 1000)} s`;
      } else {
        errorReason = networkReason(err);
      }
    });
    ws.on('close', (code: number) => {
      if (this.ws === ws) this.ws = undefined;
      clearInterval(this.livenessTimer);
      this.livenessTimer = undefined;
      clearTimeout(this.stableTimer);
      if (!this.running) return;
      if (opened) {
        const dropped = (ws as WebSocket & { dropReason?: string }).dropReason;
        const reason = dropped ?? (code === 1006 ? 'the connection dropped' : `the host closed the WebSocket (code ${code})`);
        this.emit('down', this.opts.redact(reason));
        this.scheduleReconnect(false);
      } else {
        this.onAttemptFailed(errorReason ?? 'could not open the WebSocket', authFailure);
      }
    });
  }

  private onAttemptFailed(reason: string, auth: boolean): void {
    const clean = this.opts.redact(reason);
    this.lastFailure = { reason: clean, auth };
    if (this.wasOpen) {
      this.wasOpen = false;
    }
    this.emit('failed', clean, auth);
    this.scheduleReconnect(auth);
  }

  private scheduleReconnect(auth: boolean): void {
    if (!this.running) return;
    clearTimeout(this.reconnectTimer);
    const delay = auth
      ? authFailureDelay(this.opts.backoff, this.opts.random)
      : backoffDelay(this.attempt, this.opts.backoff, this.opts.random);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connectNow();
    }, delay);
  }

  private startLiveness(): void {
    clearInterval(this.livenessTimer);
    const every = Math.max(50, Math.min(1_000, Math.floor(this.opts.livenessMs / 4)));
    this.livenessTimer = setInterval(() => void this.checkLiveness(), every);
    this.livenessTimer.unref?.();
  }

  private async checkLiveness(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.probing) return;
    if (Date.now() - this.lastSeen < this.opts.livenessMs) return;
    this.probing = true;
    const pingedAt = Date.now();
    try {
      this.emit('silent');
      try {
        ws.ping();
      } catch {
        /* a socket that cannot even send is handled by close */
      }
      const probe = this.opts.probe().catch(() => false);
      await new Promise((r) => setTimeout(r, this.opts.pongTimeoutMs));
      const httpUp = await probe;
      if (this.ws !== ws || ws.readyState !== WebSocket.OPEN) return;
      if (this.lastSeen >= pingedAt) return; // pong (or anything) arrived: alive, however long the node takes
      this.drop(
        httpUp
          ? 'the WebSocket stopped answering pings (the host still answers HTTP)'
          : 'the WebSocket stopped answering pings and GET /prompt failed',
      );
    } finally {
      this.probing = false;
    }
  }
}
