/**
 * `easel doctor` against the simulator as an operator would meet real hosts: a healthy one, one
 * missing a model, a dead one, one that takes the connection but never answers, and one behind an
 * auth proxy (without, with wrong and with right credentials). Verdicts, what to install, the test
 * job's timing and the exit code are what the operator reads.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../src/cli/args.ts';
import { doctor } from '../../../src/cli/doctor.ts';
import { presetReport } from '../../../src/cli/doctor-presets.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';
import { startAuthProxy, type AuthProxy } from '../../unit/comfy/auth-proxy.ts';
import { realCatalogue, shippedPresets } from '../../unit/commands/helpers.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/easel.mjs');
const HOST_VARS = /^(EASEL_|COMFYUI_|DISCORD_|SLACK_|REDIS_)/;

let sim: Simulator;
const saved = { ...process.env };

/** Runs doctor in this process with exactly these Easel/ComfyUI variables set. */
async function runDoctor(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; text: string }> {
  for (const k of Object.keys(process.env)) if (HOST_VARS.test(k)) delete process.env[k];
  Object.assign(process.env, env);
  let text = '';
  try {
    const code = await doctor(parseArgs(argv), { write: (t) => (text += t) });
    return { code, text };
  } finally {
    for (const k of Object.keys(process.env)) if (HOST_VARS.test(k)) delete process.env[k];
    for (const [k, v] of Object.entries(saved)) if (HOST_VARS.test(k)) process.env[k] = v;
  }
}

beforeAll(async () => {
  sim = await startSimulator({ stepMs: 2, previews: false });
});
afterAll(async () => {
  await sim?.close();
});

describe('easel doctor', { timeout: 60_000 }, () => {
  const closers: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
  });

  it('a healthy host: every check passes, the version is shown and a tiny job runs with its timing', async () => {
    const before = sim.submittedPromptIds().length;
    const { code, text } = await runDoctor(['--host', sim.url]);
    expect(code, text).toBe(0);
    expect(text).toMatch(/\[ok\] +reachable: GET \/system_stats answered in \d+ ms/);
    expect(text).toMatch(/\[ok\] +auth: none configured, and the host asked for none/);
    expect(text).toMatch(/\[ok\] +ComfyUI 0\.3\.64/);
    expect(text).toMatch(/\[ok\] +presets: 7 of 7 can run/);
    expect(text).toMatch(/\[ok\] +WebSocket \/ws: connected/);
    // The smallest preset, at the smallest size and one step.
    expect(text).toMatch(/\[ok\] +test job: \w+ at 64×64, 1 step → 64×64 png in [\d.]+ m?s/);
    expect(text).toMatch(/upload [\d.]+ m?s · submit [\d.]+ m?s · queue [\d.]+ m?s · run [\d.]+ m?s · download [\d.]+ m?s/);
    expect(text).toMatch(/All checks passed/);
    expect(text).not.toMatch(/\[FAIL\]/);
    expect(sim.submittedPromptIds().length).toBe(before + 1);
  });

  it('a host missing its models: names what to install and which presets each disables; exit 1', async () => {
    const bare = await startSimulator({ stepMs: 2, previews: false, models: { checkpoints: ['sdxl_base_1.0.safetensors'], upscale_models: [] } });
    closers.push(() => bare.close());
    const { code, text } = await runDoctor(['--host', bare.url]);
    expect(code, text).toBe(1);
    expect(text).toMatch(/\[FAIL\] +presets: 0 of 7 can run/);
    expect(text).toMatch(/\[FAIL\] +install a SD 1\.5 checkpoint in ComfyUI\/models\/checkpoints \(e\.g\. [^;]+; any sd15 checkpoint will do\)/);
    expect(text).toMatch(/switched off: blend, hires, restore, restyle, sketch, upscale, variations/);
    expect(text).toMatch(/\[FAIL\] +test job: no preset can run on this host/);
    expect(bare.submittedPromptIds()).toHaveLength(0);
  });

  it('a host without an upscale model: a warning that /upscale falls back to a plain resize; still exit 0', async () => {
    const noUpscaler = await startSimulator({ stepMs: 2, previews: false, models: { upscale_models: [] } });
    closers.push(() => noUpscaler.close());
    const { code, text } = await runDoctor(['--host', noUpscaler.url, '--no-job']);
    expect(code, text).toBe(0);
    expect(text).toMatch(/\[warn\] +install an upscale model in ComfyUI\/models\/upscale_models \(e\.g\. 4x-UltraSharp\.pth\)/);
    expect(text).toMatch(/without it upscale uses a plain resize/);
    expect(text).toMatch(/\[skip\] +test job \(--no-job\)/);
  });

  it('a dead host and one that never answers: each its own verdict, exit 1', async () => {
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => held.add(s)); // takes the connection, says nothing
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    closers.push(() => {
      for (const s of held) s.destroy();
      return new Promise((r) => silent.close(r));
    });
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const [dead, mute] = await Promise.all([runDoctor(['--host', 'http://127.0.0.1:1']), runDoctor(['--host', silentUrl, '--timeout', '0.5'])]);
    expect(dead.code).toBe(1);
    expect(dead.text).toMatch(/\[FAIL\] +reachable: connection refused at http:\/\/127\.0\.0\.1:1/);
    expect(dead.text).toMatch(/\[skip\] +version, presets and test job/);
    expect(mute.code).toBe(1);
    expect(mute.text).toMatch(/\[FAIL\] +reachable: timeout: GET \/system_stats: no answer within 0\.5 s/);
  });

  it('a host behind an auth proxy: 401 without or with wrong credentials, all checks pass with COMFYUI_TOKEN', async () => {
    const proxy: AuthProxy = await startAuthProxy(sim.url, (h) => h.authorization === 'Bearer s3cret-token');
    closers.push(() => proxy.close());
    const none = await runDoctor(['--host', proxy.url, '--no-job']);
    expect(none.code).toBe(1);
    expect(none.text).toMatch(/\[FAIL\] +auth: the host asks for credentials and refused no credentials \(HTTP 401\)/);
    expect(none.text).toMatch(/set COMFYUI_TOKEN/);

    const wrong = await runDoctor(['--host', proxy.url, '--no-job'], { COMFYUI_TOKEN: 'not-the-token' });
    expect(wrong.code).toBe(1);
    expect(wrong.text).toMatch(/\[FAIL\] +auth: the host asks for credentials and refused a bearer token \(HTTP 401\)/);
    expect(wrong.text).not.toContain('not-the-token');

    const right = await runDoctor(['--host', proxy.url], { COMFYUI_TOKEN: 's3cret-token' });
    expect(right.code, right.text).toBe(0);
    expect(right.text).toMatch(/\[ok\] +auth: accepted \(a bearer token\)/);
    expect(right.text).toMatch(/\[ok\] +test job: /);
    expect(right.text).not.toContain('s3cret-token');
    expect(proxy.seen.some((s) => s.kind === 'upgrade' && s.ok)).toBe(true); // the WebSocket went through the proxy too
  });

  it('a host answering 403: access refused, not "down"', async () => {
    const forbidding = http.createServer((_req, res) => res.writeHead(403).end('forbidden'));
    await new Promise<void>((r) => forbidding.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise((r) => forbidding.close(r)));
    const { code, text } = await runDoctor(['--host', `http://127.0.0.1:${(forbidding.address() as AddressInfo).port}`]);
    expect(code).toBe(1);
    expect(text).toMatch(/\[FAIL\] +auth: access refused \(HTTP 403\)/);
  });

  it('no host at all is a usage error', async () => {
    await expect(runDoctor([])).rejects.toThrow(/which host\? give --host URL/);
  });
});

describe('presetReport', () => {
  it('names a missing node class once, with every preset it disables', async () => {
    const presets = await shippedPresets();
    const report = presetReport(presets, realCatalogue((raw) => delete raw.ImageScale));
    const item = report.install.find((i) => i.missing.kind === 'node' && i.missing.name === 'ImageScale');
    expect(item, JSON.stringify(report.install)).toBeDefined();
    expect(item!.disables.length).toBeGreaterThan(1);
    expect(report.usable).not.toEqual(expect.arrayContaining(item!.disables));
    expect(report.install.filter((i) => i.missing.name === 'ImageScale')).toHaveLength(1);
  });
});

describe('the easel doctor command', { timeout: 60_000 }, () => {
  const spawnDoctor = (...args: string[]) =>
    new Promise<{ code: number | null; stdout: string }>((done) => {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(saved)) if (!HOST_VARS.test(k)) env[k] = v;
      const child = spawn(process.execPath, [BIN, 'doctor', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        done({ code, stdout });
      });
    });

  it('exits 0 on a healthy host and 1 on a dead one', async () => {
    const [ok, dead] = await Promise.all([spawnDoctor('--host', sim.url, '--no-job'), spawnDoctor('--host', 'http://127.0.0.1:1')]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/All checks passed/);
    expect(dead.code, dead.stdout).toBe(1);
    expect(dead.stdout).toMatch(/connection refused/);
  });
});
