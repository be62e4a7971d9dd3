/**
 * The image a message context menu picked, exactly as Discord resolved it in the interaction (signed
 * CDN link, name, size, type), kept until the user submits the menu's form. The form can outlive the
 * bot process: after a restart the image is downloaded from this record, never by reading the message
 * again, which a bot without the privileged MESSAGE_CONTENT intent cannot do (Discord returns other
 * people's messages without attachments). With a file the records survive restarts; entries expire
 * after `ttlMs` and at most `max` are kept.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AttachmentInfo } from './attachment-download.ts';

interface Entry {
  at: number;
  image: AttachmentInfo;
}

export interface PickedAttachmentsOptions {
  /** JSON file the records are kept in; without one they live in memory only. */
  file?: string;
  ttlMs?: number;
  max?: number;
  now?: () => number;
}

export class PickedAttachments {
  private entries: Map<string, Entry> | undefined;
  private loading: Promise<Map<string, Entry>> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly ttlMs: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(private readonly opts: PickedAttachmentsOptions = {}) {
    // Longer than a CDN link lives (about a day), so an expired link is reported as such.
    this.ttlMs = opts.ttlMs ?? 7 * 24 * 60 * 60 * 1000;
    this.max = opts.max ?? 500;
    this.now = opts.now ?? Date.now;
  }

  async put(targetMessageId: string, image: AttachmentInfo): Promise<void> {
    const entries = await this.load();
    entries.delete(targetMessageId);
    entries.set(targetMessageId, { at: this.now(), image: { name: image.name, url: image.url, size: image.size, contentType: image.contentType ?? null } });
    this.prune(entries);
    await this.save(entries);
  }

  async get(targetMessageId: string): Promise<AttachmentInfo | undefined> {
    const entries = await this.load();
    this.prune(entries);
    return entries.get(targetMessageId)?.image;
  }

  private prune(entries: Map<string, Entry>): void {
    const t = this.now();
    for (const [k, v] of entries) if (t - v.at > this.ttlMs) entries.delete(k);
    while (entries.size > this.max) entries.delete(entries.keys().next().value as string);
  }

  private load(): Promise<Map<string, Entry>> {
    if (this.entries) return Promise.resolve(this.entries);
    this.loading ??= (async () => {
      const entries = new Map<string, Entry>();
      if (this.opts.file) {
        try {
          const raw = JSON.parse(await readFile(this.opts.file, 'utf8')) as Record<string, Entry>;
          for (const [k, v] of Object.entries(raw)) {
            if (v && typeof v.at === 'number' && v.image && typeof v.image.url === 'string') entries.set(k, v);
          }
        } catch {
          // No file yet, or an unreadable one: start empty (a user at worst picks the image again).
        }
      }
      this.entries = entries;
      return entries;
    })();
    return this.loading;
  }

  /** Writes are serialised; each replaces the file atomically (write, then rename). */
  private save(entries: Map<string, Entry>): Promise<void> {
    const file = this.opts.file;
    if (!file) return Promise.resolve();
    const body = JSON.stringify(Object.fromEntries(entries));
    this.writing = this.writing
      .catch(() => undefined)
      .then(async () => {
        await mkdir(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, body, { mode: 0o600 });
        await rename(tmp, file);
      });
    return this.writing;
  }
}
