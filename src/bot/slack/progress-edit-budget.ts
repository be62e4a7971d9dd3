/**
 * How many progress edits Easel may make. Slack allows chat.update about 50 times a minute per app
 * and workspace (Tier 3), for all running jobs together: one job edited every 1.5 s already uses 40.
 * So progress edits share one budget. In-between states may use only part of it (they are only a
 * view of the progress, and the next one replaces them anyway: without room they are skipped); the
 * rest is kept for the final state of each job (done, failed, cancelled), which waits for room. When Slack still answers 429, every
 * progress edit waits until the Retry-After has passed, since the limit is for the method as a whole.
 */

export interface ProgressEditBudgetOptions {
  /** Edits per minute to allow (default 45: Slack's Tier 3 allows chat.update 50 a minute; some room is left for other edits). */
  perMinute?: number;
  /** Of those, how many in-between states may take (default: half). */
  forProgress?: number;
  now?: () => number;
}

/** Thrown instead of making an edit the budget has no room for: try again in `waitMs`. */
export class EditBudgetExhausted extends Error {
  constructor(readonly waitMs: number) {
    super(`progress edit budget exhausted; next edit in ${waitMs} ms`);
  }
}

const WINDOW_MS = 60_000;

export class ProgressEditBudget {
  private readonly stamps: number[] = [];
  private notBefore = -Infinity;
  private readonly perMinute: number;
  private readonly forProgress: number;
  private readonly now: () => number;

  constructor(opts: ProgressEditBudgetOptions = {}) {
    this.perMinute = opts.perMinute ?? 45;
    this.forProgress = Math.min(this.perMinute, opts.forProgress ?? Math.floor(this.perMinute / 2));
    this.now = opts.now ?? Date.now;
  }

  /** Take room for one edit; 0 means go ahead (it is counted), otherwise the ms to wait first. */
  reserve(final: boolean): number {
    const now = this.now();
    if (now < this.notBefore) return Math.ceil(this.notBefore - now);
    while (this.stamps.length > 0 && this.stamps[0] <= now - WINDOW_MS) this.stamps.shift();
    const limit = final ? this.perMinute : this.forProgress;
    if (this.stamps.length < limit) {
      this.stamps.push(now);
      return 0;
    }
    // Room comes back when the edit that filled it leaves the one-minute window.
    return Math.max(1, Math.ceil(this.stamps[this.stamps.length - limit] + WINDOW_MS - now));
  }

  /** Slack rate-limited an edit and asked to wait `ms`: no progress edit until then. */
  backOff(ms: number): void {
    this.notBefore = Math.max(this.notBefore, this.now() + ms);
  }
}
