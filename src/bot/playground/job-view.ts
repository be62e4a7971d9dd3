/**
 * What the playground page is told about a job: a JSON-safe snapshot (no Buffers), the plain-words
 * status lines every front end uses, and the progress numbers for the bar. Results are rendered by
 * easel.render() and served as files by URL.
 */
import { inputMatchedSize } from '../../app/render-result.ts';
import type { RenderedResult } from '../../app/types.ts';
import type { JobEvent, JobRecord } from '../../jobs/types.ts';
import { describeProgress, jobTitle } from '../shared/job-text.ts';

export interface JobView {
  id: string;
  command: string;
  title: string;
  state: JobRecord['state'];
  params: JobRecord['params'];
  author: { userId: string; displayName?: string };
  parentId?: string;
  action?: string;
  createdAt: number;
  finishedAt?: number;
  host?: string;
  inputs: Array<{ url: string; width: number; height: number }>;
  error?: { code: string; message: string };
  spoiler?: boolean;
}

export interface ProgressView {
  type: JobEvent['type'];
  lines: string[];
  position?: number;
  etaMs?: number;
  step?: number;
  maxSteps?: number;
  run?: number;
  runs?: number;
  simulated?: boolean;
  /** data: URL of the latest preview frame. */
  preview?: string;
}

export interface ResultView {
  summary: string[];
  actions: RenderedResult['actions'];
  files: Array<{ url: string; name: string; mime: string; description: string }>;
  /** Full-size outputs (PNG with parameters), for download. */
  outputs: Array<{ url: string; label: string; width: number; height: number }>;
  /** The outputs at the input's size and aspect ("match input size"), when that differs from the model's size. */
  matched?: { width: number; height: number; urls: string[] };
}

export function jobView(job: JobRecord): JobView {
  return {
    id: job.id,
    command: job.command,
    title: jobTitle(job),
    state: job.state,
    params: job.params,
    author: { userId: job.actor.userId, displayName: job.actor.displayName },
    parentId: job.parentId,
    action: job.action,
    createdAt: job.createdAt,
    finishedAt: job.finishedAt,
    host: job.host,
    inputs: job.inputs.map((img, i) => ({ url: `/api/jobs/${encodeURIComponent(job.id)}/inputs/${i}`, width: img.width, height: img.height })),
    error: job.error,
    spoiler: job.spoiler,
  };
}

export function progressView(e: Exclude<JobEvent, { type: 'done' }>): ProgressView {
  const view: ProgressView = { type: e.type, lines: describeProgress(e) };
  if (e.type === 'queued') Object.assign(view, { position: e.position, etaMs: e.etaMs });
  if (e.type === 'submitted') view.simulated = e.simulated;
  if (e.type === 'running') {
    Object.assign(view, { step: e.step, maxSteps: e.maxSteps, run: e.run, runs: e.runs });
    if (e.preview) view.preview = `data:${e.preview.mime};base64,${e.preview.image.toString('base64')}`;
  }
  return view;
}

export function resultView(job: JobRecord, rendered: RenderedResult): ResultView {
  const id = encodeURIComponent(job.id);
  return {
    summary: rendered.summary,
    actions: rendered.actions,
    files: rendered.files.map((f, i) => ({ url: `/api/jobs/${id}/files/${i}`, name: f.name, mime: f.mime, description: f.description })),
    outputs: (job.outputs ?? []).map((o, i) => ({ url: `/api/jobs/${id}/outputs/${i}`, label: o.label ?? String(i + 1), width: o.width, height: o.height })),
    ...matchedView(job),
  };
}

function matchedView(job: JobRecord): Pick<ResultView, 'matched'> {
  const size = inputMatchedSize(job);
  const outputs = job.outputs ?? [];
  if (!size || outputs.length === 0 || outputs.every((o) => o.width === size.width && o.height === size.height)) return {};
  const id = encodeURIComponent(job.id);
  return { matched: { ...size, urls: outputs.map((_, i) => `/api/jobs/${id}/outputs/${i}?size=input`) } };
}
