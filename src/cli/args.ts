/**
 * Command-line arguments: positionals plus `--name value`, `--name=value` and bare `--flag`.
 * Repeatable flags (`--host`) collect every value.
 */
export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[]>;
}

import { UsageError } from './usage-error.ts';

/** Flags that never take a value. */
const BOOLEAN_FLAGS = new Set(['dry-run', 'help', 'global', 'json', 'quiet', 'version', 'no-job']);

export function parseArgs(argv: string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[]>();
  const add = (name: string, value: string) => flags.set(name, [...(flags.get(name) ?? []), value]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg.length === 2) {
      positionals.push(arg);
      continue;
    }
    const body = arg.slice(2);
    const eq = body.indexOf('=');
    if (eq >= 0) {
      add(body.slice(0, eq), body.slice(eq + 1));
    } else if (BOOLEAN_FLAGS.has(body)) {
      add(body, 'true');
    } else if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) {
      throw new UsageError(`--${body} needs a value (e.g. --${body} 0.6; for a yes/no option write --${body} true)`);
    } else {
      add(body, argv[++i]);
    }
  }
  return { positionals, flags };
}

export function flag(args: ParsedArgs, name: string): string | undefined {
  const values = args.flags.get(name);
  return values ? values[values.length - 1] : undefined;
}

export function flagAll(args: ParsedArgs, name: string): string[] {
  return args.flags.get(name) ?? [];
}
