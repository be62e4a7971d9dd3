/**
 * One structured log line per job state change (not per progress step), each from a child logger
 * carrying the job id, command and platform: the audit trail of what ran where and how it ended.
 * Prompts are not logged (they are users' words); parameters that matter for debugging are.
 */
import type { Logger } from 'pino';
import type { Easel } from '../app/types.ts';
import type { JobEvent } from '../jobs/types.ts';
import { jobLogger } from './logger.ts';

export function logJobEvents(easel: Pick<Easel, 'onEvent'>, logger: Logger): () => void {
  const last = new Map<string, string>();
  return easel.onEvent((e: JobEvent) => {
    const { job } = e;
    if (last.get(job.id) === e.type) return;
    last.set(job.id, e.type);
    const log = jobLogger(logger, job);
    switch (e.type) {
      case 'queued':
        log.info({ state: e.type, position: e.position, etaMs: e.etaMs, parentId: job.parentId, action: job.action, preset: job.preset }, 'job queued');
        break;
      case 'uploading':
        log.debug({ state: e.type, inputs: job.inputs.length }, 'job uploading inputs');
        break;
      case 'submitted':
        log.info({ state: e.type, host: e.host, simulated: e.simulated, promptIds: job.promptIds }, 'job submitted to host');
        break;
      case 'running':
        log.debug({ state: e.type, host: job.host, maxSteps: e.maxSteps, runs: e.runs }, 'job running');
        break;
      case 'waiting':
        log.warn({ state: e.type, reason: e.reason }, 'job waiting for a host');
        break;
      case 'done':
        last.delete(job.id);
        log.info({ state: e.type, host: job.host, outputs: job.outputs?.length ?? 0, ms: (job.finishedAt ?? Date.now()) - job.createdAt }, 'job done');
        break;
      case 'failed':
        last.delete(job.id);
        log.warn({ state: e.type, host: job.host, code: e.code, reason: e.reason }, 'job failed');
        break;
      case 'cancelled':
        last.delete(job.id);
        log.info({ state: e.type, host: job.host }, 'job cancelled');
        break;
    }
  });
}
