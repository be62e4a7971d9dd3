/**
 * `easel run <command> <image> [image2] [--option value ...] [--host URL] [--out DIR] [--dry-run]`
 *
 * Runs one command through the same core the chat front ends use, against the configured ComfyUI
 * host(s), the --host given, or the built-in simulator; shows progress; writes the gallery and images.
 * --dry-run prints the final API-format workflow JSON and submits nothing.
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createApp, type EaselApp } from '../app/create-app.ts';
import { ComfyClient } from '../comfy/client.ts';
import type { NodeCatalogue } from '../comfy/node-catalogue.ts';
import { checkCommandAllowed } from '../commands/admission.ts';
import { UserError } from '../commands/errors.ts';
import { planJob } from '../commands/plan.ts';
import { loadPresets } from '../commands/preset-loader.ts';
import { CommandRegistry } from '../commands/registry.ts';
import { COMMAND_NAMES, type CommandName } from '../commands/types.ts';
import type { EaselConfig } from '../config/types.ts';
import { formatBytes } from '../images/human-units.ts';
import { intakeImage } from '../images/intake.ts';
import type { Actor, JobEvent, JobRecord, StoredImage } from '../jobs/types.ts';
import { flag, type ParsedArgs } from './args.ts';
import { commandHelp } from './command-help.ts';
import { prepareOutDir } from './out-dir.ts';
import { ProgressLine } from './progress-line.ts';
import { UsageError } from './usage-error.ts';

/** How long a host that refuses connections gets before `easel run` gives up with its reason. */
const FAIL_FAST_MS = 3000;

/** Flags that belong to `easel run` itself; every other --flag is a command option. */
const RUN_FLAGS = new Set(['host', 'out', 'dry-run', 'config', 'quiet', 'help', 'step-ms', 'wait', 'size']);


export function optionsFrom(args: ParsedArgs): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const [name, values] of args.flags) {
    if (RUN_FLAGS.has(name)) continue;
    options[name.replace(/-/g, '_')] = values[values.length - 1];
  }
  return options;
}

function fileProblem(file: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code;
  return new UsageError(code === 'ENOENT' ? `image file not found: ${file}` : `cannot read ${file}: ${code ?? err}`);
}

/** Cheap checks before anything runs: each file exists, is a file, and is not over the size limit. */
async function checkImageFiles(files: string[], maxBytes: number): Promise<void> {
  for (const file of files) {
    const s = await stat(file).catch((err: unknown) => {
      throw fileProblem(file, err);
    });
    if (!s.isFile()) throw new UsageError(`${file} is not a file`);
    if (s.size > maxBytes) throw new UserError('image_too_large', `${file} is ${formatBytes(s.size)}; the limit is ${formatBytes(maxBytes)}.`);
  }
}

async function readImages(files: string[]): Promise<Buffer[]> {
  return Promise.all(
    files.map(async (file) => {
      try {
        return await readFile(file);
      } catch (err) {
        throw fileProblem(file, err);
      }
    }),
  );
}

function parseCommand(name: string | undefined): CommandName {
  if (!name) throw new UsageError(`which command? one of: ${COMMAND_NAMES.join(', ')}`);
  const command = name.replace(/^\//, '') as CommandName;
  if (!COMMAND_NAMES.includes(command)) {
    throw new UsageError(`unknown command "${name}"; choose one of: ${COMMAND_NAMES.join(', ')}`);
  }
  return command;
}

const cliActor = (): Actor => ({ platform: 'cli', userId: os.userInfo().username, channelId: 'cli' });

/** Prints the workflow(s) Easel would submit, without contacting any host. */
async function dryRun(
  config: EaselConfig,
  registry: CommandRegistry,
  command: CommandName,
  images: Buffer[],
  options: Record<string, unknown>,
): Promise<void> {
  // With a host, plan against its node catalogue (checkpoint, upscale model), exactly as a real run would.
  let catalogue: NodeCatalogue | undefined;
  if (config.hosts.length > 0) {
    const client = new ComfyClient(config.hosts[0]);
    try {
      catalogue = await client.objectInfo();
    } catch (err) {
      throw new UserError('host_down', `cannot reach ComfyUI at ${config.hosts[0].url}: ${(err as Error).message}`);
    } finally {
      await client.close();
    }
  }
  const spec = registry.spec(command)!;
  if (images.length < spec.images.length) throw new UserError('bad_image', `${command} needs ${spec.images.length} image(s): ${spec.images.join(', ')}`);
  const { preset, params } = registry.resolve(command, options);
  // Described, not stored: a dry run writes nothing to the data folder.
  const inputs: StoredImage[] = [];
  for (const bytes of images.slice(0, spec.images.length)) {
    const taken = await intakeImage(
      bytes,
      { maxBytes: config.limits.maxInputBytes, maxPixels: config.limits.maxInputPixels },
      { keepAlpha: preset.keepAlpha },
    );
    const sha256 = createHash('sha256').update(taken.data).digest('hex');
    inputs.push({ sha256, path: `${sha256}.png`, width: taken.width, height: taken.height, mime: 'image/png', bytes: taken.data.length });
  }
  const job: JobRecord = {
    id: 'dry-run',
    command,
    preset: preset.name,
    params,
    inputs,
    actor: cliActor(),
    state: 'queued',
    createdAt: Date.now(),
  };
  const plan = planJob(job, preset, inputs.map((i) => `easel-${i.sha256}.png`), catalogue);
  const workflows = plan.runs.map((r) => r.workflow);
  process.stdout.write(`${JSON.stringify(workflows.length === 1 ? workflows[0] : workflows, null, 2)}\n`);
}

/** A configured host that never comes up fails the run with its reason instead of waiting forever. */
async function waitForHost(app: EaselApp, timeoutMs: number): Promise<void> {
  const started = Date.now();
  const urls = app.config.hosts.map((h) => h.url).join(', ') || 'the built-in simulator';
  for (;;) {
    const status = await app.status();
    if (status.hosts.some((h) => h.up)) return;
    const reasons = status.hosts.map((h) => h.lastError).filter((r): r is string => Boolean(r));
    const elapsed = Date.now() - started;
    // Every host has already said why it is down (e.g. connection refused): give a moment for a
    // retry, then report that reason rather than waiting out the whole timeout.
    if (reasons.length === status.hosts.length && elapsed >= Math.min(FAIL_FAST_MS, timeoutMs)) {
      throw new UserError('host_down', `cannot reach ComfyUI at ${urls}: ${reasons[0]}`);
    }
    if (elapsed >= timeoutMs) {
      throw new UserError('host_down', `cannot reach ComfyUI at ${urls} (no answer within ${Math.round(timeoutMs / 1000)} s)`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function waitForEnd(app: { subscribe(id: string, l: (e: JobEvent) => void): () => void }, jobId: string, progress?: ProgressLine) {
  return new Promise<JobEvent>((resolve) => {
    const off = app.subscribe(jobId, (e) => {
      progress?.update(e);
      if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') {
        queueMicrotask(() => off());
        resolve(e);
      }
    });
  });
}

export async function runCommand(args: ParsedArgs, config: EaselConfig): Promise<number> {
  const [name, ...files] = args.positionals;
  const command = parseCommand(name);
  if (flag(args, 'help') === 'true') {
    process.stdout.write(`${await commandHelp(config, command)}\n`);
    return 0;
  }
  if (files.length === 0) throw new UsageError(`give the image file to ${command}: easel run ${command} photo.png`);
  const registry = new CommandRegistry(await loadPresets(config.presetsDir), config);
  const wanted = registry.spec(command)?.images.length ?? 1;
  if (files.length > wanted) {
    throw new UsageError(`${command} takes ${wanted} image${wanted === 1 ? '' : 's'}, but ${files.length} were given: ${files.join(', ')}`);
  }
  if (files.length < wanted) {
    const names = ['A.png', 'B.png', 'C.png'].slice(0, wanted).join(' ');
    throw new UsageError(`${command} needs ${wanted === 2 ? 'two' : wanted} images, but ${files.length} was given: easel run ${command} ${names}`);
  }
  const size = flag(args, 'size') ?? 'model';
  if (size !== 'model' && size !== 'input') throw new UsageError(`--size must be "model" or "input", got "${size}"`);
  // The command policy first: a command this configuration turns off reads no file at all.
  checkCommandAllowed(command, cliActor(), config.policy);
  await checkImageFiles(files, config.limits.maxInputBytes);
  const images = await readImages(files);
  const options = optionsFrom(args);
  const stepMs = flag(args, 'step-ms');
  if (stepMs !== undefined) config = { ...config, simulator: { ...config.simulator, stepMs: Number(stepMs) } };

  if (flag(args, 'dry-run') === 'true') {
    await dryRun(config, registry, command, images, options);
    return 0;
  }

  // A bad option or a file that is no image fails before anything is created on disk.
  const { preset } = registry.resolve(command, options);
  for (const bytes of images) {
    await intakeImage(bytes, { maxBytes: config.limits.maxInputBytes, maxPixels: config.limits.maxInputPixels }, { keepAlpha: preset.keepAlpha });
  }
  // Made ready before any GPU work: a run must not end with nowhere to put its results.
  const out = await prepareOutDir(flag(args, 'out') ?? 'easel-out');
  const outDir = out.path;
  let finished = false;
  const app = await createApp(config).catch(async (err: unknown) => {
    await out.discard();
    throw err;
  });
  try {
    await waitForHost(app, Number(flag(args, 'wait') ?? 30) * 1000);
    // Admission (policy, limits) before the images are stored; submit first: a refused image or
    // option is then the only line on stderr.
    const actor = cliActor();
    const ticket = await app.admit({ command, actor });
    let job;
    try {
      job = await app.submit({ command, options, images, actor, ticket });
    } finally {
      ticket.release(); // a no-op once submit has used it
    }
    const status = await app.status();
    const hostLine = status.hosts.map((h) => `${h.name}${h.simulated ? ' (simulated, no GPU)' : ''}`).join(', ');
    const quiet = flag(args, 'quiet') === 'true';
    if (!quiet) process.stderr.write(`easel: ${command} on ${hostLine}\n`);
    const progress = quiet ? undefined : new ProgressLine();
    const end = await waitForEnd(app, job.id, progress);
    if (end.type === 'failed') throw new UserError('job_failed', end.reason);
    if (end.type === 'cancelled') throw new UserError('job_failed', 'the job was cancelled');
    const done = (await app.getJob(job.id)) ?? end.job;
    const rendered = await app.render(done, { maxFileBytes: Number.MAX_SAFE_INTEGER, maxFiles: 1000, outputSize: size });
    const written: string[] = [];
    for (const file of rendered.files) {
      const target = path.join(outDir, file.name);
      await writeFile(target, file.data).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot write ${target}: ${err.code ?? err.message}`);
      });
      written.push(target);
    }
    finished = true;
    process.stdout.write(`${rendered.summary.join('\n')}\n`);
    process.stdout.write(`Wrote ${written.length} file(s) to ${outDir}:\n${written.map((w) => `  ${w}`).join('\n')}\n`);
    return 0;
  } finally {
    await app.close();
    if (!finished) await out.discard();
  }
}
