/**
 * One status line on stderr for the CLI: queue position, then a progress bar per step.
 * Redraws in place on a terminal; prints only state changes when stderr is a file or pipe.
 */
import type { JobEvent } from '../jobs/types.ts';

export function progressBar(value: number, max: number, width = 24): string {
  const ratio = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  const full = Math.round(ratio * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

export function describeEvent(e: JobEvent): string | undefined {
  switch (e.type) {
    case 'queued':
      return e.position > 0
        ? `queued: position ${e.position}, about ${Math.max(1, Math.round(e.etaMs / 1000))} s`
        : 'queued: next up';
    case 'uploading':
      return 'uploading the image to the host';
    case 'submitted':
      return `submitted to ${e.host}${e.simulated ? ' (simulated)' : ''}`;
    case 'waiting':
      return `waiting: ${e.reason}`;
    case 'running': {
      const run = e.runs > 1 ? ` run ${e.run}/${e.runs}` : '';
      return `running${run} ${progressBar(e.step, e.maxSteps)} step ${e.step}/${e.maxSteps}`;
    }
    case 'done':
      return 'done';
    case 'failed':
      return `failed: ${e.reason}`;
    case 'cancelled':
      return 'cancelled';
  }
}

/**
 * Status on stderr. On a terminal one line is redrawn in place for every event. When stderr is a file
 * or a pipe (CI logs, `2> log.txt`) it prints each state change, and running progress only when a
 * sampler pass starts, crosses another quarter of its steps, or finishes: a few lines per pass, not
 * one per step.
 */
export class ProgressLine {
  private last = '';
  /** The sampler pass being reported: run, node's step count; a new pass restarts the quarters. */
  private pass = '';
  private quarter = -1;
  private step = -1;

  constructor(private readonly stream: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): unknown } = process.stderr) {}

  update(e: JobEvent): void {
    const text = describeEvent(e);
    if (!text || text === this.last) return;
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text}`);
      if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') this.stream.write('\n');
    } else if (this.worthALine(e)) {
      this.stream.write(`${text}\n`);
    }
    this.last = text;
  }

  private worthALine(e: JobEvent): boolean {
    if (e.type !== 'running') {
      this.pass = e.type;
      this.step = -1;
      return true;
    }
    const pass = `${e.run}/${e.runs}:${e.maxSteps}`;
    const quarter = e.maxSteps > 0 ? Math.floor((Math.min(e.step, e.maxSteps) * 4) / e.maxSteps) : 0;
    // Same step count but the steps went back: a second pass (hires) or the next node.
    const newPass = pass !== this.pass || e.step < this.step;
    this.step = e.step;
    if (newPass) {
      this.pass = pass;
      this.quarter = quarter;
      return true;
    }
    if (quarter > this.quarter) {
      this.quarter = quarter;
      return true;
    }
    return false;
  }
}
