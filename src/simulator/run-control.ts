/**
 * Interrupt / kill / stall signalling for the single worker. Sleeps wake early when something happens,
 * so an interrupt lands within a step and kill() stops a run at once.
 */
export class KilledError extends Error {
  constructor() {
    super('simulator killed');
  }
}
export class InterruptedError extends Error {
  constructor() {
    super('Processing interrupted');
  }
}

export class RunControl {
  interrupted = false;
  killed = false;
  private released = false;
  private readonly wakers = new Set<() => void>();

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  interrupt(): void {
    this.interrupted = true;
    this.wake();
  }

  kill(): void {
    this.killed = true;
    this.wake();
  }

  release(): void {
    this.released = true;
    this.wake();
  }

  clearInterrupt(): void {
    this.interrupted = false;
  }

  check(): void {
    if (this.killed) throw new KilledError();
    if (this.interrupted) throw new InterruptedError();
  }

  /** Wait ms (or until woken), then check flags. */
  async sleep(ms: number): Promise<void> {
    this.check();
    if (ms > 0) {
      await new Promise<void>((resolve) => {
        const w = () => {
          clearTimeout(t);
          this.wakers.delete(w);
          resolve();
        };
        const t = setTimeout(w, ms);
        this.wakers.add(w);
      });
    }
    this.check();
  }

  /** Hang until release(), an interrupt or kill(). */
  async stall(): Promise<void> {
    this.released = false;
    while (!this.released) {
      this.check();
      await new Promise<void>((resolve) => {
        const w = () => {
          this.wakers.delete(w);
          resolve();
        };
        this.wakers.add(w);
      });
    }
    this.check();
  }

  /** Pending release() calls from before a stall began should not skip it. */
  resetRelease(): void {
    this.released = false;
  }
}
