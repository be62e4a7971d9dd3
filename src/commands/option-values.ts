/**
 * Turning raw option values (strings from chat text, numbers from pickers) into checked parameter values,
 * with messages a person in a chat can act on: "denoise must be between 0.05 and 1.0; you gave 1.5".
 */
import { randomBytes } from 'node:crypto';
import { MAX_SEED } from '../comfy/types.ts';
import { UserError } from './errors.ts';
import type { OptionSpec, ParamValue } from './types.ts';

/** Choice lists longer than this are not spelled out in full in an error message. */
export const MAX_LISTED_CHOICES = 15;

/** Longest prompt (characters) accepted; CLIP reads only ~77 tokens anyway. */
export const MAX_TEXT_LENGTH = 2000;

/** A random seed in 0..2^53-1 (every value a JavaScript number holds exactly). */
export function randomSeed(): number {
  const b = randomBytes(8);
  const hi = b.readUInt32BE(0) & 0x1fffff; // 21 bits
  const lo = b.readUInt32BE(4);
  return hi * 0x100000000 + lo;
}

/** Numbers as people expect to read them: 1 -> "1.0" for decimal options, 0.05 stays "0.05". */
export function formatNumber(n: number, type: OptionSpec['type']): string {
  if (type === 'number' && Number.isInteger(n)) return n.toFixed(1);
  return String(n);
}

function showGiven(raw: unknown): string {
  if (typeof raw === 'string') return `"${raw.length > 60 ? `${raw.slice(0, 57)}...` : raw}"`;
  return String(raw);
}

function rangeText(spec: OptionSpec, max?: number): string {
  const lo = spec.min;
  const hi = max ?? spec.max;
  if (lo !== undefined && hi !== undefined) return `between ${formatNumber(lo, spec.type)} and ${formatNumber(hi, spec.type)}`;
  if (lo !== undefined) return `at least ${formatNumber(lo, spec.type)}`;
  if (hi !== undefined) return `at most ${formatNumber(hi, spec.type)}`;
  return '';
}

/** Lowercase, "dpm++ 2m" -> "dpmpp_2m": how people type sampler names. */
export function normalizeChoice(s: string): string {
  return s
    .trim()
    .toLowerCase()
    .replace(/\+\+/g, 'pp')
    .replace(/[\s-]+/g, '_');
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The closest name within a few edits, for "did you mean ...?". */
export function closest(given: string, names: readonly string[]): string | undefined {
  const g = normalizeChoice(given);
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = editDistance(g, normalizeChoice(n));
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(g.length / 3)) ? best : undefined;
}

/** Find a choice by value or display name, ignoring case, spaces/underscores/dashes and "++" vs "pp". */
export function matchChoice(spec: OptionSpec, raw: string): string | undefined {
  const n = normalizeChoice(raw);
  for (const c of spec.choices ?? []) {
    if (normalizeChoice(c.value) === n || normalizeChoice(c.name) === n) return c.value;
  }
  return undefined;
}

/**
 * Check one value against its option. `maxOverride` is the configured limit (limits.maxSteps, ...).
 * Throws UserError('bad_option', ...) with a friendly message.
 */
export function coerceOption(spec: OptionSpec, raw: unknown): ParamValue {
  const bad = (message: string): never => {
    throw new UserError('bad_option', message);
  };
  switch (spec.type) {
    case 'integer':
    case 'number': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && raw.trim() !== '' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?x?$/i.test(raw.trim()))
        n = Number(raw.trim().replace(/x$/i, ''));
      else n = NaN;
      const range = rangeText(spec);
      const whole = spec.type === 'integer' ? 'a whole number' : 'a number';
      if (!Number.isFinite(n)) bad(`${spec.name} must be ${whole}${range ? ` ${range}` : ''}; you gave ${showGiven(raw)}`);
      if (spec.type === 'integer' && !Number.isInteger(n)) bad(`${spec.name} must be a whole number${range ? ` ${range}` : ''}; you gave ${showGiven(raw)}`);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        if (spec.type === 'integer') bad(`${spec.name} must be a whole number ${range}; you gave ${showGiven(raw)}`);
        bad(`${spec.name} must be ${range}; you gave ${showGiven(raw)}`);
      }
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      const s = String(raw).trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(s)) return true;
      if (['false', 'no', 'off', '0'].includes(s)) return false;
      return bad(`${spec.name} must be yes or no; you gave ${showGiven(raw)}`);
    }
    case 'choice': {
      const s = String(raw);
      const hit = matchChoice(spec, s);
      if (hit !== undefined) return hit;
      const names = (spec.choices ?? []).map((c) => c.value);
      const starts = names.filter((n) => normalizeChoice(n).startsWith(normalizeChoice(s)));
      const guess = starts.length === 1 ? starts[0] : closest(s, names);
      const hint = guess ? ` (did you mean ${guess}?)` : '';
      if (names.length <= MAX_LISTED_CHOICES) return bad(`${spec.name} must be one of: ${names.join(', ')}; you gave ${showGiven(raw)}${hint}`);
      // A long list (41 samplers) would bury the answer: show the likely ones and say how many there are.
      const stem = normalizeChoice(s).slice(0, 3);
      const likely = [guess, ...names.filter((n) => stem && normalizeChoice(n).startsWith(stem)), spec.default, ...names]
        .filter((n, i, all): n is string => typeof n === 'string' && names.includes(n) && all.indexOf(n) === i)
        .slice(0, 8);
      return bad(`${spec.name} must be one of its ${names.length} choices, such as ${likely.join(', ')}; you gave ${showGiven(raw)}${hint}`);
    }
    case 'string': {
      if (typeof raw !== 'string' && typeof raw !== 'number') bad(`${spec.name} must be text; you gave ${showGiven(raw)}`);
      const s = cleanText(String(raw));
      if (s.length > MAX_TEXT_LENGTH) bad(`${spec.name} is too long (${s.length} characters); at most ${MAX_TEXT_LENGTH} are allowed`);
      return s;
    }
  }
}

/**
 * Text as a prompt keeps it: control characters (NUL, U+0085 NEXT LINE, ...), line and paragraph
 * separators and bidirectional overrides become spaces, broken surrogate halves become U+FFFD, and
 * runs of whitespace one space. Joiners and variation selectors stay (emoji need them).
 */
export function cleanText(text: string): string {
  return text
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Seed text people use for "pick one for me". */
export function isRandomSeedWord(raw: unknown): boolean {
  return raw === -1 || (typeof raw === 'string' && ['random', 'rand', 'any', '-1', '?'].includes(raw.trim().toLowerCase()));
}

export { MAX_SEED };
