/**
 * What every interaction handler shares: the Easel facade, the REST client, download policy, the
 * presenters of running jobs, and small helpers (who is acting, how to answer with a friendly
 * ephemeral error).
 */
import {
  GuildMember,
  MessageFlags,
  type BaseInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
  type REST,
} from 'discord.js';
import type pino from 'pino';
import type { Easel } from '../../app/types.ts';
import { isUserError } from '../../commands/errors.ts';
import type { Actor, JobRecord } from '../../jobs/types.ts';
import type { KeyClaims } from '../shared/recent-keys.ts';
import type { DownloadPolicy } from './attachment-download.ts';
import type { PickedAttachments } from './picked-attachments.ts';
import type { PickedImages } from './picked-images.ts';
import type { PresenterRegistry } from './presenter-registry.ts';
import type { DiscordRefs } from './job-presenter.ts';

export { PickedImages } from './picked-images.ts';

export type RepliableInteraction =
  | ChatInputCommandInteraction
  | ButtonInteraction
  | ModalSubmitInteraction
  | MessageContextMenuCommandInteraction;

export interface BotContext {
  easel: Easel;
  rest: REST;
  logger: pino.Logger;
  download: DownloadPolicy;
  presenters: PresenterRegistry;
  /** Images picked through a context menu, downloaded while the user fills in the modal. */
  pickedImages: PickedImages;
  /** The attachment each context menu picked, as the interaction resolved it (survives restarts). */
  pickedAttachments: PickedAttachments;
  /** Recent button clicks (user, button, message): a double click must not start a job twice. */
  clicks: KeyClaims;
  now: () => number;
}

export function actorOf(interaction: BaseInteraction): Actor {
  const member = interaction.member;
  let roles: string[] | undefined;
  if (member instanceof GuildMember) roles = [...member.roles.cache.keys()];
  else if (member && Array.isArray((member as { roles?: unknown }).roles)) roles = (member as { roles: string[] }).roles;
  const user = interaction.user;
  return {
    platform: 'discord',
    userId: user.id,
    displayName: user.globalName ?? user.username,
    channelId: interaction.channelId ?? `dm-${user.id}`,
    ...(interaction.guildId ? { serverId: interaction.guildId } : {}),
    ...(roles ? { roles } : {}),
  };
}

export const GENERIC_ERROR = 'Something went wrong on my side. Nothing was lost; please try again in a moment.';

/** The words to show for an error: the core's message for UserErrors, a generic line otherwise. */
export function errorText(err: unknown): string {
  return isUserError(err) ? err.message : GENERIC_ERROR;
}

/**
 * Answer with an ephemeral error whatever state the interaction is in. A public deferred reply is
 * deleted first, so the error is seen only by the person who asked.
 */
export async function replyError(ctx: BotContext, interaction: RepliableInteraction, err: unknown): Promise<void> {
  if (!isUserError(err)) ctx.logger.error({ err: err instanceof Error ? err.stack : String(err) }, 'discord: interaction failed');
  const content = errorText(err);
  try {
    if (interaction.deferred && !interaction.replied) {
      if (interaction.isMessageComponent() && !interactionHasOwnReply(interaction)) {
        await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
        return;
      }
      await interaction.deleteReply().catch(() => undefined);
      await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
    } else if (interaction.replied) {
      await interaction.followUp({ content, flags: MessageFlags.Ephemeral });
    } else {
      await interaction.reply({ content, flags: MessageFlags.Ephemeral });
    }
  } catch (e) {
    ctx.logger.warn({ err: String(e) }, 'discord: could not show an error to the user');
  }
}

/** Buttons we defer with deferUpdate have no reply of their own (their @original is the clicked message). */
const ownReply = new WeakSet<object>();
export function markOwnReply(interaction: object): void {
  ownReply.add(interaction);
}
function interactionHasOwnReply(interaction: object): boolean {
  return ownReply.has(interaction);
}

/** Public "thinking…" reply, returning the id of the reply message. */
export async function deferPublic(interaction: RepliableInteraction): Promise<string | undefined> {
  const res = await interaction.deferReply({ withResponse: true });
  markOwnReply(interaction);
  return res.resource?.message?.id ?? undefined;
}

/** Start showing a job's progress in the reply of `interaction`. */
export async function followJob(ctx: BotContext, interaction: RepliableInteraction, job: JobRecord, messageId?: string): Promise<void> {
  const refs: DiscordRefs = {
    applicationId: interaction.applicationId,
    channelId: interaction.channelId ?? job.actor.channelId,
    ...(interaction.guildId ? { guildId: interaction.guildId } : {}),
    interactionToken: interaction.token,
    tokenIssuedAt: interaction.createdTimestamp,
    ...(messageId ? { messageId } : {}),
    ...(interaction.attachmentSizeLimit ? { attachmentSizeLimit: interaction.attachmentSizeLimit } : {}),
  };
  await ctx.presenters.start(job, refs);
}
