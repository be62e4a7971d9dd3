/**
 * Prometheus metrics for Easel, fed only by the Easel interface: job events (easel.onEvent) and
 * easel.status() read at scrape time. One Registry per instance, so tests can run several.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Easel } from '../app/types.ts';
import type { JobEvent } from '../jobs/types.ts';

export interface EaselMetrics {
  readonly registry: Registry;
  /** Stop listening to job events. */
  close(): void;
}

const TERMINAL = new Set(['done', 'failed', 'cancelled']);
const BUSY_WINDOW_MS = 60_000;

export interface MetricsOptions {
  /** Include Node.js process metrics (default true). */
  processMetrics?: boolean;
  now?: () => number;
}

export function createMetrics(easel: Easel, opts: MetricsOptions = {}): EaselMetrics {
  const now = opts.now ?? Date.now;
  const registry = new Registry();
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry });

  const jobsTotal = new Counter({
    name: 'easel_jobs_total',
    help: 'Jobs reaching each state, by command.',
    labelNames: ['state', 'command'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'easel_job_duration_seconds',
    help: 'Time from queued to finished, by command and outcome.',
    labelNames: ['command', 'outcome'] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [registry],
  });

  // Per host: finished busy intervals and the start of the one in progress (by job id).
  const busy = new Map<string, Array<[number, number]>>();
  const runningSince = new Map<string, { host: string; since: number }>();
  const lastState = new Map<string, string>();
  const startedAt = now();

  const trimBusy = (t: number) => {
    for (const list of busy.values()) {
      while (list.length && list[0][1] < t - BUSY_WINDOW_MS) list.shift();
    }
  };

  const onEvent = (e: JobEvent) => {
    const { job } = e;
    // Count each state once per job ("running" arrives every step).
    if (lastState.get(job.id) !== e.type) {
      lastState.set(job.id, e.type);
      jobsTotal.inc({ state: e.type, command: job.command });
    }
    // Busy from submission to the host (Easel hands a host one prompt at a time) until the end;
    // some workflows (a model upscale) never report sampler steps, so "running" may not come.
    const host = e.type === 'submitted' ? e.host : job.host;
    if ((e.type === 'submitted' || e.type === 'running') && !runningSince.has(job.id) && host) {
      runningSince.set(job.id, { host, since: now() });
    }
    if (TERMINAL.has(e.type)) {
      lastState.delete(job.id);
      const end = job.finishedAt ?? now();
      duration.observe({ command: job.command, outcome: e.type }, Math.max(0, (end - job.createdAt) / 1000));
      const run = runningSince.get(job.id);
      if (run) {
        runningSince.delete(job.id);
        const list = busy.get(run.host) ?? [];
        list.push([run.since, now()]);
        busy.set(run.host, list);
        trimBusy(now());
      }
    }
  };
  const unsubscribe = easel.onEvent(onEvent);

  new Gauge({
    name: 'easel_queue_depth',
    help: 'Jobs waiting and running now.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const s = await easel.status();
      this.set({ state: 'waiting' }, s.waiting);
      this.set({ state: 'running' }, s.running);
    },
  });
  new Gauge({
    name: 'easel_host_up',
    help: '1 when the ComfyUI host (or the simulator) is reachable, else 0.',
    labelNames: ['host', 'simulated'] as const,
    registers: [registry],
    async collect() {
      const s = await easel.status();
      this.reset();
      for (const h of s.hosts) this.set({ host: h.name, simulated: String(h.simulated) }, h.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'easel_gpu_busy_ratio',
    help: 'Share of the last minute (or of uptime, if shorter) each host spent running Easel jobs.',
    labelNames: ['host'] as const,
    registers: [registry],
    async collect() {
      const t = now();
      const windowStart = Math.max(t - BUSY_WINDOW_MS, startedAt);
      const span = Math.max(1, t - windowStart);
      trimBusy(t);
      const hosts = new Set<string>([...(await easel.status()).hosts.map((h) => h.name), ...busy.keys()]);
      this.reset();
      for (const host of hosts) {
        const intervals: Array<[number, number]> = [...(busy.get(host) ?? [])];
        for (const r of runningSince.values()) if (r.host === host) intervals.push([r.since, t]);
        this.set({ host }, busyTime(intervals, windowStart, t) / span);
      }
    },
  });

  return {
    registry,
    close() {
      unsubscribe();
    },
  };
}

/** Total time covered by the union of intervals, clipped to [from, to]. */
export function busyTime(intervals: Array<[number, number]>, from: number, to: number): number {
  const clipped = intervals
    .map(([a, b]) => [Math.max(a, from), Math.min(b, to)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [a, b] of clipped) {
    if (a > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else {
      curEnd = Math.max(curEnd, b);
    }
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}
