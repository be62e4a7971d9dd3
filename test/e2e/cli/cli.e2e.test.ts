/**
 * The `easel` command as a user runs it: `node bin/easel.mjs ...` in a folder of their own, with the
 * data folder in EASEL_DATA_DIR. Results land on disk and stdout says where; mistakes end with a
 * non-zero exit and one line on stderr; --host sends work to that host; --dry-run contacts nobody.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProgressLine } from '../../../src/cli/progress-line.ts';
import { loadPresets } from '../../../src/commands/preset-loader.ts';
import { CommandRegistry } from '../../../src/commands/registry.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import type { Workflow } from '../../../src/comfy/types.ts';
import type { JobEvent, JobRecord } from '../../../src/jobs/types.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/easel.mjs');

let work: string;
let sim: Simulator;

/** The caller's environment without any Easel/ComfyUI/chat settings, plus the test's data folder. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(EASEL_|COMFYUI_|DISCORD_|SLACK_|REDIS_|LOG_LEVEL)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, EASEL_DATA_DIR: join(work, 'data'), ...extra };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; killAfterMs?: number } = {}): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd ?? work, env: opts.env ?? cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs ?? 50_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

const easel = (...args: string[]) => run(process.execPath, [BIN, ...args]);

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/** The file paths a successful run lists under "Wrote N file(s) to DIR:". */
function writtenPaths(stdout: string): string[] {
  const at = stdout.indexOf('Wrote ');
  expect(at, stdout).toBeGreaterThanOrEqual(0);
  return lines(stdout.slice(at)).slice(1).map((l) => l.trim());
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'easel-cli-'));
  const picture = (w: number, h: number, hue: number) =>
    sharp({ create: { width: w, height: h, channels: 3, background: { r: 40 + hue, g: 120, b: 200 - hue } } })
      .composite([{ input: { create: { width: w >> 1, height: h >> 1, channels: 3, background: { r: 250, g: 250, b: 40 } } }, left: w >> 2, top: h >> 2 }])
      .png()
      .toBuffer();
  writeFileSync(join(work, 'img.png'), await picture(320, 240, 0));
  writeFileSync(join(work, 'notes.png'), '<!DOCTYPE html><html><body>not a picture</body></html>');
  sim = await startSimulator({ stepMs: 5, previews: false });
});

afterAll(async () => {
  await sim?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

// Each case spawns Node processes; on a loaded 2-core machine that can take a while.
describe('easel run', { timeout: 60_000 }, () => {
  it('restyle writes the result and prints where; stderr (not a TTY) shows states and a few progress lines', async () => {
    const r = await easel('run', 'restyle', 'img.png', '--out', 'results', '--step-ms', '5', '--steps', '20', '--style', 'watercolor');
    expect(r.code, r.stderr).toBe(0);
    const paths = writtenPaths(r.stdout);
    expect(paths).toHaveLength(1);
    expect(paths[0].startsWith(join(work, 'results'))).toBe(true);
    const png = readFileSync(paths[0]);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect((await sharp(png).metadata()).format).toBe('png');
    expect(r.stdout).toMatch(/Style: watercolor/);
    expect(r.stdout).toMatch(/simulated/);

    const err = lines(r.stderr);
    expect(err[0]).toMatch(/restyle on simulator \(simulated, no GPU\)/);
    expect(err).toContain('done');
    const running = err.filter((l) => l.startsWith('running'));
    // 20 steps: a line when sampling starts and one per quarter, not one per step.
    expect(running.length).toBeGreaterThanOrEqual(2);
    expect(running.length).toBeLessThanOrEqual(6);
    expect(running[running.length - 1]).toMatch(/step 20\/20/);
    expect(r.stderr).not.toMatch(/\r|\x1b\[/);
  });

  it('variations --count 3 writes the gallery and 3 images', async () => {
    const r = await easel('run', 'variations', 'img.png', '--count', '3', '--steps', '3', '--out', 'vars', '--step-ms', '5');
    expect(r.code, r.stderr).toBe(0);
    const paths = writtenPaths(r.stdout);
    expect(paths).toHaveLength(4);
    expect(paths[0]).toMatch(/gallery\.(png|webp|jpg)$/);
    for (const p of paths) expect(existsSync(p)).toBe(true);
    expect(readdirSync(join(work, 'vars')).sort()).toEqual(paths.map((p) => p.slice(p.lastIndexOf('/') + 1)).sort());
    const singles = await Promise.all(paths.slice(1).map((p) => sharp(readFileSync(p)).metadata()));
    for (const m of singles) expect(m.format).toBe('png');
    expect(new Set(paths.slice(1).map((p) => readFileSync(p).toString('base64'))).size).toBe(3);
  });

  it('--host URL sends the job to that host', async () => {
    const before = sim.submittedPromptIds().length;
    const r = await easel('run', 'upscale', 'img.png', '--host', sim.url, '--steps', '2', '--out', 'up');
    expect(r.code, r.stderr).toBe(0);
    expect(sim.submittedPromptIds().length).toBe(before + 1);
    const host = new URL(sim.url).host;
    // The host is Easel's simulator started on its own: it says so in /system_stats, and the CLI says so too.
    expect(lines(r.stderr)[0]).toBe(`easel: upscale on ${host} (simulated, no GPU)`);
    const [file] = writtenPaths(r.stdout);
    expect(await sharp(readFileSync(file)).metadata()).toMatchObject({ width: 640, height: 480 });
  });

  it('--dry-run prints the API workflow with the chosen denoise and contacts no host', async () => {
    const before = sim.submittedPromptIds().length;
    const uploads = () => (existsSync(join(sim.dataDir, 'input')) ? readdirSync(join(sim.dataDir, 'input')).sort() : []);
    const uploadsBefore = uploads();
    const dataDir = join(work, 'dry-data');
    const r = await run(process.execPath, [BIN, 'run', 'restyle', 'img.png', '--denoise', '0.45', '--seed', '42', '--dry-run', '--host', sim.url], {
      env: cleanEnv({ EASEL_DATA_DIR: dataDir }),
    });
    expect(r.code, r.stderr).toBe(0);
    const workflow = JSON.parse(r.stdout) as Workflow;
    const nodes = Object.values(workflow);
    for (const n of nodes) expect(typeof n.class_type).toBe('string');
    const classes = nodes.map((n) => n.class_type);
    expect(classes).toEqual(expect.arrayContaining(['CheckpointLoaderSimple', 'LoadImage', 'VAEEncode', 'KSampler', 'VAEDecode', 'SaveImage']));
    const sampler = nodes.find((n) => n.class_type === 'KSampler')!;
    expect(sampler.inputs).toMatchObject({ denoise: 0.45, seed: 42 });
    const load = nodes.find((n) => n.class_type === 'LoadImage')!;
    expect(load.inputs.image).toMatch(/^easel-[0-9a-f]{64}\.png$/);
    expect(sim.submittedPromptIds().length).toBe(before);
    expect(uploads()).toEqual(uploadsBefore);
    expect(existsSync(dataDir)).toBe(false); // nothing stored either
    expect(r.stderr).toBe('');
  });

  it('mistakes exit non-zero with one line on stderr naming the reason', async () => {
    const [missing, notImage, unknown, denoise, subcommand] = await Promise.all([
      easel('run', 'restyle', 'nowhere.png'),
      easel('run', 'restyle', 'notes.png', '--step-ms', '5'),
      easel('run', 'repaint', 'img.png'),
      easel('run', 'restyle', 'img.png', '--denoise', '1.5', '--step-ms', '5'),
      easel('paint'),
    ]);
    const expectOneLine = (r: Ran, pattern: RegExp) => {
      expect(r.code).not.toBe(0);
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    };
    expectOneLine(missing, /image file not found: nowhere\.png/);
    expectOneLine(notImage, /not an image.*HTML/i);
    expectOneLine(unknown, /unknown command "repaint"/);
    expectOneLine(denoise, /denoise must be between 0\.05 and 1(\.0)?; you gave "?1\.5"?/);
    expectOneLine(subcommand, /unknown subcommand "paint"; try: easel help/);
    expect(subcommand.code).toBe(2);
    expect(existsSync(join(work, 'easel-out'))).toBe(false);
  });

  it('an option without its value, an extra image, or a host that never answers: one line, no hang', async () => {
    const [noValue, extra, deadHost] = await Promise.all([
      easel('run', 'restyle', 'img.png', '--denoise'),
      easel('run', 'restyle', 'img.png', 'img.png'),
      // Port 1 on loopback refuses connections: the run gives up within seconds, saying so.
      easel('run', 'restyle', 'img.png', '--host', 'http://127.0.0.1:1', '--quiet'),
    ]);
    for (const [r, pattern] of [
      [noValue, /--denoise needs a value/],
      [extra, /restyle takes 1 image, but 2 were given/],
      [deadHost, /cannot reach ComfyUI at http:\/\/127\.0\.0\.1:1.*refused/],
    ] as const) {
      expect(r.code, r.stderr).not.toBe(0);
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });

  it('help of an unknown command, a bad simulator port, or --out naming a file: one line, exit 2', async () => {
    writeFileSync(join(work, 'not-a-folder'), 'x');
    const [help, port, out] = await Promise.all([
      easel('help', 'repaint'),
      easel('simulator', '--port', 'abc'),
      easel('run', 'restyle', 'img.png', '--out', 'not-a-folder', '--step-ms', '5'),
    ]);
    for (const [r, pattern] of [
      [help, /unknown command "repaint"/],
      [port, /--port must be a whole number from 0 to 65535, got "abc"/],
      [out, /--out .*not-a-folder is a file, not a folder/],
    ] as const) {
      expect(r.code, r.stderr).toBe(2);
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });

  it('run <command> --help prints that command\'s options instead of running it', async () => {
    const r = await easel('run', 'restyle', 'img.png', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--denoise \(0\.05\.\.1\) \[default 0\.6\]/);
    expect(existsSync(join(work, 'easel-out'))).toBe(false);
  });
});

/** `easel start` until its banner ends ("Ctrl+C to stop."), then Ctrl+C: what it printed, and its exit code. */
function startUntilBanner(env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'start'], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('Ctrl+C to stop.')) child.kill('SIGINT');
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe('easel start says where its images come from', { timeout: 60_000 }, () => {
  it('the built-in simulator when no host is configured; a configured host that is a simulator, named as such', async () => {
    const ports = { EASEL_PLAYGROUND_PORT: '0', EASEL_OPS_PORT: '0', LOG_LEVEL: 'silent' };
    const [builtIn, configured] = await Promise.all([
      startUntilBanner(cleanEnv({ ...ports, EASEL_SIMULATOR_STEP_MS: '5', EASEL_DATA_DIR: join(work, 'start-a') })),
      startUntilBanner(cleanEnv({ ...ports, COMFYUI_URL: sim.url, EASEL_DATA_DIR: join(work, 'start-b') })),
    ]);
    expect(builtIn.stdout).toContain('No ComfyUI host configured: Easel runs on the built-in simulator (simulated images, no GPU).');
    expect(configured.stdout).toContain('The configured ComfyUI host is a simulator (simulated images, no GPU).');
    expect(configured.stdout).not.toContain('No ComfyUI host configured');
    expect([builtIn.code, configured.code], `${builtIn.stderr}\n${configured.stderr}`).toEqual([0, 0]);
  });
});

describe('usage, --help and exit codes', { timeout: 60_000 }, () => {
  it('--help after any subcommand prints its usage and runs nothing', async () => {
    // Ports 0 everywhere: if a subcommand wrongly runs, it must not take a fixed port from anyone.
    const env = cleanEnv({ EASEL_PLAYGROUND_PORT: '0', EASEL_OPS_PORT: '0', EASEL_SIMULATOR_STEP_MS: '5' });
    const opts = { env, killAfterMs: 20_000 };
    const [start, simulator, runHelp, register, doctor, helpStart] = await Promise.all([
      run(process.execPath, [BIN, 'start', '--help'], opts),
      run(process.execPath, [BIN, 'simulator', '--port', '0', '--help'], opts),
      run(process.execPath, [BIN, 'run', '--help'], opts),
      run(process.execPath, [BIN, 'register', '--help'], opts),
      run(process.execPath, [BIN, 'doctor', '--help'], opts),
      run(process.execPath, [BIN, 'help', 'start'], opts),
    ]);
    for (const [r, sub] of [
      [start, 'start'],
      [simulator, 'simulator'],
      [runHelp, 'run'],
      [register, 'register'],
      [doctor, 'doctor'],
      [helpStart, 'start'],
    ] as const) {
      expect(r.code, `${sub}: ${r.stderr}`).toBe(0);
      expect(r.stdout, sub).toMatch(new RegExp(`^Usage: easel ${sub}`));
      expect(r.stderr, sub).toBe('');
    }
    expect(start.stdout).not.toMatch(/Easel playground: http/);
    expect(simulator.stdout).not.toMatch(/listening on/);
    expect(runHelp.stdout).toMatch(/--out DIR/);
    expect(runHelp.stdout).toMatch(/Exit codes: 0 success · 1 a runtime failure[\s\S]*2 a usage error/);
    expect(existsSync(join(work, 'easel-out'))).toBe(false);
  });

  it('usage errors exit 2, runtime failures exit 1; both documented in easel help', async () => {
    const [denoise, notImage, blendOne, unknownOption, deadHost, help] = await Promise.all([
      easel('run', 'restyle', 'img.png', '--denoise', '1.5', '--step-ms', '5'),
      easel('run', 'restyle', 'notes.png', '--step-ms', '5'),
      easel('run', 'blend', 'img.png', '--step-ms', '5'),
      easel('run', 'restyle', 'img.png', '--denoize', '0.5', '--step-ms', '5'),
      easel('run', 'restyle', 'img.png', '--host', 'http://127.0.0.1:1', '--quiet'),
      easel('help'),
    ]);
    for (const r of [denoise, notImage, blendOne, unknownOption]) {
      expect(r.code, r.stderr).toBe(2);
      expect(lines(r.stderr), r.stderr).toHaveLength(1);
    }
    expect(deadHost.code, deadHost.stderr).toBe(1);
    expect(help.stdout).toMatch(/Exit codes: 0 success · 1 a runtime failure.*\n.*2 a usage error/);
  });

  it('blend with one image speaks of CLI arguments, not chat attachments', async () => {
    const r = await easel('run', 'blend', 'img.png', '--step-ms', '5');
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/blend needs two images.*easel run blend A\.png B\.png/);
    expect(r.stderr).not.toMatch(/attach/i);
    expect(existsSync(join(work, 'easel-out'))).toBe(false);
  });

  it('a command the configuration turns off is refused before the image is even read', async () => {
    const conf = join(work, 'restyle-off.yaml');
    writeFileSync(conf, 'policy:\n  commands:\n    restyle:\n      enabled: false\n');
    writeFileSync(join(work, 'not-an-image.png'), 'this is text, not a PNG');
    const r = await easel('run', 'restyle', 'not-an-image.png', '--config', conf, '--step-ms', '5');
    expect(r.code, r.stderr).toBe(1);
    expect(lines(r.stderr), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/restyle is turned off/);
    expect(r.stderr).not.toMatch(/image/i);
    expect(existsSync(join(work, 'easel-out'))).toBe(false);
  });

  it('--out in a place no folder can be made fails at once, before the job, naming the reason', async () => {
    const before = sim.submittedPromptIds().length;
    const started = Date.now();
    const r = await run(process.execPath, [BIN, 'run', 'restyle', 'img.png', '--host', sim.url, '--steps', '2', '--out', '/proc/easel-x'], {
      killAfterMs: 25_000,
    });
    expect(r.code, r.stderr).toBe(2);
    expect(lines(r.stderr), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot create the output folder \/proc\/easel-x: /);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(sim.submittedPromptIds().length).toBe(before); // no GPU work was done
  });

  it('--out below a file names the file, not the folder asked for', async () => {
    writeFileSync(join(work, 'afile'), 'x');
    const before = sim.submittedPromptIds().length;
    const r = await easel('run', 'restyle', 'img.png', '--host', sim.url, '--steps', '2', '--out', 'afile/sub');
    expect(r.code, r.stderr).toBe(2);
    expect(lines(r.stderr), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain(`${join(work, 'afile')} is a file, not a folder`);
    expect(r.stderr).not.toContain(`${join(work, 'afile', 'sub')} is a file`);
    expect(sim.submittedPromptIds().length).toBe(before);
  });

  it('--out that does not exist yet is created, and removed again when the run fails', async () => {
    const r = await easel('run', 'restyle', 'img.png', '--host', 'http://127.0.0.1:1', '--quiet', '--out', 'made/for/nothing');
    expect(r.code, r.stderr).toBe(1);
    expect(existsSync(join(work, 'made'))).toBe(false);
  });
});

describe('easel start', { timeout: 60_000 }, () => {
  it('a port already in use stops everything and exits, naming the setting (no half-alive process)', async () => {
    const blocker: Server = createServer((_req, res) => res.end('taken'));
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const started = Date.now();
      // The ops port is free (0 = any); the playground's port is taken.
      const r = await run(process.execPath, [BIN, 'start'], {
        env: cleanEnv({ EASEL_PLAYGROUND_PORT: String(port), EASEL_OPS_PORT: '0', EASEL_SIMULATOR_STEP_MS: '5' }),
      });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(new RegExp(`playground cannot listen: port ${port} is already in use \\(set playground\\.port or EASEL_PLAYGROUND_PORT`));
      expect(Date.now() - started).toBeLessThan(45_000); // it exited by itself (run() kills only at 50 s)
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});

describe('a store that cannot be reached', { timeout: 60_000 }, () => {
  it('stops the run at once with the reason, leaving nothing running', async () => {
    const started = Date.now();
    // Port 1 refuses connections. Before the fix the simulator was already listening and kept the process alive.
    const r = await run(process.execPath, [BIN, 'run', 'restyle', 'img.png', '--quiet'], { env: cleanEnv({ REDIS_URL: 'redis://127.0.0.1:1' }) });
    expect(r.code, r.stderr).toBe(1);
    expect(lines(r.stderr), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot reach the Redis job store at redis:\/\/127\.0\.0\.1:1/);
    expect(Date.now() - started).toBeLessThan(45_000); // exited by itself (run() kills only at 50 s)
  });
});

describe('easel help', { timeout: 60_000 }, () => {
  it('help restyle lists its options', async () => {
    const r = await easel('help', 'restyle');
    expect(r.code).toBe(0);
    for (const option of ['--denoise', '--style', '--seed', '--steps', '--cfg', '--sampler', '--prompt']) expect(r.stdout).toContain(option);
    expect(r.stdout).toMatch(/--denoise \(0\.05\.\.1\) \[default 0\.6\]/);
    expect(r.stdout).toMatch(/watercolor/);
  });

  it('help restyle lists every style by name, quoted when it has spaces', async () => {
    const registry = new CommandRegistry(await loadPresets(join(ROOT, 'config/presets')), defaultConfig());
    const styles = registry.option('restyle', 'style')!.choices!.map((c) => c.value);
    expect(styles.length).toBeGreaterThan(12);
    const r = await easel('help', 'restyle');
    expect(r.code).toBe(0);
    const block = r.stdout.slice(r.stdout.indexOf('  --style'), r.stdout.indexOf('  --negative'));
    expect(block).toMatch(new RegExp(`one of \\(${styles.length}\\):`));
    for (const style of styles) expect(block, style).toContain(/\s/.test(style) ? `"${style}"` : style);
  });

  it('`npx easel help` works from the project root', async () => {
    const npx = join(process.execPath, '..', 'npx');
    const r = await run(existsSync(npx) ? npx : 'npx', ['--no-install', 'easel', 'help'], { cwd: ROOT, env: cleanEnv({ npm_config_update_notifier: 'false' }) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Easel: /);
    expect(r.stdout).toMatch(/easel run <command> <image>/);
  });
});

describe('ProgressLine on a pipe', () => {
  const job = { id: 'j' } as JobRecord;
  const running = (step: number, maxSteps: number, run = 1, runs = 1): JobEvent => ({ type: 'running', job, step, maxSteps, run, runs });

  function capture(isTTY: boolean) {
    const out: string[] = [];
    return { out, line: new ProgressLine({ isTTY, write: (s: string) => out.push(s) }) };
  }

  it('prints every state change, and a 100-step pass in five lines', () => {
    const { out, line } = capture(false);
    line.update({ type: 'queued', job, position: 2, etaMs: 3000 });
    line.update({ type: 'submitted', job, host: 'gpu', simulated: false });
    for (let s = 0; s <= 100; s++) line.update(running(s, 100));
    line.update({ type: 'done', job });
    expect(out.map((l) => l.replace(/\[[#-]+\] /, ''))).toEqual([
      'queued: position 2, about 3 s\n',
      'submitted to gpu\n',
      'running step 0/100\n',
      'running step 25/100\n',
      'running step 50/100\n',
      'running step 75/100\n',
      'running step 100/100\n',
      'done\n',
    ]);
  });

  it('a second pass (hires) or the next ladder run starts its own quarters', () => {
    const { out, line } = capture(false);
    for (let s = 1; s <= 8; s++) line.update(running(s, 8));
    for (let s = 1; s <= 8; s++) line.update(running(s, 8));
    for (let s = 1; s <= 8; s++) line.update(running(s, 8, 2, 2));
    const ends = out.filter((l) => l.includes('step 8/8'));
    expect(ends).toHaveLength(3);
    expect(out.length).toBeLessThanOrEqual(15);
    expect(out.filter((l) => l.includes('run 2/2')).length).toBeGreaterThan(0);
  });

  it('redraws one line in place on a terminal', () => {
    const { out, line } = capture(true);
    for (let s = 0; s <= 4; s++) line.update(running(s, 4));
    line.update({ type: 'done', job });
    expect(out.filter((l) => l.startsWith('\r\x1b[2K'))).toHaveLength(6);
    expect(out[out.length - 1]).toBe('\n');
  });
});
