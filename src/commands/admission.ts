/**
 * Admission policy: who may run which command where, blocked words and patterns in prompts,
 * and per-channel defaults (an extra negative prompt, spoilered results). Applied to every new job
 * and every rerun before it is queued.
 */
import type { PolicyConfig } from '../config/types.ts';
import type { Actor } from '../jobs/types.ts';
import { UserError } from './errors.ts';
import type { CommandName, ResolvedParams } from './types.ts';

/** Channel key whose defaults apply everywhere (a channel's own entry adds to it). */
export const ALL_CHANNELS = '*';

const TEXT_FIELDS = ['prompt', 'negative'] as const;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** "cat" matches "Cat!" and "a cat" but not "category". Phrases ("bad word") work too. */
export function wholeWordPattern(word: string): RegExp {
  const body = word.trim().split(/\s+/).map(escapeRegExp).join('\\s+');
  return new RegExp(`(?<![\\p{L}\\p{N}_])${body}(?![\\p{L}\\p{N}_])`, 'iu');
}

/** Compile the configured patterns; an invalid one throws an Error naming it (for config validation). */
export function compileBlockedPatterns(patterns: string[]): RegExp[] {
  return patterns.map((p) => {
    try {
      return new RegExp(p, 'iu');
    } catch (err) {
      throw new Error(`policy.blockedPatterns: "${p}" is not a valid regular expression (${(err as Error).message})`);
    }
  });
}

const patternCache = new Map<string, RegExp | null>();
function cachedPattern(p: string): RegExp | null {
  if (!patternCache.has(p)) {
    try {
      patternCache.set(p, new RegExp(p, 'iu'));
    } catch {
      patternCache.set(p, null); // config validation reports it; never block everyone over a typo
    }
  }
  return patternCache.get(p)!;
}

function roleAllowed(actor: Actor, roles: string[]): boolean {
  const mine = new Set((actor.roles ?? []).map((r) => r.toLowerCase()));
  return roles.some((r) => mine.has(r.toLowerCase()));
}

/** Throws UserError('not_allowed') when the actor may not use the command here. */
export function checkCommandAllowed(command: CommandName, actor: Actor, policy: PolicyConfig): void {
  const rule = policy.commands?.[command];
  if (!rule) return;
  if (rule.enabled === false) throw new UserError('not_allowed', `/${command} is turned off on this bot.`);
  if (rule.channels && rule.channels.length > 0 && !rule.channels.includes(actor.channelId))
    throw new UserError('not_allowed', `/${command} can't be used in this channel. Ask an admin where it is allowed.`);
  if (rule.roles && rule.roles.length > 0 && !roleAllowed(actor, rule.roles))
    throw new UserError('not_allowed', `/${command} needs one of these roles: ${rule.roles.join(', ')}.`);
}

/**
 * The text as the blocked-word check reads it: compatibility forms folded (fullwidth "ｇｏｒｅ" and
 * ligatures become plain letters) and invisible format characters removed (zero-width spaces and
 * joiners, soft hyphens), so neither hides a blocked word. The prompt itself is never changed.
 */
export function textForMatching(text: string): string {
  return text.normalize('NFKC').replace(/\p{Cf}/gu, '');
}

/** Throws UserError('blocked_prompt') when prompt or negative has a blocked word or matches a blocked pattern. */
export function checkPrompt(params: ResolvedParams, policy: PolicyConfig): void {
  for (const field of TEXT_FIELDS) {
    const raw = params[field];
    if (typeof raw !== 'string' || !raw) continue;
    const text = textForMatching(raw);
    for (const word of policy.blockedWords ?? []) {
      if (word.trim() && wholeWordPattern(textForMatching(word)).test(text))
        throw new UserError('blocked_prompt', `Your ${field === 'prompt' ? 'prompt' : 'negative prompt'} contains a blocked word ("${word.trim()}"). Please rephrase it.`);
    }
    for (const p of policy.blockedPatterns ?? []) {
      const re = cachedPattern(p);
      if (re?.test(text))
        throw new UserError('blocked_prompt', `Your ${field === 'prompt' ? 'prompt' : 'negative prompt'} contains something this server does not allow. Please rephrase it.`);
    }
  }
}

/** The channel's defaults: the '*' entry, then the channel's own entry on top. */
export function channelDefaults(actor: Actor, policy: PolicyConfig): { negativePrompt?: string; spoiler: boolean } {
  const all = policy.channels?.[ALL_CHANNELS] ?? {};
  const own = policy.channels?.[actor.channelId] ?? {};
  const items: string[] = [];
  for (const text of [all.negativePrompt, own.negativePrompt]) {
    for (const item of (text ?? '').split(',').map((s) => s.trim())) {
      if (item && !items.some((x) => x.toLowerCase() === item.toLowerCase())) items.push(item);
    }
  }
  return {
    negativePrompt: items.length ? items.join(', ') : undefined,
    spoiler: own.spoiler ?? all.spoiler ?? false,
  };
}

/**
 * Admit a job: check the command rule and the prompt, then apply the channel defaults.
 * Returns new params (the channel's negative prompt appended once) and whether results are spoilered.
 */
export function admit(command: CommandName, params: ResolvedParams, actor: Actor, policy: PolicyConfig): { params: ResolvedParams; spoiler: boolean } {
  checkCommandAllowed(command, actor, policy);
  checkPrompt(params, policy);
  const defaults = channelDefaults(actor, policy);
  const out: ResolvedParams = { ...params };
  if (defaults.negativePrompt && 'negative' in out) {
    const current = typeof out.negative === 'string' ? out.negative.trim() : '';
    const missing = defaults.negativePrompt
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !current.toLowerCase().split(',').map((x) => x.trim()).includes(s.toLowerCase()));
    if (missing.length) out.negative = [current, missing.join(', ')].filter(Boolean).join(', ');
  }
  return { params: out, spoiler: defaults.spoiler };
}
