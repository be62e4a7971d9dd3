/**
 * `easel register`: writes Easel's commands to one guild (config.guildId, instant, for development)
 * or globally. Existing commands are fetched first and compared field by field; only when something
 * differs is the set written (one bulk PUT, which keeps the ids of existing commands), so re-running it
 * does not burn Discord's 200-creates-per-day quota or the commands' rate limit.
 */
import { REST, RateLimitError, Routes, type RESTPostAPIApplicationCommandsJSONBody } from 'discord.js';
import type { CommandSpec } from '../../commands/types.ts';
import type { EaselConfig } from '../../config/types.ts';
import { formatDuration } from '../shared/job-text.ts';
import { buildCommandDefinitions } from './command-definitions.ts';
import { createRestTransport } from './rest-transport.ts';

export interface RegisterResult {
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
  scope: 'guild' | 'global';
}

type CommandJSON = Record<string, unknown>;

/** Longest rate-limit wait `register` sits through before giving up with an explanation. */
const MAX_RATE_LIMIT_WAIT_MS = 60_000;

const OPTION_DEFAULTS: Record<string, unknown> = { required: false, autocomplete: false };

/** Reduce a command (ours or Discord's answer) to the fields we set, with Discord's defaults filled in. */
function normalizeOption(o: CommandJSON): CommandJSON {
  const out: CommandJSON = {};
  for (const key of ['type', 'name', 'description', 'required', 'autocomplete', 'min_value', 'max_value', 'min_length', 'max_length', 'channel_types']) {
    const v = o[key] ?? OPTION_DEFAULTS[key];
    if (v !== undefined && v !== null) out[key] = v;
  }
  if (Array.isArray(o.choices) && o.choices.length) {
    out.choices = (o.choices as CommandJSON[]).map((c) => ({ name: c.name, value: c.value }));
  }
  if (Array.isArray(o.options) && o.options.length) out.options = (o.options as CommandJSON[]).map(normalizeOption);
  return out;
}

export function normalizeCommand(c: CommandJSON): CommandJSON {
  const type = (c.type as number | undefined) ?? 1;
  const out: CommandJSON = {
    type,
    name: c.name,
    description: type === 1 ? (c.description ?? '') : '',
    options: Array.isArray(c.options) ? (c.options as CommandJSON[]).map(normalizeOption) : [],
    default_member_permissions: c.default_member_permissions ?? null,
    nsfw: c.nsfw ?? false,
  };
  if (c.contexts !== undefined && c.contexts !== null) out.contexts = [...(c.contexts as number[])].sort();
  if (c.integration_types !== undefined && c.integration_types !== null) {
    out.integration_types = [...(c.integration_types as number[])].sort();
  }
  return out;
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as CommandJSON)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Does Discord's stored command already say what we want? Fields we do not set are ignored. */
export function sameCommand(existing: CommandJSON, wanted: CommandJSON): boolean {
  const a = normalizeCommand(existing);
  const b = normalizeCommand(wanted);
  // Discord fills contexts/integration_types itself when we leave them out; compare only what we set.
  if (b.contexts === undefined) delete a.contexts;
  if (b.integration_types === undefined) delete a.integration_types;
  return stable(a) === stable(b);
}

export async function registerCommands(
  specs: CommandSpec[],
  config: EaselConfig['discord'],
  opts: { rest?: REST; commands?: RESTPostAPIApplicationCommandsJSONBody[] } = {},
): Promise<RegisterResult> {
  if (!config.token) throw new Error('Discord bot token missing: set DISCORD_TOKEN (or discord.token in the config file).');
  if (!config.applicationId) {
    throw new Error('Discord application id missing: set DISCORD_APPLICATION_ID (or discord.applicationId in the config file).');
  }
  const transport = opts.rest ? undefined : createRestTransport();
  const rest =
    opts.rest ??
    new REST({
      makeRequest: transport!.makeRequest,
      ...(config.apiBase ? { api: config.apiBase } : {}),
      retries: 1,
      // A long wait means the daily create quota is used up: say so instead of hanging for hours.
      // Discord answers that 429 with Retry-After (a day) while the route's own bucket resets in
      // seconds, so look at every wait discord.js reports, not only the bucket's.
      rejectOnRateLimit: (info) => Math.max(info.timeToReset, info.retryAfter, info.sublimitTimeout) > MAX_RATE_LIMIT_WAIT_MS,
    }).setToken(config.token);
  const appId = config.applicationId;
  const listRoute = config.guildId ? Routes.applicationGuildCommands(appId, config.guildId) : Routes.applicationCommands(appId);

  try {
    return await writeCommands(rest, listRoute, (opts.commands ?? buildCommandDefinitions(specs)) as unknown as CommandJSON[], config);
  } catch (err) {
    if (err instanceof RateLimitError) {
      const waitMs = Math.max(err.timeToReset, err.retryAfter, err.sublimitTimeout);
      throw new Error(
        `Discord refuses more command changes for now (rate limit; the daily limit is 200 new commands per server). ` +
          `Nothing was changed. Try again in about ${formatDuration(waitMs)}${config.guildId ? '' : ', or register to one server with DISCORD_GUILD_ID'}.`,
      );
    }
    throw err;
  } finally {
    await transport?.close();
  }
}

async function writeCommands(rest: REST, listRoute: `/${string}`, wanted: CommandJSON[], config: EaselConfig['discord']): Promise<RegisterResult> {
  const existing = (await rest.get(listRoute)) as CommandJSON[];
  const key = (c: CommandJSON) => `${(c.type as number | undefined) ?? 1}:${c.name as string}`;
  const byKey = new Map(existing.map((c) => [key(c), c]));
  const result: RegisterResult = { created: [], updated: [], unchanged: [], deleted: [], scope: config.guildId ? 'guild' : 'global' };

  for (const w of wanted) {
    const have = byKey.get(key(w));
    byKey.delete(key(w));
    if (!have) result.created.push(w.name as string);
    else if (!sameCommand(have, w)) result.updated.push(w.name as string);
    else result.unchanged.push(w.name as string);
  }
  result.deleted = [...byKey.values()].map((c) => c.name as string);
  // One bulk overwrite, only when something differs: Discord keeps the ids of commands whose name
  // stays, counts only new names against the daily create quota, and removes the stale ones.
  if (result.created.length || result.updated.length || result.deleted.length) {
    await rest.put(listRoute, { body: wanted });
  }
  return result;
}
