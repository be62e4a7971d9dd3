/**
 * `easel help <command>` and `easel run <command> --help`: the command's options with ranges and
 * defaults, and the extra options of any other preset installed for the same command.
 */
import { loadPresets } from '../commands/preset-loader.ts';
import { CommandRegistry } from '../commands/registry.ts';
import type { CommandName, OptionSpec } from '../commands/types.ts';
import type { EaselConfig } from '../config/types.ts';

/** Words joined with ", " and wrapped to lines of about `width` characters, each starting with `indent`. */
function wrapList(words: string[], indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const [i, w] of words.entries()) {
    const piece = `${w}${i < words.length - 1 ? ',' : ''}`;
    if (line && indent.length + line.length + 1 + piece.length > width) {
      lines.push(`${indent}${line}`);
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  if (line) lines.push(`${indent}${line}`);
  return lines;
}

/** One option, then every choice it accepts (styles, samplers, ...) on the lines below it. */
function optionLine(o: OptionSpec): string {
  const range = o.min !== undefined || o.max !== undefined ? ` (${o.min ?? ''}..${o.max ?? ''})` : '';
  const def = o.default !== undefined && o.default !== '' ? ` [default ${o.default}]` : '';
  const head = `  --${o.name}${range}${def}  ${o.description}`;
  if (!o.choices || o.choices.length === 0) return head;
  // Values with spaces are quoted, as they must be typed on a command line.
  const values = o.choices.map((c) => (/\s/.test(c.value) ? `"${c.value}"` : c.value));
  return [`${head}; one of (${values.length}):`, ...wrapList(values, '      ')].join('\n');
}

export async function commandHelp(config: EaselConfig, command: CommandName): Promise<string> {
  const registry = new CommandRegistry(await loadPresets(config.presetsDir), config);
  const spec = registry.spec(command);
  if (!spec) return `unknown command ${command}`;
  const lines = [`/${spec.name}: ${spec.description}`, '', spec.help, '', `Images: ${spec.images.join(', ')}`, '', 'Options:'];
  lines.push(...spec.options.map(optionLine));
  const main = registry.defaultPreset(command);
  const known = new Set(spec.options.map((o) => o.name));
  for (const preset of registry.presetsFor(command)) {
    if (preset.name === main?.name) continue;
    const extra = registry.optionsOf(preset).filter((o) => !known.has(o.name));
    lines.push('', `With --preset ${preset.name}: ${preset.description}`);
    lines.push(...(extra.length > 0 ? extra.map(optionLine) : ['  (no extra options)']));
  }
  lines.push('', `Example: npx easel run ${command} photo.jpg${spec.images.length > 1 ? ' second.jpg' : ''} --out results`);
  return lines.join('\n');
}
