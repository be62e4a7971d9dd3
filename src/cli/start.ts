/**
 * `easel start` (also `npm start`): runs Easel with every front end that is configured.
 * Discord starts when DISCORD_TOKEN is set, Slack when its tokens are set; with no chat platform the
 * local playground opens on 127.0.0.1. With no ComfyUI host, the built-in simulator stands in.
 */
import type { Logger } from 'pino';
import { createApp, type EaselApp } from '../app/create-app.ts';
import { simulatedNote } from '../app/simulated-note.ts';
import { startDiscordBot } from '../bot/discord/discord-bot.ts';
import { startPlayground } from '../bot/playground/playground-server.ts';
import { startSlackBot } from '../bot/slack/slack-bot.ts';
import { configSecrets } from '../config/secrets.ts';
import type { EaselConfig } from '../config/types.ts';
import { logJobEvents } from '../ops/job-event-log.ts';
import { createLogger } from '../ops/logger.ts';
import { startOpsServer } from '../ops/ops-server.ts';
import { UsageError } from './usage-error.ts';

interface Stoppable {
  stop(): Promise<void>;
}

export function platformsConfigured(config: EaselConfig): { discord: boolean; slack: boolean } {
  const slack =
    Boolean(config.slack.botToken) &&
    (config.slack.mode === 'socket' ? Boolean(config.slack.appToken) : Boolean(config.slack.signingSecret));
  return { discord: Boolean(config.discord.token), slack };
}

/** A server that cannot listen names the setting that chose its port. */
function portProblem(err: unknown, what: string, key: string, variable: string, port: number): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE') return new UsageError(`${what} cannot listen: port ${port} is already in use (set ${key} or ${variable} to another port)`);
  if (code === 'EACCES') return new UsageError(`${what} cannot listen on port ${port}: permission denied (set ${key} or ${variable})`);
  return err instanceof Error ? err : new Error(String(err));
}

async function stopAll(running: Stoppable[], logger: Logger): Promise<void> {
  for (const r of running.reverse()) await r.stop().catch((err) => logger.warn({ err: String(err) }, 'stop failed'));
}

export async function start(config: EaselConfig): Promise<number> {
  const logger = createLogger(config, configSecrets(config));
  const app = await createApp(config, { logger });
  const running: Stoppable[] = [{ stop: () => app.close() }];
  // Listened for before the front ends start and the banner says "Ctrl+C to stop": a Ctrl+C at any
  // moment from then on stops everything in order (once starting is done), never kills it half-way.
  const stopAsked = new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  try {
    await startFrontEnds(config, app, logger, running);
  } catch (err) {
    // Whatever started before the failure is stopped, so the process exits instead of lingering
    // half-alive with a health check that still says ok.
    await stopAll(running, logger);
    throw err;
  }

  await stopAsked;
  logger.info('shutting down');
  await stopAll(running, logger);
  return 0;
}

async function startFrontEnds(config: EaselConfig, app: EaselApp, logger: Logger, running: Stoppable[]): Promise<void> {
  const stopJobLog = logJobEvents(app, logger);
  running.push({ stop: async () => stopJobLog() });
  const platforms = platformsConfigured(config);
  const status = await app.status();

  const ops = await startOpsServer(app, config, { logger }).catch((err) => {
    throw portProblem(err, 'The health and metrics server', 'ops.port', 'EASEL_OPS_PORT', config.ops.port);
  });
  running.push({ stop: () => ops.close() });
  logger.info({ url: ops.url }, `health and metrics on ${ops.url}/healthz and ${ops.url}/metrics`);

  if (platforms.discord) {
    running.push(
      await startDiscordBot(app, config.discord, { logger, maxInputBytes: config.limits.maxInputBytes, stateDir: config.dataDir, recentKeys: app.recentKeys }).catch((err) => {
        throw new Error(`cannot connect to Discord: ${err instanceof Error ? err.message : String(err)}`);
      }),
    );
    logger.info('Discord bot connected');
  }
  if (platforms.slack) {
    running.push(
      await startSlackBot(app, config.slack, { logger, maxDownloadBytes: config.limits.maxInputBytes, recentKeys: app.recentKeys }).catch((err) => {
        throw config.slack.mode === 'http' ? portProblem(err, 'The Slack receiver', 'slack.port', 'SLACK_PORT', config.slack.port) : err;
      }),
    );
    logger.info({ mode: config.slack.mode }, 'Slack app started');
  }
  // The playground opens when no chat platform is configured, or alongside them when asked for.
  const playgroundAsked = /^(1|true|yes|on)$/i.test(process.env.EASEL_PLAYGROUND ?? '');
  if (((!platforms.discord && !platforms.slack) || playgroundAsked) && config.playground.enabled) {
    const playground = await startPlayground(app, config.playground, { logger, maxUploadBytes: config.limits.maxInputBytes }).catch((err) => {
      throw portProblem(err, 'The playground', 'playground.port', 'EASEL_PLAYGROUND_PORT', config.playground.port);
    });
    running.push({ stop: () => playground.close() });
    const simulated = simulatedNote(status);
    process.stdout.write(
      `\nEasel playground: ${playground.url}\n` +
        (config.playground.token ? `It needs its access token: open it once as ${playground.url}?token=<playground.token / EASEL_PLAYGROUND_TOKEN>\n` : '') +
        `Health and metrics: ${ops.url}/healthz  ${ops.url}/metrics\n` +
        (simulated ? `${simulated}\n` : '') +
        (!platforms.discord && !platforms.slack ? 'No chat platform configured (set DISCORD_TOKEN or SLACK_BOT_TOKEN to connect one). ' : '') +
        'Ctrl+C to stop.\n\n',
    );
  }
}
