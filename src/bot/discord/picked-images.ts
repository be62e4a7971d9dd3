/**
 * Images picked through a message context menu, downloaded while the user fills in the modal
 * (Discord's CDN links expire). A cache bounded in BYTES, not entries: a download starts only when
 * its declared size (or the largest allowed size, when Discord did not say) fits in the budget, and
 * each user has at most one picked image. When it does not fit nothing is fetched now; the modal
 * handler downloads the image after admission instead.
 */

interface Entry {
  key: string;
  at: number;
  /** Bytes counted against the budget: the declared size until the download ends, then its real size. */
  bytes: number;
  data: Promise<Buffer>;
}

export interface PickedImagesOptions {
  /** Total bytes held (and being downloaded) at once. Default 64 MiB. */
  maxBytes?: number;
  /** How long a picked image waits for its modal. Default 15 minutes (the modal's own life). */
  ttlMs?: number;
  now?: () => number;
}

export class PickedImages {
  /** One entry per user (a new pick replaces the old). */
  private readonly byUser = new Map<string, Entry>();
  private held = 0;
  private readonly maxBytes: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: PickedImagesOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.ttlMs = opts.ttlMs ?? 15 * 60 * 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Bytes held or reserved for downloads in flight. */
  get bytes(): number {
    return this.held;
  }

  /**
   * Start `download` for this user's pick when `size` bytes fit; returns whether it started.
   * The user's earlier pick, if any, is dropped first.
   */
  put(userId: string, messageId: string, size: number, download: () => Promise<Buffer>): boolean {
    this.prune();
    this.drop(userId);
    if (size <= 0 || this.held + size > this.maxBytes) return false;
    const entry: Entry = { key: messageId, at: this.now(), bytes: size, data: Promise.resolve(Buffer.alloc(0)) };
    this.held += size;
    entry.data = download().then(
      (buf) => {
        this.resize(userId, entry, buf.length);
        return buf;
      },
      (err: unknown) => {
        this.resize(userId, entry, 0);
        throw err;
      },
    );
    entry.data.catch(() => undefined); // awaited later; never an unhandled rejection
    this.byUser.set(userId, entry);
    return true;
  }

  /** This user's picked image of that message (removed from the cache), or undefined. */
  take(userId: string, messageId: string): Promise<Buffer> | undefined {
    this.prune();
    const e = this.byUser.get(userId);
    if (!e || e.key !== messageId) return undefined;
    this.drop(userId);
    return e.data;
  }

  private resize(userId: string, entry: Entry, bytes: number): void {
    if (this.byUser.get(userId) !== entry) return; // already dropped: its bytes were given back then
    this.held += bytes - entry.bytes;
    entry.bytes = bytes;
  }

  private drop(userId: string): void {
    const e = this.byUser.get(userId);
    if (!e) return;
    this.byUser.delete(userId);
    this.held -= e.bytes;
  }

  private prune(): void {
    const t = this.now();
    for (const [user, e] of this.byUser) if (t - e.at > this.ttlMs) this.drop(user);
  }
}
