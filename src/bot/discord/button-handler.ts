/**
 * Result and status buttons. The custom id holds only the job id, the action and an index; the job
 * is read back from the store, so buttons work after a restart and on any instance of the bot.
 */
import { MessageFlags, type ButtonInteraction } from 'discord.js';
import { UserError } from '../../commands/errors.ts';
import type { JobAction } from '../../commands/types.ts';
import type { JobRecord } from '../../jobs/types.ts';
import { decodeJobActionId } from '../shared/custom-id.ts';
import { jobTitle } from '../shared/job-text.ts';
import { actorOf, deferPublic, followJob, markOwnReply, replyError, type BotContext } from './bot-context.ts';
import { noticeMessage } from './message-payloads.ts';
import { editModal } from './modals.ts';

const VERBS: Record<JobAction, string> = {
  reroll: 'reroll',
  subtle: 'rerun',
  strong: 'rerun',
  ladder: 'rerun',
  vary: 'vary',
  upscale: 'upscale',
  edit: 'edit',
  delete: 'delete',
  cancel: 'cancel',
};

export async function loadJobFor(ctx: BotContext, jobId: string, action: JobAction, interaction: Parameters<typeof actorOf>[0]): Promise<JobRecord> {
  const job = await ctx.easel.getJob(jobId);
  if (!job) throw new UserError('not_found', 'I no longer have that job (it may have been deleted or expired).');
  if (!ctx.easel.mayAct(job, action, actorOf(interaction))) {
    throw new UserError('forbidden', `Only <@${job.actor.userId}>, who started this job, may ${VERBS[action]} it.`);
  }
  return job;
}

export async function handleButton(ctx: BotContext, interaction: ButtonInteraction): Promise<void> {
  const b = decodeJobActionId(interaction.customId);
  if (!b) {
    await interaction
      .reply({ content: 'That button is from an older version of Easel and no longer works.', flags: MessageFlags.Ephemeral })
      .catch(() => undefined);
    return;
  }
  const actor = actorOf(interaction);
  // A double click (same person, same button, same message, within a moment) would start the job
  // twice: acknowledge the repeat without doing anything. Edit only opens a form, so it may repeat.
  if (b.action !== 'edit' && !(await ctx.clicks.claim(`${actor.userId}:${interaction.customId}:${interaction.message.id}`))) {
    await interaction.deferUpdate().catch((err) => ctx.logger.debug({ err: String(err) }, 'discord: could not acknowledge a repeated click'));
    return;
  }
  try {
    switch (b.action) {
      case 'edit': {
        const job = await loadJobFor(ctx, b.jobId, 'edit', interaction);
        const spec = ctx.easel.commands.find((s) => s.name === job.command);
        await interaction.showModal(editModal(job, spec));
        return;
      }
      case 'cancel': {
        await interaction.deferUpdate();
        await loadJobFor(ctx, b.jobId, 'cancel', interaction);
        const cancelled = await ctx.easel.cancel(b.jobId, actor);
        // A presenter here shows the cancellation itself; otherwise (another instance, a restart) do it now.
        if (!ctx.presenters.get(b.jobId)) {
          const m = noticeMessage(`**${jobTitle(cancelled)}** for <@${cancelled.actor.userId}>: cancelled.`);
          await interaction.editReply({ content: m.body.content as string, components: [], files: [], allowedMentions: { parse: [] } });
        }
        return;
      }
      case 'delete': {
        await interaction.deferUpdate();
        await loadJobFor(ctx, b.jobId, 'delete', interaction);
        await ctx.easel.remove(b.jobId, actor);
        await interaction.deleteReply();
        return;
      }
      default: {
        const messageId = await deferPublic(interaction);
        markOwnReply(interaction);
        await loadJobFor(ctx, b.jobId, b.action, interaction);
        const job = await ctx.easel.rerun({ jobId: b.jobId, action: b.action, actor, ...(b.index !== undefined ? { index: b.index } : {}) });
        await followJob(ctx, interaction, job, messageId);
      }
    }
  } catch (err) {
    await replyError(ctx, interaction, err);
  }
}
