/**
 * WebSocket side of the simulator: sockets keyed by clientId (sid), feature-flag negotiation, and
 * ComfyUI's targeting rules (send to the prompt's client, broadcast, or nothing).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { pyJson } from './ordered-json.ts';

interface Client {
  ws: WebSocket;
  sid: string;
  /** True once the first client frame negotiated supports_preview_metadata. */
  previewMetadata: boolean;
  sawFirstFrame: boolean;
}

export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  /** Routing table: the newest socket for each sid. */
  private readonly bySid = new Map<string, Client>();
  /** Every open socket (replaced ones too), so kill()/dropSockets() reach them all. */
  private readonly all = new Set<Client>();

  constructor(
    private readonly hooks: {
      queueRemaining: () => number;
      serverFeatures: () => Record<string, unknown>;
      /** Node currently executing for this sid's running prompt, if any. */
      runningNodeFor: (sid: string) => string | null;
    },
  ) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, req));
  }

  private onConnection(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const sid = url.searchParams.get('clientId') || randomUUID().replace(/-/g, '');
    const client: Client = { ws, sid, previewMetadata: false, sawFirstFrame: false };
    this.bySid.set(sid, client);
    this.all.add(client);
    ws.on('error', () => {});
    ws.on('close', () => {
      this.all.delete(client);
      if (this.bySid.get(sid) === client) this.bySid.delete(sid);
    });
    ws.on('message', (data, isBinary) => {
      if (client.sawFirstFrame) return;
      client.sawFirstFrame = true;
      if (isBinary) return;
      try {
        const msg = JSON.parse(data.toString()) as { type?: string; data?: Record<string, unknown> };
        if (msg?.type === 'feature_flags' && msg.data && typeof msg.data === 'object') {
          client.previewMetadata = msg.data.supports_preview_metadata === true;
          this.sendTo(client, 'feature_flags', this.hooks.serverFeatures());
        }
      } catch {
        /* the server ignores anything else */
      }
    });
    this.sendTo(client, 'status', { status: { exec_info: { queue_remaining: this.hooks.queueRemaining() } }, sid });
    const node = this.hooks.runningNodeFor(sid);
    if (node !== null) this.sendTo(client, 'executing', { node });
  }

  private sendTo(client: Client, type: string, data: unknown): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    client.ws.send(pyJson({ type, data }));
  }

  /** Send to that client only; nothing when sid is null/unknown (the message is lost). */
  send(sid: string | null, type: string, data: unknown): void {
    if (sid === null) return;
    const c = this.bySid.get(sid);
    if (c) this.sendTo(c, type, data);
  }

  broadcast(type: string, data: unknown): void {
    const text = pyJson({ type, data });
    for (const c of this.bySid.values()) if (c.ws.readyState === c.ws.OPEN) c.ws.send(text);
  }

  /** Send an already-encoded text frame to every socket (the oversized-message fault). */
  broadcastRaw(text: string): void {
    for (const c of this.all) if (c.ws.readyState === c.ws.OPEN) c.ws.send(text);
  }

  /** Client if set, else broadcast (progress, progress_state, execution_interrupted). */
  sendOrBroadcast(sid: string | null, type: string, data: unknown): void {
    if (sid === null) this.broadcast(type, data);
    else this.send(sid, type, data);
  }

  /** Sockets that would receive a preview for this prompt, split by frame type. */
  previewTargets(sid: string | null): { metadata: WebSocket[]; plain: WebSocket[] } {
    const targets = sid === null ? [...this.bySid.values()] : this.bySid.has(sid) ? [this.bySid.get(sid)!] : [];
    const metadata: WebSocket[] = [];
    const plain: WebSocket[] = [];
    for (const c of targets) {
      if (c.ws.readyState !== c.ws.OPEN) continue;
      (c.previewMetadata ? metadata : plain).push(c.ws);
    }
    return { metadata, plain };
  }

  /** Drop every socket without a close handshake (the client sees 1006). */
  terminateAll(): void {
    for (const c of this.all) c.ws.terminate();
    this.all.clear();
    this.bySid.clear();
  }

  close(): void {
    this.terminateAll();
    this.wss.close();
  }
}

/** Binary preview frames (protocol.py BinaryEventTypes), big-endian headers. */
export function previewFrame(jpeg: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(1, 0);
  head.writeUInt32BE(1, 4); // 1 = JPEG
  return Buffer.concat([head, jpeg]);
}

export function previewFrameWithMetadata(jpeg: Buffer, meta: Record<string, unknown>): Buffer {
  const json = Buffer.from(pyJson(meta), 'utf8');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(4, 0);
  head.writeUInt32BE(json.length, 4);
  return Buffer.concat([head, json, jpeg]);
}
