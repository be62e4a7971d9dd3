/**
 * One Easel instance as its own process, for the scale-out tests: createApp over the shared Redis and
 * the shared image folder given in EASEL_SCALE (JSON), with short BullMQ/lease timings.
 *
 * It reads one JSON request per line on stdin and answers one JSON line on stdout:
 *   {"id":1,"op":"submit","user":"u1","seed":5,"steps":20}  -> {"id":1,"jobId":"..."} or {"id":1,"error":"code: message"}
 *   {"id":2,"op":"rerun","user":"u1","jobId":"...","action":"reroll"}
 *   {"id":3,"op":"cancel","user":"u1","jobId":"..."}           -> {"id":3,"state":"cancelled"}
 * and reports, unasked: {"ready":true,"instance":"..."}, and every outcome its app-wide listener
 * hears (what a chat front end would post): {"delivered":"done","jobId":"...","outputs":2}.
 */
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { createApp } from '../../../src/app/create-app.ts';
import type { RerunAction } from '../../../src/commands/types.ts';
import type { LimitsConfig } from '../../../src/config/types.ts';
import { UserError } from '../../../src/commands/errors.ts';
import type { Actor } from '../../../src/jobs/types.ts';
import { testConfig, testPicture } from '../app/app-harness.ts';

interface Setup {
  dataDir: string;
  imagesDir: string;
  redisUrl: string;
  hosts: Array<{ name: string; url: string }>;
  instanceId: string;
  lockMs: number;
  leaseMs: number;
  limits?: Partial<LimitsConfig>;
  parkMs?: number;
}

const setup = JSON.parse(process.env.EASEL_SCALE ?? '{}') as Setup;
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);

const config = testConfig(setup.dataDir, {
  hosts: setup.hosts,
  store: { redisUrl: setup.redisUrl },
  storage: { dir: setup.imagesDir },
  limits: { perUserWaiting: 20, perUserRunning: 4, cooldownSeconds: 0, ...setup.limits },
});
// EASEL_SCALE_DEBUG=1 prints the instance's log on stderr (shown when a test times out).
const logger = process.env.EASEL_SCALE_DEBUG ? pino({ level: 'debug' }, pino.destination(2)) : undefined;
const app = await createApp(config, {
  logger,
  distributed: { instanceId: setup.instanceId, lockMs: setup.lockMs, stalledCheckMs: Math.round(setup.lockMs / 2), leaseMs: setup.leaseMs, parkMs: setup.parkMs },
});
app.onEvent((e) => {
  if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') {
    say({ delivered: e.type, jobId: e.job.id, outputs: e.job.outputs?.length ?? 0 });
  }
});
const picture = await testPicture(96, 64);
const actor = (user: string): Actor => ({ platform: 'discord', userId: user, channelId: 'general', serverId: 'guild-1' });

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line) as { id: number; op: string; user: string; seed?: number; steps?: number; jobId?: string; action?: RerunAction };
  const answer = async () => {
    if (req.op === 'submit') {
      const job = await app.submit({
        command: 'restyle',
        options: { prompt: 'a lighthouse', seed: req.seed ?? 1, steps: req.steps ?? 10 },
        images: [picture],
        actor: actor(req.user),
      });
      return { jobId: job.id };
    }
    if (req.op === 'rerun') {
      const job = await app.rerun({ jobId: req.jobId!, action: req.action ?? 'reroll', actor: actor(req.user) });
      return { jobId: job.id };
    }
    if (req.op === 'cancel') {
      const job = await app.cancel(req.jobId!, actor(req.user));
      return { state: job.state };
    }
    if (req.op === 'close') {
      await app.close();
      setImmediate(() => process.exit(0));
      return { closed: true };
    }
    throw new Error(`unknown op ${req.op}`);
  };
  answer().then(
    (r) => say({ id: req.id, ...r }),
    (err: unknown) => say({ id: req.id, error: err instanceof UserError ? `${err.code}: ${err.message}` : String(err) }),
  );
});
say({ ready: true, instance: setup.instanceId });
