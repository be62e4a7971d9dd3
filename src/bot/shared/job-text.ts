/**
 * Platform-neutral words for a job's life: queue position and ETA, progress, failure, cancellation,
 * host status and help. Plain text with no platform markup (each front end adds its own bold/mentions).
 */
import type { AppStatus, HostStatus } from '../../app/types.ts';
import type { CommandSpec } from '../../commands/types.ts';
import type { JobEvent, JobRecord } from '../../jobs/types.ts';
import { progressBar } from './progress-bar.ts';
import { simulatedNote } from '../../app/simulated-note.ts';

/** "4 s", "2 min 5 s", "1 h 3 min". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/** Cut text to `max` characters, ending with an ellipsis when cut. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024 / 1024).toFixed(1)} GiB`;
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} B`;
}

/** "restyle" or "restyle (reroll of 01J…)". */
export function jobTitle(job: JobRecord): string {
  if (!job.action || !job.parentId) return job.command;
  const what = job.action === 'vary' || job.action === 'upscale' ? `${job.action} #${job.sourceIndex ?? 1}` : job.action;
  return `${job.command} · ${what}`;
}

/** Lines describing the current state of a running job (everything but done). */
export function describeProgress(e: Exclude<JobEvent, { type: 'done' }>): string[] {
  switch (e.type) {
    case 'queued':
      return e.position <= 1
        ? [`Queued: next in line${e.etaMs > 0 ? `, starting in about ${formatDuration(e.etaMs)}` : ''}.`]
        : [`Queued: position ${e.position}${e.etaMs > 0 ? `, starting in about ${formatDuration(e.etaMs)}` : ''}.`];
    case 'uploading':
      return ['Sending your image to the GPU host…'];
    case 'submitted':
      return [`Starting on ${e.host}${e.simulated ? ' (simulated)' : ''}…`];
    case 'waiting':
      return [`Waiting: ${e.reason}`, 'Your job is safe in the queue and will start when a host is free.'];
    case 'running': {
      const lines = [`${progressBar(e.step, e.maxSteps)}  step ${e.step}/${e.maxSteps}`];
      if (e.runs > 1) lines.push(`run ${e.run} of ${e.runs}`);
      return lines;
    }
    case 'failed':
      return [formatFailure(e.code, e.reason)];
    case 'cancelled':
      return ['Cancelled.'];
  }
}

export function formatFailure(code: string, reason: string): string {
  return reason ? `The job failed: ${reason}` : `The job failed (${code}).`;
}

export function describeHost(h: HostStatus): string {
  const parts = [`${h.name}${h.simulated ? ' (simulated)' : ''}: ${h.up ? 'up' : 'down'}`];
  if (h.version) parts.push(`ComfyUI ${h.version}`);
  if (h.vramTotal !== undefined) {
    parts.push(
      h.vramFree !== undefined
        ? `GPU memory ${formatBytes(h.vramFree)} free of ${formatBytes(h.vramTotal)}`
        : `GPU memory ${formatBytes(h.vramTotal)}`,
    );
  }
  if (h.queueRemaining !== undefined) parts.push(`host queue ${h.queueRemaining}`);
  if (h.running) parts.push(`running ${h.running}`);
  const lines = [parts.join(' · ')];
  for (const d of h.disabledPresets) lines.push(`  preset ${d.preset} disabled: ${d.reason}`);
  return lines.join('\n');
}

export function describeStatus(s: AppStatus): string[] {
  const lines = [
    simulatedNote(s) ?? 'Easel status',
    `Queue: ${s.waiting} waiting, ${s.running} running.`,
  ];
  if (s.hosts.length === 0) lines.push('No hosts configured.');
  for (const h of s.hosts) lines.push(describeHost(h));
  return lines;
}

export function describeQueue(jobs: JobRecord[], s: { waiting: number; running: number }): string[] {
  const lines = [`Queue: ${s.waiting} waiting, ${s.running} running.`];
  if (jobs.length === 0) lines.push('You have no jobs waiting or running.');
  for (const j of jobs) lines.push(`${j.id} · ${jobTitle(j)} · ${j.state}`);
  return lines;
}

export function helpLines(specs: CommandSpec[]): string[] {
  const lines: string[] = [];
  for (const s of specs) {
    lines.push(`/${s.name}: ${s.description}`);
    const options = s.options.map((o) => o.name);
    const images = s.images.length ? `${s.images.join(', ')} (image${s.images.length > 1 ? 's' : ''})` : '';
    lines.push(`  options: ${[images, ...options].filter(Boolean).join(', ')}`);
  }
  lines.push('/easel status: hosts, queue and GPU memory · /easel queue: your jobs · /easel cancel: stop a job');
  lines.push('Result buttons: reroll (new seed), subtle / strong (less / more change), ladder (one seed at several strengths), V1-V4 (vary one image), U1-U4 (upscale one image), edit, delete.');
  return lines;
}
