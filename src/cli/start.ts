/**
 * `easel start` (also `npm start`): runs Easel with every front end that is configured.
 * Discord starts when DISCORD_TOKEN is set, Slack when its tokens are set; with no chat platform the
 * local playground opens on 127.0.0.1. With no ComfyUI host, the built-in simulator stands in.
 */
import { createApp } from '../app/create-app.ts';
import { startDiscordBot } from '../bot/discord/discord-bot.ts';
import { startPlayground } from '../bot/playground/playground-server.ts';
import { startSlackBot } from '../bot/slack/slack-bot.ts';
import { configSecrets } from '../config/secrets.ts';
import type { EaselConfig } from '../config/types.ts';
import { logJobEvents } from '../ops/job-event-log.ts';
import { createLogger } from '../ops/logger.ts';
import { startOpsServer } from '../ops/ops-server.ts';

interface Stoppable {
  stop(): Promise<void>;
}

export function platformsConfigured(config: EaselConfig): { discord: boolean; slack: boolean } {
  const slack =
    Boolean(config.slack.botToken) &&
    (config.slack.mode === 'socket' ? Boolean(config.slack.appToken) : Boolean(config.slack.signingSecret));
  return { discord: Boolean(config.discord.token), slack };
}

export async function start(config: EaselConfig): Promise<number> {
  const logger = createLogger(config, configSecrets(config));
  const app = await createApp(config, { logger });
  const running: Stoppable[] = [];
  const stopJobLog = logJobEvents(app, logger);
  running.push({ stop: async () => stopJobLog() });
  const platforms = platformsConfigured(config);
  const status = await app.status();

  const ops = await startOpsServer(app, config, { logger });
  running.push({ stop: () => ops.close() });
  logger.info({ url: ops.url }, `health and metrics on ${ops.url}/healthz and ${ops.url}/metrics`);

  if (platforms.discord) {
    running.push(await startDiscordBot(app, config.discord, { logger, maxInputBytes: config.limits.maxInputBytes }));
    logger.info('Discord bot connected');
  }
  if (platforms.slack) {
    running.push(await startSlackBot(app, config.slack, { logger, maxDownloadBytes: config.limits.maxInputBytes }));
    logger.info({ mode: config.slack.mode }, 'Slack app started');
  }
  // The playground opens when no chat platform is configured, or alongside them when asked for.
  const playgroundAsked = /^(1|true|yes|on)$/i.test(process.env.EASEL_PLAYGROUND ?? '');
  if ((!platforms.discord && !platforms.slack) || playgroundAsked) {
    if (config.playground.enabled) {
      const playground = await startPlayground(app, config.playground, { logger, maxUploadBytes: config.limits.maxInputBytes });
      running.push({ stop: () => playground.close() });
      process.stdout.write(
        `\nEasel playground: ${playground.url}\n` +
          `Health and metrics: ${ops.url}/healthz  ${ops.url}/metrics\n` +
          (status.simulated ? 'No ComfyUI host configured: using the built-in simulator (simulated images, no GPU).\n' : '') +
          'No chat platform configured (set DISCORD_TOKEN or SLACK_BOT_TOKEN to connect one). Ctrl+C to stop.\n\n',
      );
    }
  }

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info('shutting down');
  for (const r of running.reverse()) await r.stop().catch((err) => logger.warn({ err: String(err) }, 'stop failed'));
  await app.close();
  return 0;
}
