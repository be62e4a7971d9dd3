/**
 * Finding 4 (issue 10): a host that echoes our request headers — Authorization included — in a 400
 * body (JSON) and in an execution_error (exception_message and traceback). Whatever it says passes
 * the client's one redaction first: the job's error, the stored record and the log never hold the token.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app/create-app.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import type { JobEvent } from '../../src/jobs/types.ts';
import { logJobEvents } from '../../src/ops/job-event-log.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { startSimulator } from '../../src/simulator/index.ts';
import type { Simulator } from '../../src/simulator/types.ts';

const TOKEN = 'comfy-echo-secret-9f3a71c2';
const tmp = mkdtempSync(path.join(tmpdir(), 'easel-echo-'));
const lines: string[] = [];
let sim: Simulator;
let app: Awaited<ReturnType<typeof createApp>>;
let stopJobLog: (() => void) | undefined;
let image: Buffer;

beforeAll(async () => {
  sim = await startSimulator({ stepMs: 2, previews: false });
  const config = loadConfig({
    file: false,
    cwd: tmp,
    env: { COMFYUI_URL: sim.url, COMFYUI_TOKEN: TOKEN, EASEL_DATA_DIR: tmp, LOG_LEVEL: 'trace' },
  });
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = createLogger(config, [], { destination });
  app = await createApp(config, { logger });
  stopJobLog = logJobEvents(app, logger);
  image = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#884422' } }).png().toBuffer();
});

afterAll(async () => {
  stopJobLog?.();
  await app?.close();
  await sim?.close();
  rmSync(tmp, { recursive: true, force: true });
});

function finalEvent(jobId: string): Promise<JobEvent> {
  return new Promise((resolve) => {
    const off = app.subscribe(jobId, (e) => {
      if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') {
        queueMicrotask(() => off());
        resolve(e);
      }
    });
  });
}

/** Every file under the data folder (SQLite database and its WAL included), as text. */
function everythingStored(dir: string): string {
  let out = '';
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out += everythingStored(full);
    else out += readFileSync(full).toString('latin1');
  }
  return out;
}

describe.each([
  ['a 400 JSON body', 'prompt-400' as const, /refused the restyle workflow/],
  ['an execution_error message and traceback', 'execution-error' as const, /Failed while sampling/],
])('a host echoing the Authorization header in %s', (_what, where, expected) => {
  it('leaves no token in the job error, the store or the log', async () => {
    sim.echoHeadersNext(where);
    const actor = { platform: 'playground' as const, userId: `u-${where}`, channelId: 'playground' };
    const job = await app.submit({ command: 'restyle', options: { prompt: 'a red barn', steps: 4 }, images: [image], actor });
    const end = await finalEvent(job.id);
    expect(end.type).toBe('failed');
    const reason = end.type === 'failed' ? end.reason : '';
    expect(reason).toMatch(expected);
    // The host's words are still there, only the credential is gone.
    expect(reason).not.toContain(TOKEN);
    expect(reason).toContain("'Authorization': '***'");

    const stored = await app.getJob(job.id);
    expect(JSON.stringify(stored)).not.toContain(TOKEN);
    expect(everythingStored(tmp)).not.toContain(TOKEN);
    await new Promise((r) => setTimeout(r, 50));
    expect(lines.join('\n')).toContain(job.id);
    expect(lines.join('\n')).not.toContain(TOKEN);
  });
});
