/**
 * The `easel` command: start, run, register, simulator, help.
 */
import { isUserError, type UserErrorCode } from '../commands/errors.ts';
import { loadPresets } from '../commands/preset-loader.ts';
import { CommandRegistry } from '../commands/registry.ts';
import { COMMAND_NAMES, type CommandName } from '../commands/types.ts';
import { isConfigError, loadConfig } from '../config/load-config.ts';
import { flag, parseArgs, type ParsedArgs } from './args.ts';
import { commandHelp } from './command-help.ts';
import { cliConfig } from './cli-config.ts';
import { subcommandUsage, USAGE } from './usage.ts';
import { UsageError } from './usage-error.ts';

// Subcommands are imported when used, so `easel run` does not load discord.js or Bolt.

async function helpFor(args: ParsedArgs): Promise<string> {
  const name = args.positionals[0]?.replace(/^\//, '');
  if (!name) return USAGE;
  const sub = subcommandUsage(name);
  if (sub) return sub;
  if (!(COMMAND_NAMES as string[]).includes(name)) {
    throw new UsageError(`unknown command "${name}"; choose one of: ${COMMAND_NAMES.join(', ')}`);
  }
  return commandHelp(loadConfig({ file: flag(args, 'config') }), name as CommandName);
}

async function runSimulator(args: ParsedArgs): Promise<number> {
  const { startSimulator } = await import('../simulator/index.ts');
  const port = Number(flag(args, 'port') ?? 8188);
  const stepMs = Number(flag(args, 'step-ms') ?? 150);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, got "${flag(args, 'port')}"`);
  if (!Number.isFinite(stepMs) || stepMs < 0) throw new UsageError(`--step-ms must be a number of milliseconds >= 0, got "${flag(args, 'step-ms')}"`);
  const sim = await startSimulator({
    port,
    stepMs,
    dataDir: flag(args, 'data-dir'),
  });
  process.stdout.write(`Easel's ComfyUI simulator (simulated, no GPU) listening on ${sim.url}\nCtrl+C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await sim.close();
  return 0;
}

/** UserErrors that mean "the command line asked for something wrong": exit code 2, like UsageError. */
const USAGE_CODES = new Set<UserErrorCode>(['bad_option', 'bad_image', 'image_too_large', 'blocked_prompt']);

/** `--help` (or `-h`) after a subcommand: print its usage and run nothing. */
function wantsHelp(sub: string, args: ParsedArgs): boolean {
  if (flag(args, 'help') !== 'true' && !args.positionals.includes('-h')) return false;
  // `easel run restyle --help` is the command's own help, printed by runCommand.
  return !(sub === 'run' && args.positionals.length > 0 && args.positionals[0] !== '-h');
}

/** `easel … | head` closes stdout early: that is not an error. */
function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

export async function main(argv: string[]): Promise<number> {
  ignoreClosedPipes();
  const [sub, ...rest] = argv;
  try {
    const args = parseArgs(rest);
    switch (sub) {
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${sub === 'help' ? await helpFor(args) : USAGE}\n`);
        return 0;
      default:
        break;
    }
    const usage = subcommandUsage(sub);
    if (usage && wantsHelp(sub, args)) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    switch (sub) {
      case 'start':
        return await (await import('./start.ts')).start(loadConfig({ file: flag(args, 'config') }));
      case 'run':
        return await (await import('./run-command.ts')).runCommand(args, cliConfig(args));
      case 'doctor':
        return await (await import('./doctor.ts')).doctor(args);
      case 'register': {
        const config = loadConfig({ file: flag(args, 'config') });
        if (!config.discord.token || !config.discord.applicationId) {
          throw new UsageError('set DISCORD_TOKEN and DISCORD_APPLICATION_ID (see the README, "Discord set-up") before registering');
        }
        const discord = flag(args, 'global') === 'true' ? { ...config.discord, guildId: undefined } : config.discord;
        const registry = new CommandRegistry(await loadPresets(config.presetsDir), config);
        const { registerCommands } = await import('../bot/discord/register-commands.ts');
        const result = await registerCommands(registry.specs, discord);
        process.stdout.write(
          `Registered commands ${discord.guildId ? `in guild ${discord.guildId}` : 'globally'}: ` +
            `${result.created.length} created, ${result.updated.length} updated, ${result.unchanged.length} unchanged, ${result.deleted.length} removed\n`,
        );
        return 0;
      }
      case 'simulator':
        return await runSimulator(args);
      default:
        throw new UsageError(`unknown subcommand "${sub}"; try: easel help`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`easel: ${err.message}\n`);
      return 2;
    }
    if (isUserError(err) || isConfigError(err)) {
      process.stderr.write(`easel: ${isConfigError(err) ? err.message : (err as Error).message.split('\n').join(' ')}\n`);
      return isUserError(err) && USAGE_CODES.has(err.code) ? 2 : 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`easel: ${message.split('\n')[0]}\n`);
    return 1;
  }
}
