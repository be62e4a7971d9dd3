/**
 * How long a job takes on a host, learned from recent runs: an exponential moving average per
 * (preset, host), falling back to the preset on any host, then to every preset on that host,
 * then to a default (before any data).
 *
 * It also learns each host's speed in units of work (see job-deadline.ts: steps × batch + tiles), per
 * preset and per host, which sets how long a prompt may run there before it is called stuck.
 */

export interface EtaOptions {
  /** Weight of the newest sample (0..1], default 0.3 (about the last 5-6 runs matter). */
  alpha?: number;
  /** Guess per run before anything was measured, ms (default 20 000: SD1.5/SDXL img2img on a mid GPU). */
  defaultRunMs?: number;
}

export class EtaEstimator {
  private readonly byPresetHost = new Map<string, number>();
  private readonly byPreset = new Map<string, number>();
  private readonly byHost = new Map<string, number>();
  private readonly speedByPresetHost = new Map<string, number>();
  private readonly speedByHost = new Map<string, number>();
  private readonly alpha: number;
  readonly defaultRunMs: number;

  constructor(opts: EtaOptions = {}) {
    this.alpha = Math.min(1, Math.max(0.01, opts.alpha ?? 0.3));
    this.defaultRunMs = opts.defaultRunMs ?? 20_000;
  }

  /** One finished job: how long its runs took on the host, and how many runs it had. */
  record(preset: string, host: string, ms: number, runs = 1): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) return;
    const perRun = ms / Math.max(1, runs);
    this.mix(this.byPresetHost, `${preset}\u0000${host}`, perRun);
    this.mix(this.byPreset, preset, perRun);
    this.mix(this.byHost, host, perRun);
  }

  /** One prompt finished on a host: `units` of work took `ms` there. */
  recordWork(preset: string, host: string, ms: number, units: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms) || !(units > 0)) return;
    this.mix(this.speedByPresetHost, `${preset}\u0000${host}`, ms / units);
    this.mix(this.speedByHost, host, ms / units);
  }

  /**
   * Learned ms per unit of work of this preset on this host, else of anything on this host;
   * undefined while the host has finished nothing (another host's speed says nothing about it).
   */
  msPerUnit(preset: string, host: string): number | undefined {
    return this.speedByPresetHost.get(`${preset}\u0000${host}`) ?? this.speedByHost.get(host);
  }

  /** Expected duration of a job of `runs` runs of this preset, on this host if known. */
  estimate(preset: string, host?: string, runs = 1): number {
    const perRun =
      (host !== undefined ? this.byPresetHost.get(`${preset}\u0000${host}`) : undefined) ??
      this.byPreset.get(preset) ??
      (host !== undefined ? this.byHost.get(host) : undefined) ??
      this.mean(this.byHost) ??
      this.defaultRunMs;
    return Math.round(perRun * Math.max(1, runs));
  }

  /** Has anything been measured for this preset yet? */
  knows(preset: string): boolean {
    return this.byPreset.has(preset);
  }

  private mix(map: Map<string, number>, key: string, value: number): void {
    const old = map.get(key);
    map.set(key, old === undefined ? value : old + this.alpha * (value - old));
  }

  private mean(map: Map<string, number>): number | undefined {
    if (map.size === 0) return undefined;
    let sum = 0;
    for (const v of map.values()) sum += v;
    return sum / map.size;
  }
}
