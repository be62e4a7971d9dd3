/**
 * The Discord front end: a discord.js gateway client that turns slash commands, context menus,
 * buttons and modals into calls on the Easel facade, and job events into message edits.
 *
 *   const bot = await startDiscordBot(easel, config.discord, { maxInputBytes: config.limits.maxInputBytes });
 *   ...
 *   await bot.stop();
 */
import {
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  type ChatInputCommandInteraction,
  type ClientOptions,
  type Interaction,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import path from 'node:path';
import pino from 'pino';
import type { Easel } from '../../app/types.ts';
import type { EaselConfig } from '../../config/types.ts';
import { realClock, type Clock } from '../shared/clock.ts';
import { RecentKeys, type KeyClaimsFactory } from '../shared/recent-keys.ts';
import { handleAutocomplete } from './autocomplete-handler.ts';
import { PickedImages, type BotContext } from './bot-context.ts';
import { handleButton } from './button-handler.ts';
import { CONTEXT_MENU_COMMANDS, EASEL_COMMAND } from './command-definitions.ts';
import { handleEaselCommand } from './easel-command.ts';
import { handleContextMenu, handleJobCommand } from './job-command-handlers.ts';
import { handleModal } from './modal-handler.ts';
import { PickedAttachments } from './picked-attachments.ts';
import { PresenterRegistry } from './presenter-registry.ts';
import { createRestTransport } from './rest-transport.ts';

export interface DiscordBotOptions {
  logger?: pino.Logger;
  /** Largest attachment accepted, bytes (pass config.limits.maxInputBytes). Default 20 MiB. */
  maxInputBytes?: number;
  /** Extra origins attachments may be downloaded from (tests). The origin of config.apiBase is always allowed. */
  attachmentOrigins?: string[];
  /** A second click on the same button of the same message by the same person within this many ms is ignored. Default 2000. */
  doubleClickMs?: number;
  /** Where double clicks are remembered (default: this process; with Redis: every instance). */
  recentKeys?: KeyClaimsFactory;
  /** Least time between two edits of one progress message. Default 1500 ms. */
  editIntervalMs?: number;
  /**
   * Time and timers for everything time-based here: the interaction token's 15-minute margin, edit
   * pacing, double clicks, picked images. Default: the real clock. Tests pass one they can advance.
   */
  clock?: Clock;
  /**
   * Directory for the little state the adapter keeps across restarts (the images picked through a
   * context menu whose form is still open). Pass config.dataDir. Without it that state is in memory.
   */
  stateDir?: string;
  /** Extra discord.js client options (tests pass a no-op identify throttler). */
  clientOptions?: Partial<ClientOptions>;
}

export interface DiscordBot {
  readonly client: Client;
  /** Resolves when every job this bot is showing has been delivered (tests, graceful shutdown). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDiscordBot(easel: Easel, config: EaselConfig['discord'], opts: DiscordBotOptions = {}): Promise<DiscordBot> {
  if (!config.token) throw new Error('Discord bot token missing: set DISCORD_TOKEN (or discord.token in the config file).');
  const logger = opts.logger ?? pino({ level: 'silent' });
  const clock = opts.clock ?? realClock;
  const now = () => clock.now();
  const transport = createRestTransport();
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...opts.clientOptions,
    rest: { makeRequest: transport.makeRequest, ...(config.apiBase ? { api: config.apiBase } : {}), ...opts.clientOptions?.rest },
  });
  const extraOrigins = [...(opts.attachmentOrigins ?? [])];
  if (config.apiBase) extraOrigins.push(new URL(config.apiBase).origin);

  const presenters = new PresenterRegistry({
    easel,
    rest: client.rest,
    logger,
    clock,
    editIntervalMs: opts.editIntervalMs ?? 1500,
  });
  const ctx: BotContext = {
    easel,
    rest: client.rest,
    logger,
    download: { maxBytes: opts.maxInputBytes ?? 20 * 1024 * 1024, extraOrigins },
    presenters,
    pickedImages: new PickedImages({ now }),
    pickedAttachments: new PickedAttachments({ ...(opts.stateDir ? { file: path.join(opts.stateDir, 'discord-picked-images.json') } : {}), now }),
    clicks: opts.recentKeys ? opts.recentKeys('discord-clicks', opts.doubleClickMs ?? 2_000) : new RecentKeys(opts.doubleClickMs ?? 2_000, 10_000, now),
    now,
  };

  client.on(Events.InteractionCreate, (interaction) => {
    dispatch(ctx, interaction).catch((err: unknown) =>
      logger.error({ err: err instanceof Error ? err.stack : String(err) }, 'discord: interaction handler crashed'),
    );
  });
  client.on(Events.Error, (err) => logger.error({ err: String(err) }, 'discord: client error'));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(config.token);
    await ready;
  } catch (err) {
    await client.destroy().catch(() => undefined);
    await transport.close().catch(() => undefined);
    throw err;
  }
  logger.info({ user: client.user?.tag }, 'discord: connected');

  // Jobs recovered after a restart keep emitting events: deliver them with their stored refs.
  const unsubscribe = easel.onEvent((e) => presenters.adopt(e));

  let stopped = false;
  return {
    client,
    settled: () => presenters.settled(),
    async stop() {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      await presenters.stopAll();
      await client.destroy();
      await transport.close();
    },
  };
}

async function dispatch(ctx: BotContext, interaction: Interaction): Promise<void> {
  if (interaction.isAutocomplete()) return handleAutocomplete(ctx, interaction);
  if (interaction.isChatInputCommand()) {
    if (interaction.commandName === EASEL_COMMAND) return handleEaselCommand(ctx, interaction);
    const spec = ctx.easel.commands.find((s) => s.name === interaction.commandName);
    if (spec) return handleJobCommand(ctx, interaction, spec);
    return notAvailable(ctx, interaction);
  }
  if (interaction.isMessageContextMenuCommand()) {
    const entry = CONTEXT_MENU_COMMANDS.find((c) => c.name === interaction.commandName);
    const spec = entry && ctx.easel.commands.find((s) => s.name === entry.command);
    if (spec) return handleContextMenu(ctx, interaction, spec);
    return notAvailable(ctx, interaction);
  }
  if (interaction.isButton()) return handleButton(ctx, interaction);
  if (interaction.isModalSubmit()) return handleModal(ctx, interaction);
}

/** A command Discord still lists but this Easel no longer has (preset disabled, stale registration). */
async function notAvailable(ctx: BotContext, interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction): Promise<void> {
  await interaction
    .reply({
      content: `"${interaction.commandName}" is not available here any more. Try \`/easel help\` for the commands I have.`,
      flags: MessageFlags.Ephemeral,
    })
    .catch((err) => ctx.logger.warn({ err: String(err) }, 'discord: could not answer an unknown command'));
}
