/**
 * `easel help <command>` and `easel run <command> --help`: the command's options with ranges and
 * defaults, and the extra options of any other preset installed for the same command.
 */
import { loadPresets } from '../commands/preset-loader.ts';
import { CommandRegistry } from '../commands/registry.ts';
import type { CommandName, OptionSpec } from '../commands/types.ts';
import type { EaselConfig } from '../config/types.ts';

function optionLine(o: OptionSpec): string {
  const range = o.min !== undefined || o.max !== undefined ? ` (${o.min ?? ''}..${o.max ?? ''})` : '';
  const def = o.default !== undefined && o.default !== '' ? ` [default ${o.default}]` : '';
  const choices = o.choices && o.choices.length <= 12 ? `; one of: ${o.choices.map((c) => c.value).join(', ')}` : '';
  return `  --${o.name}${range}${def}  ${o.description}${choices}`;
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
