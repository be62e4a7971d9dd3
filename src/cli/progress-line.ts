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

export class ProgressLine {
  private last = '';
  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  update(e: JobEvent): void {
    const text = describeEvent(e);
    if (!text || text === this.last) return;
    if (this.stream.isTTY) {
      this.stream.write(`\r\x1b[2K${text}`);
      if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') this.stream.write('\n');
    } else if (e.type !== 'running' || this.last.split(' step')[0] !== text.split(' step')[0] || e.step === e.maxSteps) {
      this.stream.write(`${text}\n`);
    }
    this.last = text;
  }
}
