/**
 * Reading `@Easel restyle watercolor denoise 0.5`: drop the mention(s), take the first word as the
 * command (with or without a slash), keep the rest for easel.parseText. Anything else gets help.
 */
import type { CommandName, CommandSpec } from '../../commands/types.ts';

export type ParsedMention = { kind: 'command'; command: CommandName; rest: string } | { kind: 'help'; text: string };

export function mentionHelp(specs: CommandSpec[]): string {
  const lines = specs.map((s) => `• \`/${s.name}\` ${s.description}`);
  return [
    'Easel turns an image into a new one. Use a slash command (a form opens), the "Easel this image" shortcut',
    'on a message with a picture, or mention me with a command next to an image, e.g. `@Easel restyle watercolor`.',
    ...lines,
    '`/easel status`: hosts and queue · `/easel queue`: your jobs · `/easel cancel [job id]`: stop your latest (or that) job',
  ].join('\n');
}

/**
 * Slack's message and command text as a person typed it: Slack sends `&`, `<`, `>` as `&amp;`,
 * `&lt;`, `&gt;` and wraps links, channels and special mentions in angle brackets
 * (`<https://x.com|x.com>`, `<#C123|general>`, `<!here>`). User mentions are kept as they are.
 */
export function slackPlainText(text: string): string {
  return text
    .replace(/<(?!@)([^>|]*)(?:\|([^>]*))?>/g, (_, target: string, label: string | undefined) => {
      if (target.startsWith('#')) return `#${label ?? target.slice(1)}`;
      if (target.startsWith('!')) return label ?? '';
      return label ?? target;
    })
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

export function parseMention(text: string, specs: CommandSpec[]): ParsedMention {
  const cleaned = slackPlainText(text.replace(/<@[A-Z0-9]+(\|[^>]*)?>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
  const [first = '', ...rest] = cleaned.split(' ');
  const word = first.replace(/^\//, '').toLowerCase();
  const spec = specs.find((s) => s.name === word);
  if (!spec) {
    const intro = word && word !== 'help' ? `I don't know "${first.slice(0, 40)}". ` : '';
    return { kind: 'help', text: `${intro}${mentionHelp(specs)}` };
  }
  return { kind: 'command', command: spec.name, rest: rest.join(' ') };
}
