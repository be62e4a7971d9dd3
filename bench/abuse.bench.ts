/**
 * Abuse benchmark: can one user, or a hundred, take Easel down by flooding it with big uploads?
 *
 *   npm run bench:abuse
 *   options: --requests 500  --users 100  --side 1450 (a side-by-side noise PNG of about 6 MB)  --step-ms 20
 *
 * Easel (createApp on the built-in simulator, default limits) serves the playground's HTTP API in
 * this process; a second process plays the clients, so this process's memory is Easel's alone.
 * Every request is a real multipart upload of a ~6 MB PNG (a different picture each time) to
 * POST /api/jobs?command=restyle. Three phases, in one run:
 *   1. quiet: one legitimate user submits alone (the baseline for answer times);
 *   2. one user floods 500 requests at once while the legitimate user keeps submitting;
 *   3. 100 users flood 5 requests each (500 in all) while the legitimate user keeps submitting.
 * Printed: Easel's peak RSS per phase, the legitimate user's answer times (p50/p95, and the ratio to
 * the quiet baseline), how the flood was answered, and image files left on disk that no job uses.
 * Goals (printed, not asserted): peak RSS < 400 MB, legitimate p95 < 1 s, nothing orphaned.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { PNG_SIGNATURE, pngChunk } from '../src/images/png-chunk.ts';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp, type EaselApp } from '../src/app/create-app.ts';
import { startPlayground } from '../src/bot/playground/playground-server.ts';
import { defaultConfig } from '../src/config/load-config.ts';

const SELF = fileURLToPath(import.meta.url);
const GOAL_RSS_MB = 400;
const GOAL_P95_MS = 1000;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

// ------------------------------------------------------------------ pictures

/**
 * A noise PNG stored without compression (so it is as big as its pixels: ~6 MB at 1450 × 1450), from
 * which each request gets its own variant by changing a few pixels and fixing the two checksums.
 * That is milliseconds per picture instead of a fresh encode, and every upload is a different image
 * (so a refused one that reached the disk would show as a file of its own).
 */
export class PictureMaker {
  private readonly png: Buffer;
  private readonly dataStart: number; // offset of the first raw byte (row 0's filter byte) inside the file
  private readonly idatStart: number; // offset of the IDAT chunk's type field
  private readonly idatLength: number;
  private readonly adlerA: number;
  private readonly adlerB: number;
  private readonly rawLength: number;

  constructor(side: number) {
    const rowBytes = 1 + side * 3;
    const raw = Buffer.alloc(rowBytes * side);
    let x = 2463534242;
    for (let i = 0; i < raw.length; i++) {
      if (i % rowBytes === 0) continue; // filter byte 0 (none)
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      raw[i] = x & 0xff;
    }
    // zlib stream of stored (uncompressed) deflate blocks.
    const blocks: Buffer[] = [Buffer.from([0x78, 0x01])];
    for (let off = 0; off < raw.length; off += 65535) {
      const len = Math.min(65535, raw.length - off);
      const head = Buffer.alloc(5);
      head[0] = off + len >= raw.length ? 1 : 0;
      head.writeUInt16LE(len, 1);
      head.writeUInt16LE(len ^ 0xffff, 3);
      blocks.push(head, raw.subarray(off, off + len));
    }
    let a = 1;
    let b = 0;
    for (let i = 0; i < raw.length; i++) {
      a = (a + raw[i]) % 65521;
      b = (b + a) % 65521;
    }
    const adler = Buffer.alloc(4);
    adler.writeUInt32BE(((b << 16) | a) >>> 0);
    blocks.push(adler);
    const zdata = Buffer.concat(blocks);

    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(side, 0);
    ihdr.writeUInt32BE(side, 4);
    ihdr[8] = 8; // bit depth
    ihdr[9] = 2; // RGB
    const head = Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr)]);
    this.png = Buffer.concat([head, pngChunk('IDAT', zdata), pngChunk('IEND', Buffer.alloc(0))]);
    this.idatStart = head.length + 4;
    this.idatLength = zdata.length;
    this.dataStart = this.idatStart + 4 + 2 + 5; // type, zlib header, first block header
    this.adlerA = a;
    this.adlerB = b;
    this.rawLength = raw.length;
  }

  get bytes(): number {
    return this.png.length;
  }

  /** Variant n: the first four pixels carry n, the checksums are updated to match. */
  variant(n: number): Buffer {
    const out = Buffer.from(this.png);
    let a = this.adlerA;
    let b = this.adlerB;
    for (let k = 0; k < 12; k++) {
      const rawIndex = 1 + k; // after row 0's filter byte
      const before = out[this.dataStart + rawIndex];
      const after = (k < 4 ? (n >>> (8 * k)) & 0xff : before ^ 0x5a) & 0xff;
      const d = after - before;
      out[this.dataStart + rawIndex] = after;
      a = (((a + d) % 65521) + 65521) % 65521;
      b = (((b + ((this.rawLength - rawIndex) % 65521) * d) % 65521) + 65521) % 65521;
    }
    const zEnd = this.idatStart + 4 + this.idatLength;
    out.writeUInt32BE(((b << 16) | a) >>> 0, zEnd - 4);
    out.writeUInt32BE(crc32(out.subarray(this.idatStart, zEnd)), zEnd);
    return out;
  }
}

// ------------------------------------------------------------------ client process

interface Answer {
  ms: number;
  outcome: string;
  jobId?: string;
}

/**
 * One multipart upload over node:http, answered as soon as the server answers (a server may refuse
 * from the headers alone and close the connection while the body is still being sent, as browsers allow).
 */
function upload(base: string, user: string, png: Buffer): Promise<Answer> {
  const boundary = `----easel-bench-${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(
    `--${boundary}\r\ncontent-disposition: form-data; name="command"\r\n\r\nrestyle\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="options"\r\n\r\n{"steps":4}\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="image"; filename="big.png"\r\ncontent-type: image/png\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const t0 = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ms: performance.now() - t0, ...a });
    };
    const req = http.request(new URL('/api/jobs?command=restyle', base), {
      method: 'POST',
      agent: false,
      headers: {
        'x-easel-user': user,
        'x-easel-name': user,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': head.length + png.length + tail.length,
      },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        let parsed: { code?: string; job?: { id: string } } = {};
        try {
          parsed = JSON.parse(body) as typeof parsed;
        } catch {
          // not JSON: keep the status only
        }
        done({ outcome: res.statusCode === 202 ? 'queued' : `${res.statusCode} ${parsed.code ?? ''}`.trim(), jobId: parsed.job?.id });
        req.destroy();
      });
      res.on('error', () => undefined);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A write error after the answer arrived is the server closing a refused upload: not a failure.
      // Easel closes the connection early only after refusing from the headers (429): count it so.
      const early = err.code === 'EPIPE' || err.code === 'ECONNRESET';
      setTimeout(() => done({ outcome: early ? 'refused, connection closed mid-upload' : `error ${err.code ?? err.message}` }), 50);
    });
    req.write(head);
    req.write(png);
    req.end(tail);
  });
}

interface ClientReport {
  ms: number[];
  outcomes: Record<string, number>;
  wallMs: number;
}

const count = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

/** The flood: all requests at once, from one user or spread over `users`. */
async function floodClient(): Promise<ClientReport> {
  const url = arg('url', '');
  const requests = Number(arg('requests', '500'));
  const users = Number(arg('users', '100'));
  const single = arg('phase', 'one') === 'one';
  const maker = new PictureMaker(Number(arg('side', '1450')));
  let n = Number(arg('seed', '1')) * 100_000;
  const report: ClientReport = { ms: [], outcomes: {}, wallMs: 0 };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: requests }, async (_, i) => {
      const a = await upload(url, single ? 'flooder' : `flooder-${i % users}`, maker.variant(++n));
      report.ms.push(a.ms);
      count(report.outcomes, a.outcome);
    }),
  );
  report.wallMs = performance.now() - t0;
  return report;
}

/**
 * The legitimate user (a process of its own, so the flood's client work does not slow it down): a
 * submit every 200 ms until told to stop on stdin (at least 10), each cancelled once queued so their
 * own per-user limit never refuses them.
 */
async function legitClient(): Promise<ClientReport> {
  const url = arg('url', '');
  const maker = new PictureMaker(Number(arg('side', '1450')));
  let n = 9_000_000 + Number(arg('seed', '1')) * 1000;
  let stop = false;
  process.stdin.on('data', () => (stop = true));
  process.stdin.on('end', () => (stop = true));
  const report: ClientReport = { ms: [], outcomes: {}, wallMs: 0 };
  const t0 = performance.now();
  while (!stop || report.ms.length < 10) {
    const a = await upload(url, 'legit-user', maker.variant(++n));
    report.ms.push(a.ms);
    count(report.outcomes, a.outcome);
    if (a.jobId) {
      await fetch(new URL(`/api/jobs/${a.jobId}/cancel`, url), { method: 'POST', headers: { 'x-easel-user': 'legit-user' } }).then((x) => x.body?.cancel());
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  report.wallMs = performance.now() - t0;
  process.stdin.destroy();
  return report;
}

async function client(): Promise<void> {
  const report = arg('phase', '') === 'legit' ? await legitClient() : await floodClient();
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// ------------------------------------------------------------------ Easel side

function startClient(url: string, phase: string, seed: number): { done: Promise<ClientReport>; stop(): void } {
  const passThrough = ['requests', 'users', 'side'].flatMap((k) => (process.argv.includes(`--${k}`) ? [`--${k}`, arg(k, '')] : []));
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--role', 'client', '--url', url, '--phase', phase, '--seed', String(seed), ...passThrough], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (c: string) => (out += c));
  const done = new Promise<ClientReport>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`client (${phase}) exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as ClientReport);
    });
  });
  return { done, stop: () => child.stdin.end('stop\n') };
}

function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => relative(dir, join(d.parentPath, d.name)));
  } catch {
    return [];
  }
}

/** Stop everything still waiting or running, so each phase starts from an empty queue. */
async function cancelAll(app: EaselApp): Promise<void> {
  for (const job of await app.recentJobs('playground', 100_000)) {
    if (['queued', 'uploading', 'submitted', 'running'].includes(job.state)) await app.cancel(job.id, job.actor).catch(() => undefined);
  }
}

async function main(): Promise<void> {
  if (arg('role', '') === 'client') return client();

  const dataDir = mkdtempSync(join(tmpdir(), 'easel-bench-abuse-'));
  const config = defaultConfig({ dataDir, simulator: { stepMs: Number(arg('step-ms', '20')), previews: false }, playground: { port: 0 } });
  const app = await createApp(config);
  const pg = await startPlayground(app, config.playground, { maxUploadBytes: config.limits.maxInputBytes });
  const picture = new PictureMaker(Number(arg('side', '1450')));

  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  const mb = (b: number) => `${Math.round(b / 1024 / 1024)} MB`;
  const ms = (v: number) => `${Math.round(v)} ms`;

  console.log(`Easel abuse benchmark: playground HTTP API, built-in simulator, default limits`);
  console.log(
    `  limits: queueCap ${config.limits.queueCap}, perUserWaiting ${config.limits.perUserWaiting}, ` +
      `concurrentUploads ${config.limits.concurrentUploads}, perUserUploads ${config.limits.perUserUploads}; each upload a ${(picture.bytes / 1e6).toFixed(1)} MB PNG`,
  );
  console.log(`  Easel's RSS at rest: ${mb(process.memoryUsage.rss())}\n`);

  const phases: Array<[string, string]> = [
    ['quiet', 'legitimate user alone (baseline)'],
    ['one', `1 user floods ${arg('requests', '500')} requests`],
    ['many', `${arg('users', '100')} users flood ${arg('requests', '500')} requests`],
  ];
  const rows: string[][] = [];
  let quietP95 = NaN;
  let worstPeak = 0;
  let worstP95 = 0;
  for (const [i, [phase, label]] of phases.entries()) {
    peak = process.memoryUsage.rss();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    const legit = startClient(pg.url, 'legit', i + 1);
    let flood: ClientReport | undefined;
    if (phase !== 'quiet') flood = await startClient(pg.url, phase, i + 1).done;
    legit.stop();
    const r = await legit.done;
    const wall = performance.now() - started;
    loop.disable();
    await cancelAll(app);
    const p50 = percentile(r.ms, 50);
    const p95 = percentile(r.ms, 95);
    if (phase === 'quiet') quietP95 = p95;
    else {
      worstPeak = Math.max(worstPeak, peak);
      worstP95 = Math.max(worstP95, p95);
    }
    const outcomes = (o: Record<string, number>) => Object.entries(o).map(([k, v]) => `${v} ${k}`).join(', ');
    rows.push([
      label,
      mb(peak),
      `${ms(loop.percentile(99) / 1e6)} / ${ms(loop.max / 1e6)}`,
      `${ms(p50)} / ${ms(p95)}`,
      phase === 'quiet' ? '1.00' : (p95 / quietP95).toFixed(2),
      outcomes(r.outcomes),
      flood ? `${outcomes(flood.outcomes)}; p95 ${ms(percentile(flood.ms, 95))}, all in ${(flood.wallMs / 1000).toFixed(1)} s` : '—',
    ]);
    console.log(`  ${label}: done in ${(wall / 1000).toFixed(1)} s`);
  }

  // Orphans: image files on disk that no job (input or output) refers to.
  await new Promise((r) => setTimeout(r, 500));
  const referenced = new Set<string>();
  for (const job of await app.recentJobs('playground', 100_000)) {
    for (const img of [...job.inputs, ...(job.outputs ?? [])]) referenced.add(img.path);
  }
  const onDisk = filesUnder(config.storage.dir);
  const orphans = onDisk.filter((f) => !referenced.has(f));
  clearInterval(sampler);

  console.log('\n| phase | Easel peak RSS | Easel event-loop delay p99 / max | legitimate submit p50 / p95 | p95 ratio to quiet | legitimate answers | flood answered |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  console.log(`\nimage files on disk: ${onDisk.length}, used by a job: ${onDisk.length - orphans.length}, orphaned: ${orphans.length}`);
  console.log('\ngoals:');
  console.log(`  peak RSS during the floods < ${GOAL_RSS_MB} MB: ${mb(worstPeak)} ${worstPeak < GOAL_RSS_MB * 1024 * 1024 ? 'MET' : 'MISSED'}`);
  console.log(`  legitimate submit answered < ${GOAL_P95_MS} ms p95: ${ms(worstP95)} ${worstP95 < GOAL_P95_MS ? 'MET' : 'MISSED'}`);
  console.log(`  nothing orphaned on disk: ${orphans.length} ${orphans.length === 0 ? 'MET' : 'MISSED'}`);

  await pg.close();
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
}

if (process.argv[1] === SELF) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
