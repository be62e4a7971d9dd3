/**
 * A full run of `easel start` as a user runs it (a child process, its real stdout and stderr) with
 * every kind of secret configured: Discord and Slack connected (to the local fakes, which check the
 * tokens), a ComfyUI host behind a proxy that demands the bearer token, jobs in a Redis that
 * demands a password (as in docker-compose.yml), the playground opened alongside. A job is run and one fails, /healthz and /metrics are read, then Ctrl+C (SIGINT).
 * Nothing the process wrote may contain a secret; the run must stop cleanly with exit code 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../src/config/load-config.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';
import { FakeDiscord } from '../../fakes/discord/fake-discord.ts';
import { FakeSlack } from '../../fakes/slack/fake-slack.ts';

const SECRETS = {
  DISCORD_TOKEN: 'MTAxNzQ1OTk.fake-discord-token.Gx9Qw2zz',
  SLACK_BOT_TOKEN: 'xoxb-1111-2222-fakeslackbottoken',
  SLACK_SIGNING_SECRET: 'f4k3s1gn1ngs3cr3t0000aaaa',
  SLACK_APP_TOKEN: 'xapp-1-A000-fakeapptoken77',
  COMFYUI_TOKEN: 'comfy-bearer-fake-7d1c9e55',
  REDIS_PASSWORD: 'redis-pw-fake-0c0c5e',
};

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** A private redis-server that requires a password (Debian: apt-get install redis-server). */
async function startRedis(password: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password], { stdio: 'ignore' });
  const failed = new Promise<never>((_, reject) =>
    proc.once('error', () => reject(new Error('this test needs redis-server (Debian: apt-get install -y redis-server)'))),
  );
  const until = Date.now() + 10_000;
  for (;;) {
    const up = await Promise.race([
      failed,
      new Promise<boolean>((resolve) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false))),
    ]);
    if (up) break;
    if (Date.now() > until) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    async stop() {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    },
  };
}

/** A reverse proxy in front of the simulator that, like a real one, refuses requests without the token. */
async function startAuthProxy(target: string, token: string) {
  const t = new URL(target);
  const counts = { allowed: 0, refused: 0 };
  const sockets = new Set<net.Socket>();
  const authorised = (req: http.IncomingMessage) => req.headers.authorization === `Bearer ${token}`;
  const server = http.createServer((req, res) => {
    if (!authorised(req)) {
      counts.refused++;
      res.writeHead(401, { 'content-type': 'text/plain' }).end('unauthorized');
      return;
    }
    counts.allowed++;
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    sockets.add(socket);
    if (!authorised(req)) {
      counts.refused++;
      socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    counts.allowed++;
    const up = net.connect(Number(t.port), t.hostname, () => {
      let headText = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) headText += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(`${headText}\r\n`);
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    sockets.add(up);
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    counts,
    async close() {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const tmp = mkdtempSync(path.join(tmpdir(), 'easel-full-run-'));
let sim: Simulator;
let proxy: Awaited<ReturnType<typeof startAuthProxy>>;
let discord: FakeDiscord;
let slack: FakeSlack;
let redis: Awaited<ReturnType<typeof startRedis>>;
let child: ChildProcess | undefined;
let stdout = '';
let stderr = '';
let exit: Promise<number | null>;

/** Wait until the child has written a JSON log line with this message; return it. */
async function logLine(msg: string | RegExp, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (typeof entry.msg === 'string' && (typeof msg === 'string' ? entry.msg === msg : msg.test(entry.msg))) return entry;
    }
    if (Date.now() > until) throw new Error(`no log line "${msg}" in ${timeoutMs} ms.\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  redis = await startRedis(SECRETS.REDIS_PASSWORD);
  sim = await startSimulator({ stepMs: 5, previews: true });
  proxy = await startAuthProxy(sim.url, SECRETS.COMFYUI_TOKEN);
  discord = await FakeDiscord.start({ token: SECRETS.DISCORD_TOKEN });
  slack = await FakeSlack.start({ botToken: SECRETS.SLACK_BOT_TOKEN, appToken: SECRETS.SLACK_APP_TOKEN, signingSecret: SECRETS.SLACK_SIGNING_SECRET });
  const configFile = path.join(tmp, 'easel.yaml');
  writeFileSync(configFile, `discord:\n  apiBase: ${discord.apiBase}\nslack:\n  apiUrl: ${slack.apiUrl}\n`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    DISCORD_TOKEN: SECRETS.DISCORD_TOKEN,
    SLACK_BOT_TOKEN: SECRETS.SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET: SECRETS.SLACK_SIGNING_SECRET,
    SLACK_APP_TOKEN: SECRETS.SLACK_APP_TOKEN,
    COMFYUI_TOKEN: SECRETS.COMFYUI_TOKEN,
    REDIS_URL: redis.url,
    DISCORD_APPLICATION_ID: discord.applicationId,
    SLACK_MODE: 'socket',
    COMFYUI_URL: proxy.url,
    EASEL_CONFIG: configFile,
    EASEL_DATA_DIR: path.join(tmp, 'data'),
    EASEL_PLAYGROUND: '1',
    EASEL_PLAYGROUND_PORT: '0',
    EASEL_OPS_PORT: '0',
    LOG_LEVEL: 'trace',
    LOG_FORMAT: 'json',
  };
  child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/easel.mjs'), 'start'], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  exit = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
}, 30_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGKILL');
    await exit;
  }
  await proxy?.close();
  await sim?.close();
  await discord?.close();
  await slack?.close();
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

describe('a full run of easel start', () => {
  it('connects everything, runs jobs, stops on Ctrl+C, and never writes a secret', async () => {
    await logLine('Discord bot connected', 30_000);
    await logLine('Slack app started');
    const playgroundUrl = String((await logLine(/^playground listening/)).url);
    const opsUrl = String((await logLine(/^health and metrics on/)).url);

    const user = { 'x-easel-user': 'full-run-1', 'x-easel-name': 'Tess' };
    const image = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#3a7' } }).png().toBuffer();
    const submit = async (prompt: string) => {
      const form = new FormData();
      form.set('command', 'restyle');
      form.set('text', prompt);
      form.set('image', new Blob([new Uint8Array(image)], { type: 'image/png' }), 'photo.png');
      const res = await fetch(new URL('/api/jobs', playgroundUrl), { method: 'POST', headers: user, body: form });
      expect(res.status).toBe(202);
      return ((await res.json()) as { job: { id: string } }).job.id;
    };
    const finished = async (id: string) => {
      const until = Date.now() + 20_000;
      while (Date.now() < until) {
        const m = (await (await fetch(new URL(`/api/jobs/${id}`, playgroundUrl), { headers: user })).json()) as { job: { state: string }; result?: unknown };
        if (m.result || m.job.state === 'failed' || m.job.state === 'cancelled') return m;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`job ${id} did not finish.\nstdout:\n${stdout}`);
    };

    const good = await submit('a quiet lake');
    expect((await finished(good)).result).toBeDefined();
    sim.failNext({ message: 'CUDA out of memory' });
    const bad = await submit('a stormy sea');
    expect((await finished(bad)).job.state).toBe('failed');

    const health = await fetch(`${opsUrl.replace('0.0.0.0', '127.0.0.1')}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, simulated: true, store: { ok: true, kind: 'redis' }, hosts: [{ name: 'comfyui', up: true }] });
    const metrics = await (await fetch(`${opsUrl}/metrics`)).text();
    expect(metrics).toContain('easel_jobs_total{state="done",command="restyle"} 1');
    expect(metrics).toContain('easel_jobs_total{state="failed",command="restyle"} 1');
    expect(metrics).toContain('easel_host_up{host="comfyui",simulated="true"} 1');
    // The token really went with every request to the host, WebSocket included.
    expect(proxy.counts.refused).toBe(0);
    expect(proxy.counts.allowed).toBeGreaterThan(5);

    child!.kill('SIGINT');
    const code = await Promise.race([exit, new Promise((r) => setTimeout(() => r('still running 10 s after SIGINT'), 10_000))]);
    expect(code, `stderr:\n${stderr}`).toBe(0);

    // Job lines carry the job id and command; the failure is there, with its reason.
    const entries = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.filter((e) => e.jobId === good).map((e) => e.msg)).toEqual(expect.arrayContaining(['job queued', 'job submitted to host', 'job done']));
    expect(entries.filter((e) => e.jobId === bad && e.msg === 'job failed')).toContainEqual(
      expect.objectContaining({ command: 'restyle', platform: 'playground', reason: expect.stringMatching(/out of memory/) }),
    );
    expect(entries.map((e) => e.msg)).toContain('shutting down');
    expect(entries.filter((e) => e.level === 'error' || e.level === 'fatal')).toEqual([]);
    expect(stdout).toContain('Easel playground: http://127.0.0.1:');

    const all = `${stdout}\n${stderr}`;
    for (const [name, value] of Object.entries(SECRETS)) {
      expect(all.includes(value), `${name} appears in the output`).toBe(false);
      expect(all.includes(encodeURIComponent(value)), `${name} (URL-encoded) appears in the output`).toBe(false);
      expect(all.includes(Buffer.from(value).toString('base64')), `${name} (base64) appears in the output`).toBe(false);
    }
  }, 60_000);
});
