/**
 * Words for people: a job's parameters as summary lines, the buttons a result carries, and /easel help.
 */
import type { JobRecord } from '../jobs/types.ts';
import type { CommandSpec, JobAction } from './types.ts';

const fmt = (v: unknown): string => (typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : String(v));

function seconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

/** Summary lines: prompt, style, denoise, seed, steps, cfg, sampler, model, time (only those that apply). */
export function describeJob(job: JobRecord, opts: { host?: string; simulated?: boolean } = {}): string[] {
  const p = job.params;
  const lines: string[] = [];
  const text = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  lines.push(`Command: /${job.command}${job.preset && job.preset !== job.command ? ` (preset ${job.preset})` : ''}`);
  if (text(p.prompt)) lines.push(`Prompt: ${text(p.prompt)}`);
  if (text(p.style) && p.style !== 'none') lines.push(`Style: ${p.style}`);
  if (text(p.negative)) lines.push(`Negative: ${text(p.negative)}`);
  if (job.ladder?.length) lines.push(`Denoise: ${job.ladder.map(fmt).join(' / ')} (ladder, same seed)`);
  else if (p.denoise !== undefined) lines.push(`Denoise: ${fmt(p.denoise)}`);
  if (p.hires_denoise !== undefined) lines.push(`Second pass denoise: ${fmt(p.hires_denoise)}`);
  if (p.scale !== undefined) lines.push(`Scale: ${fmt(p.scale)}x`);
  if (p.blend !== undefined) lines.push(`Blend: ${fmt(p.blend)}`);
  if (p.count !== undefined && Number(p.count) > 1) lines.push(`Images: ${p.count}`);
  if (p.seed !== undefined) lines.push(`Seed: ${p.seed}`);
  const sampling: string[] = [];
  if (p.steps !== undefined) sampling.push(`Steps: ${p.steps}`);
  if (p.cfg !== undefined) sampling.push(`CFG: ${fmt(p.cfg)}`);
  if (p.sampler !== undefined) sampling.push(`Sampler: ${p.sampler}${p.scheduler ? ` (${p.scheduler})` : ''}`);
  if (sampling.length) lines.push(sampling.join(' · '));
  if ((typeof p.width === 'number' && p.width > 0) || (typeof p.height === 'number' && p.height > 0))
    lines.push(`Size: ${p.width || 'auto'} x ${p.height || 'auto'}`);
  if (text(p.model)) lines.push(`Model: ${p.model}`);
  if (job.sourceIndex !== undefined && job.parentId) lines.push(`From: image ${job.sourceIndex} of job ${job.parentId}`);
  if (opts.host || job.host) lines.push(`Host: ${opts.host ?? job.host}${opts.simulated ? ' (simulated)' : ''}`);
  else if (opts.simulated) lines.push('Host: simulated');
  if (job.startedAt !== undefined && job.finishedAt !== undefined && job.finishedAt >= job.startedAt)
    lines.push(`Time: ${seconds(job.finishedAt - job.startedAt)}`);
  return lines;
}

/** The buttons of a job, in display order. V/U buttons only for gallery results, one per image. */
export function resultActions(job: JobRecord): Array<{ action: JobAction; index?: number; label: string }> {
  if (job.state === 'queued' || job.state === 'uploading' || job.state === 'submitted' || job.state === 'running')
    return [{ action: 'cancel', label: 'Cancel' }];
  const actions: Array<{ action: JobAction; index?: number; label: string }> = [];
  const hasDenoise = job.params.denoise !== undefined;
  if (job.state !== 'done') {
    actions.push({ action: 'reroll', label: 'Retry' }, { action: 'edit', label: 'Edit' }, { action: 'delete', label: 'Delete' });
    return actions;
  }
  const ladder = job.layout === 'strip' || !!job.ladder?.length;
  actions.push({ action: 'reroll', label: 'Reroll' });
  if (hasDenoise && !ladder) actions.push({ action: 'subtle', label: 'Subtle' }, { action: 'strong', label: 'Strong' });
  if (hasDenoise && !ladder) actions.push({ action: 'ladder', label: 'Ladder' });
  const n = job.outputs?.length ?? 0;
  // A ladder's results are images like any other: each can be varied or upscaled.
  if (n > 0) {
    for (let i = 1; i <= n; i++) actions.push({ action: 'vary', index: i, label: `V${i}` });
    for (let i = 1; i <= n; i++) actions.push({ action: 'upscale', index: i, label: `U${i}` });
  }
  actions.push({ action: 'edit', label: 'Edit' }, { action: 'delete', label: 'Delete' });
  return actions;
}

/** /easel help: every command with its description, images, options and help. */
export function helpText(specs: CommandSpec[]): string {
  const out: string[] = ['Easel turns your picture into something new. Attach an image and use one of these commands:', ''];
  for (const spec of specs) {
    const images = spec.images.length > 1 ? ` (${spec.images.length} images)` : '';
    out.push(`/${spec.name}${images} — ${spec.description}`);
    for (const line of spec.help.split('\n')) if (line.trim()) out.push(`    ${line.trim()}`);
    const opts = spec.options.map((o) => {
      const range = o.min !== undefined && o.max !== undefined ? ` ${o.min}-${o.max}` : '';
      const def = o.default !== undefined && o.default !== '' ? `, default ${o.default}` : '';
      return `${o.name}${range}${def}`;
    });
    out.push(`    Options: ${opts.join('; ')}`);
    out.push('');
  }
  out.push('Options can be typed after the command: `/restyle watercolor denoise 0.6 seed 42`, `steps=30`, `--cfg 9`, "quoted prompts".');
  out.push('On a result: Reroll (new seed), Subtle/Strong (denoise -/+ 0.15), Ladder (same seed at 0.3/0.45/0.6/0.75),');
  out.push('V1.. (variations of one image), U1.. (upscale one image), Edit (change prompt, denoise, seed or style).');
  return out.join('\n');
}
