/**
 * `easel doctor [--host URL ...]`: checks a ComfyUI host before Easel is pointed at it. For each host:
 * reachability and auth (refused, timeout, 401, 403 each get their own verdict), the ComfyUI version
 * from /system_stats, every preset against the host's /object_info (what to install, which presets it
 * disables), the WebSocket, and one tiny job with its timing. Exit 0 when everything passes, 1 when
 * anything fails. Uses the same ComfyClient, presets and validation as `easel start`.
 */
import sharp from 'sharp';
import { ComfyClient } from '../comfy/client.ts';
import { HostUnavailableError } from '../comfy/errors.ts';
import { statsSaySimulated } from '../comfy/host-pool.ts';
import type { NodeCatalogue } from '../comfy/node-catalogue.ts';
import type { HostConfig, SystemStats } from '../comfy/types.ts';
import { planJob } from '../commands/plan.ts';
import type { Preset } from '../commands/preset.ts';
import { loadPresets } from '../commands/preset-loader.ts';
import { sampleJob } from '../commands/preset-validation.ts';
import { CommandRegistry } from '../commands/registry.ts';
import { MIN_SIDE } from '../commands/sizing.ts';
import { flag, type ParsedArgs } from './args.ts';
import { cliConfig } from './cli-config.ts';
import { describeInstall, formatProblem, presetReport } from './doctor-presets.ts';
import { UsageError } from './usage-error.ts';

export interface DoctorOutput {
  write(text: string): void;
}

type Mark = 'ok' | 'warn' | 'FAIL' | 'skip';

class Report {
  failures = 0;
  warnings = 0;
  constructor(private readonly out: DoctorOutput) {}
  line(mark: Mark, text: string): void {
    if (mark === 'FAIL') this.failures++;
    if (mark === 'warn') this.warnings++;
    this.out.write(`  [${mark}]${' '.repeat(5 - mark.length)}${text}\n`);
  }
  note(text: string): void {
    this.out.write(`         ${text}\n`);
  }
}

const ms = (n: number) => (n < 0 ? '0 ms' : n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`);
const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

function authSource(host: HostConfig): string {
  switch (host.auth?.kind) {
    case 'bearer':
      return 'a bearer token';
    case 'basic':
      return `basic auth as ${host.auth.username}`;
    case 'header':
      return `the header ${host.auth.name}`;
    default:
      return 'no credentials';
  }
}

const AUTH_HINT = 'set COMFYUI_TOKEN (bearer), COMFYUI_USER + COMFYUI_PASSWORD (basic) or COMFYUI_AUTH_HEADER ("Name: value"), or auth in the config file';

/** The verdict for a host that did not answer GET /system_stats. */
function unreachableVerdict(report: Report, host: HostConfig, err: unknown): void {
  const text = err instanceof Error ? err.message : String(err);
  const reason = text.replace(/^ComfyUI host \S+ is unavailable: /, '');
  if (/HTTP 401/.test(text)) {
    report.line('FAIL', `auth: the host asks for credentials and refused ${authSource(host)} (HTTP 401)`);
    report.note(host.auth ? 'check the value of the credentials for this host' : AUTH_HINT);
  } else if (/HTTP 403/.test(text)) {
    report.line('FAIL', `auth: access refused (HTTP 403) with ${authSource(host)}`);
    report.note('the proxy knows the credentials but does not let them in; check its access rules');
  } else if (/HTTP 407/.test(text)) {
    report.line('FAIL', 'auth: a proxy between here and the host asks for credentials (HTTP 407)');
  } else if (/connection refused/.test(text)) {
    report.line('FAIL', `reachable: connection refused at ${host.url}`);
    report.note('is ComfyUI running, listening on that address (python main.py --listen 0.0.0.0 --port 8188), and the port right?');
  } else if (/no answer within|could not connect in time|no answer in time/.test(text)) {
    report.line('FAIL', `reachable: timeout: ${reason}`);
    report.note('the host (or a firewall) takes the connection but does not answer; is it busy loading, or the URL another service?');
  } else if (/not found/.test(text)) {
    report.line('FAIL', `reachable: ${reason}`);
  } else {
    report.line('FAIL', `reachable: ${reason}`);
  }
}

function versionLine(stats: SystemStats): string {
  const parts = [`ComfyUI ${stats.comfyuiVersion || '(version not reported)'}`];
  if (stats.pytorchVersion) parts.push(`PyTorch ${stats.pytorchVersion}`);
  for (const d of stats.devices) parts.push(`${d.name}${d.vramTotal ? ` (${gib(d.vramTotal)} VRAM, ${gib(d.vramFree)} free)` : ''}`);
  return parts.join(' · ');
}

/** The smallest usable one-image preset (fewest nodes), for the test job. */
function smallestPreset(presets: readonly Preset[], usable: string[]): Preset | undefined {
  return presets
    .filter((p) => usable.includes(p.name) && p.images.length === 1)
    .sort((a, b) => Object.keys(a.workflow).length - Object.keys(b.workflow).length)[0];
}

async function testJob(report: Report, client: ComfyClient, registry: CommandRegistry, preset: Preset, catalogue: NodeCatalogue): Promise<void> {
  // The preset's defaults at the smallest size and fewest steps it allows, one image.
  const raw: Record<string, unknown> = { seed: 1 };
  const options = registry.optionsOf(preset);
  const has = (name: string) => options.find((o) => o.name === name);
  if (has('steps')) raw.steps = has('steps')!.min ?? 1;
  if (has('count')) raw.count = 1;
  if (has('width')) raw.width = MIN_SIDE;
  if (has('height')) raw.height = MIN_SIDE;
  if (has('scale')) raw.scale = has('scale')!.min ?? 1;
  if (registry.presetsFor(preset.command).length > 1) raw.preset = preset.name;
  const { params } = registry.resolve(preset.command, raw);
  const input = await sharp({ create: { width: MIN_SIDE, height: MIN_SIDE, channels: 3, background: { r: 90, g: 140, b: 200 } } }).png().toBuffer();

  const t0 = performance.now();
  const name = await client.uploadImage(input, { prefix: 'easel-doctor' });
  const uploaded = performance.now();
  const plan = planJob(sampleJob(preset, params, { width: MIN_SIDE, height: MIN_SIDE }), preset, [name], catalogue);
  const run = await client.submit(plan.runs[0].workflow);
  const submitted = performance.now();
  let started: number | undefined;
  const off = run.on((e) => {
    if (e.type === 'started' && started === undefined) started = performance.now();
  });
  try {
    const result = await run.done;
    const finished = performance.now();
    const first = Object.values(result.outputs).flat()[0];
    if (!first) throw new Error('the prompt finished without an output image');
    const bytes = await client.view(first);
    const meta = await sharp(bytes).metadata();
    const done = performance.now();
    const steps = params.steps !== undefined ? `, ${params.steps} step${params.steps === 1 ? '' : 's'}` : '';
    report.line('ok', `test job: ${preset.name} at ${MIN_SIDE}×${MIN_SIDE}${steps} → ${meta.width}×${meta.height} ${meta.format} in ${ms(done - t0)}`);
    report.note(
      `upload ${ms(uploaded - t0)} · submit ${ms(submitted - uploaded)} · queue ${ms((started ?? submitted) - submitted)} · ` +
        `run ${ms(finished - (started ?? submitted))} · download ${ms(done - finished)}`,
    );
  } finally {
    off();
  }
}

async function checkHost(host: HostConfig, registry: CommandRegistry, out: DoctorOutput, withJob: boolean): Promise<Report> {
  const report = new Report(out);
  out.write(`\n${host.url}\n`);
  // No reconnect storm for a one-shot check: one try, then the verdict.
  const client = new ComfyClient(host, { backoff: { initialMs: 200, maxMs: 1_000 }, giveUpMs: 60_000 });
  try {
    let stats: SystemStats;
    const t0 = performance.now();
    try {
      stats = await client.systemStats();
    } catch (err) {
      unreachableVerdict(report, host, err);
      report.line('skip', 'version, presets and test job (the host did not answer)');
      return report;
    }
    report.line('ok', `reachable: GET /system_stats answered in ${ms(performance.now() - t0)}`);
    report.line('ok', host.auth ? `auth: accepted (${authSource(host)})` : 'auth: none configured, and the host asked for none');
    report.line('ok', versionLine(stats));
    if (statsSaySimulated(stats)) report.line('warn', "this is Easel's built-in simulator, not a GPU: its images are simulated");

    let catalogue: NodeCatalogue;
    try {
      catalogue = await client.objectInfo();
    } catch (err) {
      report.line('FAIL', `GET /object_info: ${err instanceof Error ? err.message : String(err)}`);
      return report;
    }
    const presets = registry.presets;
    const pr = presetReport(presets, catalogue);
    const nodes = catalogue.classTypes.length;
    report.line(
      pr.disabled.length === 0 ? 'ok' : 'FAIL',
      `presets: ${pr.usable.length} of ${presets.length} can run${nodes ? ` (the host lists ${nodes} node classes)` : ''}` +
        (pr.usable.length ? `: ${pr.usable.join(', ')}` : ''),
    );
    for (const d of pr.disabled) report.note(`${d.preset}: disabled`);
    for (const it of pr.install) {
      const needed = it.disables.length > 0;
      report.line(needed ? 'FAIL' : 'warn', `install ${describeInstall(it.missing)}`);
      if (it.disables.length) report.note(`without it these presets are switched off: ${it.disables.join(', ')}`);
      if (it.degrades.length) report.note(`without it ${it.degrades.join(', ')} use${it.degrades.length === 1 ? 's' : ''} a plain resize instead of the model`);
    }
    for (const p of pr.other) report.line('FAIL', formatProblem(p));

    try {
      await client.connect();
      report.line('ok', 'WebSocket /ws: connected (progress and results arrive over it)');
    } catch (err) {
      report.line('FAIL', `WebSocket /ws: ${err instanceof HostUnavailableError ? err.message.replace(/^ComfyUI host \S+ is unavailable: /, '') : String(err)}`);
      report.note('a reverse proxy must pass WebSocket upgrades (and the same auth) on /ws');
      return report;
    }

    if (!withJob) {
      report.line('skip', 'test job (--no-job)');
      return report;
    }
    const smallest = smallestPreset(presets, pr.usable);
    if (!smallest) {
      report.line('FAIL', 'test job: no preset can run on this host, so none was tried');
      return report;
    }
    try {
      await testJob(report, client, registry, smallest, catalogue);
    } catch (err) {
      report.line('FAIL', `test job (${smallest.name}): ${err instanceof Error ? err.message : String(err)}`);
    }
    return report;
  } finally {
    await client.close();
  }
}

export async function doctor(args: ParsedArgs, out: DoctorOutput = process.stdout): Promise<number> {
  if (args.positionals.length > 0) throw new UsageError(`easel doctor takes no arguments (got "${args.positionals[0]}"); give the host with --host URL`);
  const timeoutText = flag(args, 'timeout');
  const timeoutS = timeoutText === undefined ? 10 : Number(timeoutText);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0 || timeoutS > 600) throw new UsageError(`--timeout must be a number of seconds from 0.1 to 600, got "${timeoutText}"`);
  const config = cliConfig(args, { timeoutMs: Math.max(100, Math.round(timeoutS * 1000)) });
  if (config.hosts.length === 0) {
    throw new UsageError('which host? give --host URL (e.g. easel doctor --host http://gpu-box:8188) or set COMFYUI_URL');
  }
  const hosts = flag(args, 'host') === undefined ? config.hosts.map((h) => ({ ...h, timeoutMs: Math.max(100, Math.round(timeoutS * 1000)) })) : config.hosts;
  const registry = new CommandRegistry(await loadPresets(config.presetsDir), config);
  out.write(`Easel doctor: ${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${registry.presets.length} presets (family ${config.family})\n`);
  let failures = 0;
  let warnings = 0;
  for (const host of hosts) {
    const r = await checkHost(host, registry, out, flag(args, 'no-job') !== 'true');
    failures += r.failures;
    warnings += r.warnings;
  }
  out.write(
    failures === 0
      ? `\nAll checks passed${warnings ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}: Easel can use ${hosts.length === 1 ? 'this host' : 'these hosts'}.\n`
      : `\n${failures} check${failures === 1 ? '' : 's'} failed: see [FAIL] above for what to fix.\n`,
  );
  return failures === 0 ? 0 : 1;
}
