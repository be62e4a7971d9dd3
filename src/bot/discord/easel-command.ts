/**
 * /easel help | status | queue | cancel — answered ephemerally to the person who asked.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { UserError } from '../../commands/errors.ts';
import { describeQueue, describeStatus, helpLines, jobTitle, truncateText } from '../shared/job-text.ts';
import { actorOf, replyError, type BotContext } from './bot-context.ts';
import { MAX_CONTENT } from './message-payloads.ts';

export async function handleEaselCommand(ctx: BotContext, interaction: ChatInputCommandInteraction): Promise<void> {
  const sub = interaction.options.getSubcommand(false) ?? 'help';
  try {
    if (sub === 'help') {
      await interaction.reply({ content: truncateText(helpLines(ctx.easel.commands).join('\n'), MAX_CONTENT), flags: MessageFlags.Ephemeral });
      return;
    }
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const actor = actorOf(interaction);
    let lines: string[];
    if (sub === 'status') {
      lines = describeStatus(await ctx.easel.status());
    } else if (sub === 'queue') {
      const [jobs, status] = await Promise.all([ctx.easel.jobsOf(actor), ctx.easel.status()]);
      lines = describeQueue(jobs, status);
    } else if (sub === 'cancel') {
      const wanted = interaction.options.getString('job', false);
      const mine = await ctx.easel.jobsOf(actor);
      const target = wanted ?? [...mine].sort((a, b) => b.createdAt - a.createdAt)[0]?.id;
      if (!target) throw new UserError('not_found', 'You have no jobs waiting or running.');
      const job = await ctx.easel.getJob(target);
      if (!job) throw new UserError('not_found', `I have no job ${target}.`);
      if (!ctx.easel.mayAct(job, 'cancel', actor)) throw new UserError('forbidden', 'Only the person who started that job may cancel it.');
      const cancelled = await ctx.easel.cancel(target, actor);
      lines = [`Cancelled ${jobTitle(cancelled)} (${cancelled.id}).`];
    } else {
      throw new UserError('not_found', `Unknown subcommand ${sub}.`);
    }
    await interaction.editReply({ content: truncateText(lines.join('\n'), MAX_CONTENT) });
  } catch (err) {
    await replyError(ctx, interaction, err);
  }
}
