/**
 * /restyle, /upscale, ... and the message context menus. Cheap checks (file host, declared size and
 * type) answer at once with an ephemeral error; everything else happens after the reply is deferred,
 * well inside Discord's 3-second window.
 */
import { MessageFlags, type ChatInputCommandInteraction, type Message, type MessageContextMenuCommandInteraction } from 'discord.js';
import type { AdmissionTicket } from '../../app/types.ts';
import { UserError } from '../../commands/errors.ts';
import type { CommandSpec } from '../../commands/types.ts';
import { checkAttachment, downloadAttachment, type AttachmentInfo } from './attachment-download.ts';
import { actorOf, deferPublic, followJob, replyError, type BotContext } from './bot-context.ts';
import { optionName } from './command-definitions.ts';
import { contextModal } from './modals.ts';

/** Typed (non-image) option values as the user gave them, keyed by the spec's option names. */
function typedOptions(interaction: ChatInputCommandInteraction, spec: CommandSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of spec.options) {
    if (spec.images.includes(o.name)) continue;
    const v = interaction.options.get(optionName(o.name))?.value;
    if (v !== undefined && v !== null) out[o.name] = v;
  }
  return out;
}

export async function handleJobCommand(ctx: BotContext, interaction: ChatInputCommandInteraction, spec: CommandSpec): Promise<void> {
  let attachments: AttachmentInfo[];
  try {
    attachments = spec.images.map((name, i) => {
      const a = interaction.options.getAttachment(optionName(name), false);
      if (!a) throw new UserError('bad_image', `/${spec.name} needs ${i === 0 ? 'an image' : `a second image (${name})`}. Attach one and try again.`);
      const info = { name: a.name, url: a.url, size: a.size, contentType: a.contentType };
      checkAttachment(info, ctx.download);
      return info;
    });
  } catch (err) {
    await replyError(ctx, interaction, err);
    return;
  }
  // Admission (policy, limits, cooldown, a free upload slot) before anything is downloaded.
  const actor = actorOf(interaction);
  let ticket: AdmissionTicket;
  try {
    ticket = await ctx.easel.admit({ command: spec.name, actor });
  } catch (err) {
    await replyError(ctx, interaction, err);
    return;
  }
  let messageId: string | undefined;
  try {
    messageId = await deferPublic(interaction);
  } catch (err) {
    ticket.release();
    ctx.logger.warn({ err: String(err) }, 'discord: could not acknowledge a command');
    return;
  }
  try {
    const images = await Promise.all(attachments.map((a) => downloadAttachment(a, ctx.download)));
    const job = await ctx.easel.submit({ command: spec.name, options: typedOptions(interaction, spec), images, actor, ticket });
    await followJob(ctx, interaction, job, messageId);
  } catch (err) {
    await replyError(ctx, interaction, err);
  } finally {
    ticket.release(); // a no-op once submit has used it
  }
}

const IMAGE_NAME = /\.(png|jpe?g|webp|gif|bmp|tiff?|avif)$/i;

function fileNameOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '') || 'image.png';
  } catch {
    return 'image.png';
  }
}

/** The first image in a message: an attachment, else an embedded image. */
export function imageOfMessage(message: Pick<Message, 'attachments' | 'embeds'>): AttachmentInfo | undefined {
  for (const a of message.attachments.values()) {
    if (a.contentType ? a.contentType.startsWith('image/') : IMAGE_NAME.test(a.name)) {
      return { name: a.name, url: a.url, size: a.size, contentType: a.contentType };
    }
  }
  for (const e of message.embeds) {
    // Discord's copy (proxy_url), not the outside host the embed points at: an outside image is
    // fetched by Discord's media proxy, never by us; an attachment:// image is on Discord's CDN.
    const media = e.image ?? e.thumbnail;
    const url = media?.proxyURL ?? media?.url;
    if (media && url) return { name: fileNameOf(media.url), url, size: 0, contentType: null };
  }
  return undefined;
}

export async function handleContextMenu(
  ctx: BotContext,
  interaction: MessageContextMenuCommandInteraction,
  spec: CommandSpec,
): Promise<void> {
  const image = imageOfMessage(interaction.targetMessage);
  if (!image) {
    await interaction
      .reply({ content: 'That message has no image I can use. Pick a message with a picture attached.', flags: MessageFlags.Ephemeral })
      .catch((err) => ctx.logger.warn({ err: String(err) }, 'discord: reply failed'));
    return;
  }
  try {
    checkAttachment(image, ctx.download);
    // Would this user be let in right now (policy, limits, cooldown)? Checked before the modal and
    // before any download; the place is taken for real when the modal comes back.
    (await ctx.easel.admit({ command: spec.name, actor: actorOf(interaction) })).release();
  } catch (err) {
    await replyError(ctx, interaction, err);
    return;
  }
  try {
    await interaction.showModal(contextModal(spec, interaction.targetMessage.id));
  } catch (err) {
    ctx.logger.warn({ err: String(err) }, 'discord: could not open the modal');
    return;
  }
  // Discord's links expire: fetch the image now, while the user types, if the cache has room for it.
  ctx.pickedImages.put(interaction.user.id, interaction.targetMessage.id, image.size || ctx.download.maxBytes, () => downloadAttachment(image, ctx.download));
  // Keep the link Discord resolved for us: after a restart the message cannot be read again.
  await ctx.pickedAttachments
    .put(interaction.targetMessage.id, image)
    .catch((err) => ctx.logger.warn({ err: String(err) }, 'discord: could not keep the picked image'));
}
