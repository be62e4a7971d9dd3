/**
 * Autocomplete for long lists (styles, samplers) through easel.choices, and for /easel cancel's job
 * option (the user's own waiting or running jobs).
 */
import type { AutocompleteInteraction } from 'discord.js';
import type { CommandName } from '../../commands/types.ts';
import { jobTitle, truncateText } from '../shared/job-text.ts';
import { actorOf, type BotContext } from './bot-context.ts';
import { EASEL_COMMAND, optionName } from './command-definitions.ts';

const MAX = 25;

export async function handleAutocomplete(ctx: BotContext, interaction: AutocompleteInteraction): Promise<void> {
  const focused = interaction.options.getFocused(true);
  const typed = String(focused.value ?? '');
  let choices: Array<{ name: string; value: string }> = [];
  try {
    if (interaction.commandName === EASEL_COMMAND) {
      const jobs = await ctx.easel.jobsOf(actorOf(interaction));
      choices = jobs
        .filter((j) => !typed || j.id.includes(typed) || j.command.includes(typed.toLowerCase()))
        .map((j) => ({ name: `${jobTitle(j)} · ${j.state} · ${j.id}`, value: j.id }));
    } else {
      const spec = ctx.easel.commands.find((s) => s.name === interaction.commandName);
      const option = spec?.options.find((o) => optionName(o.name) === focused.name);
      if (spec && option) choices = ctx.easel.choices(spec.name as CommandName, option.name, typed);
    }
  } catch (err) {
    ctx.logger.warn({ err: String(err) }, 'discord: autocomplete failed');
  }
  await interaction
    .respond(choices.slice(0, MAX).map((c) => ({ name: truncateText(c.name, 100), value: c.value.slice(0, 100) })))
    .catch((err) => ctx.logger.debug({ err: String(err) }, 'discord: autocomplete answer refused'));
}
