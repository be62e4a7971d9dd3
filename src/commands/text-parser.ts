/**
 * Options from free text, for Slack slash commands and typed messages:
 *   oil painting denoise 0.6 seed 42          -> { style: 'oil painting', denoise: 0.6, seed: 42 }
 *   "a cat on a roof" --steps 30 cfg=9        -> { prompt: 'a cat on a roof', steps: 30, cfg: 9 }
 *   a cat negative blurry, text denoise 0.5   -> { prompt: 'a cat', negative: 'blurry, text', denoise: 0.5 }
 *   2x                                        -> { scale: 2 }           (commands with a scale option)
 * A bare option name only counts when a fitting value follows (so "a cat with steps" stays a prompt).
 * Text options (prompt, negative) written bare take the words up to the next option.
 */
import { UserError } from './errors.ts';
import { closest, editDistance, matchChoice, normalizeChoice } from './option-values.ts';
import type { OptionSpec } from './types.ts';

/** Other names people use for options. */
export const OPTION_ALIASES: Record<string, string> = {
  neg: 'negative',
  negative_prompt: 'negative',
  negativeprompt: 'negative',
  strength: 'denoise',
  denoising: 'denoise',
  sampler_name: 'sampler',
  n: 'count',
  number: 'count',
  batch: 'count',
  guidance: 'cfg',
  cfg_scale: 'cfg',
  factor: 'scale',
  blend_factor: 'blend',
  mix: 'blend',
  w: 'width',
  h: 'height',
};

interface Token {
  text: string;
  quoted: boolean;
}

const QUOTES: Record<string, string> = { '"': '"', "'": "'", '“': '”', '‘': '’', '«': '»' };

/** Split on spaces, keeping "quoted parts" together (also inside key="a b"). */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let cur = '';
  let quote: string | undefined;
  let hadQuote = false;
  let hadPlain = false;
  const push = () => {
    if (cur || hadQuote) tokens.push({ text: cur, quoted: hadQuote && !hadPlain });
    cur = '';
    hadQuote = false;
    hadPlain = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
      continue;
    }
    // An apostrophe inside a word (don't) is not a quote; an unmatched quote is a plain character.
    const opens = ch in QUOTES && (ch !== "'" || cur === '' || /[=:]$/.test(cur)) && text.indexOf(QUOTES[ch], i + 1) !== -1;
    if (opens) {
      quote = QUOTES[ch];
      hadQuote = true;
      continue;
    }
    if (/\s/.test(ch)) {
      push();
      continue;
    }
    hadPlain = true;
    cur += ch;
  }
  push();
  return tokens;
}

export function canonicalKey(key: string, options: OptionSpec[]): string | undefined {
  const k = key.toLowerCase().replace(/-/g, '_');
  const name = OPTION_ALIASES[k] ?? k;
  return options.some((o) => o.name === name) ? name : undefined;
}

function looksNumeric(s: string): boolean {
  return /^[+-]?(\d+\.?\d*|\.\d+)x?$/i.test(s);
}

function toValue(spec: OptionSpec, s: string): unknown {
  if ((spec.type === 'number' || spec.type === 'integer') && looksNumeric(s)) return Number(s.replace(/x$/i, ''));
  if (spec.type === 'choice') return matchChoice(spec, s) ?? s;
  return s;
}

/**
 * How many tokens starting at `i` make a value for `spec` (0: none fits).
 * Choices may span several words ("oil painting", "dpm++ 2m").
 */
function valueSpan(spec: OptionSpec, tokens: Token[], i: number): number {
  const t = tokens[i];
  if (!t) return 0;
  switch (spec.type) {
    case 'integer':
    case 'number':
      return looksNumeric(t.text) || (spec.name === 'seed' && /^(random|rand|any|-1)$/i.test(t.text)) ? 1 : 0;
    case 'boolean':
      return /^(true|false|yes|no|on|off|1|0)$/i.test(t.text) ? 1 : 0;
    case 'choice': {
      for (let n = Math.min(4, tokens.length - i); n >= 1; n--) {
        const words = tokens.slice(i, i + n).map((x) => x.text).join(' ');
        if (matchChoice(spec, words) !== undefined) return n;
      }
      return t.quoted ? 1 : 0;
    }
    case 'string':
      return 1;
  }
}

/**
 * Words after an option's name that look like a misspelt choice ("style watercolr"): how many tokens
 * to take as the (wrong) value, so the option's own check refuses it with "did you mean". 0: none.
 */
function misspeltChoiceSpan(spec: OptionSpec, tokens: Token[], i: number): number {
  if (spec.type !== 'choice' || !spec.choices?.length) return 0;
  const names = spec.choices.flatMap((c) => [c.value, c.name]);
  for (let n = Math.min(4, tokens.length - i); n >= 1; n--) {
    const part = tokens.slice(i, i + n);
    if (part.some((t) => t.quoted)) continue;
    if (closest(part.map((t) => t.text).join(' '), names) !== undefined) return n;
  }
  return 0;
}

/**
 * Free text that is nothing but a near-miss of a choice ("watercolr", "oil paintng"): a typo, not a
 * prompt. Stricter than "did you mean" so that real one-word prompts ("noir") stay prompts.
 */
function isNearMiss(spec: OptionSpec, text: string): boolean {
  const t = normalizeChoice(text);
  if (t.length < 5 || matchChoice(spec, text) !== undefined) return false;
  const allowed = t.length >= 9 ? 2 : 1;
  return (spec.choices ?? []).some((c) => editDistance(t, normalizeChoice(c.value)) <= allowed || editDistance(t, normalizeChoice(c.name)) <= allowed);
}

const FLAG = /^--?([a-z][a-z0-9_-]*)(?:=(.*))?$/i;
const KEYVAL = /^([a-z][a-z0-9_-]*)[=:](.*)$/i;

/** Parse `text` against a command's options. Unknown `--flags` / `key=value` throw UserError('bad_option'). */
export function parseOptionsText(text: string, options: OptionSpec[], commandLabel: string): Record<string, unknown> {
  const tokens = tokenize(text);
  const out: Record<string, unknown> = {};
  const free: Token[] = [];
  const byName = (name: string) => options.find((o) => o.name === name)!;
  const unknown = (key: string): never => {
    const names = options.map((o) => o.name);
    const guess = closest(key, [...names, ...Object.keys(OPTION_ALIASES)]);
    const hint = guess ? ` (did you mean ${OPTION_ALIASES[guess] ?? guess}?)` : '';
    throw new UserError('bad_option', `${commandLabel} has no option "${key}"${hint}; its options are: ${names.join(', ')}`);
  };

  /** Does an option start at token i? Returns [name, value, tokens used] or undefined. */
  const optionAt = (i: number): [string, unknown, number] | undefined => {
    const t = tokens[i];
    if (t.quoted) return undefined;
    const flag = FLAG.exec(t.text);
    if (flag && !looksNumeric(t.text)) {
      const name = canonicalKey(flag[1], options) ?? unknown(flag[1]);
      const spec = byName(name);
      if (flag[2] !== undefined) return [name, toValue(spec, flag[2]), 1];
      if (spec.type === 'string') return [name, '\u0000rest', 1];
      const span = valueSpan(spec, tokens, i + 1);
      if (span === 0) {
        if (spec.type === 'boolean') return [name, true, 1];
        const next = tokens[i + 1]?.text;
        if (next === undefined) throw new UserError('bad_option', `--${flag[1]} needs a value`);
        return [name, toValue(spec, next), 2];
      }
      return [name, toValue(spec, tokens.slice(i + 1, i + 1 + span).map((x) => x.text).join(' ')), 1 + span];
    }
    const kv = KEYVAL.exec(t.text);
    if (kv && !/^https?:/i.test(t.text)) {
      const name = canonicalKey(kv[1], options);
      if (!name) {
        if (t.text.includes('=')) unknown(kv[1]);
        return undefined; // "note: something" in a prompt
      }
      const spec = byName(name);
      if (kv[2] !== '') return [name, toValue(spec, kv[2]), 1];
      if (spec.type === 'string') return [name, '\u0000rest', 1];
      const span = valueSpan(spec, tokens, i + 1);
      if (span === 0) {
        const typo = misspeltChoiceSpan(spec, tokens, i + 1);
        return typo ? [name, tokens.slice(i + 1, i + 1 + typo).map((x) => x.text).join(' '), 1 + typo] : undefined;
      }
      return [name, toValue(spec, tokens.slice(i + 1, i + 1 + span).map((x) => x.text).join(' ')), 1 + span];
    }
    const name = canonicalKey(t.text, options);
    if (!name) return undefined;
    const spec = byName(name);
    if (spec.type === 'string') return tokens[i + 1] ? [name, '\u0000rest', 1] : undefined;
    const span = valueSpan(spec, tokens, i + 1);
    if (span === 0) {
      // "style watercolr": the option was named, so a misspelt value is refused, not read as a prompt.
      const typo = misspeltChoiceSpan(spec, tokens, i + 1);
      return typo ? [name, tokens.slice(i + 1, i + 1 + typo).map((x) => x.text).join(' '), 1 + typo] : undefined;
    }
    return [name, toValue(spec, tokens.slice(i + 1, i + 1 + span).map((x) => x.text).join(' ')), 1 + span];
  };

  let i = 0;
  while (i < tokens.length) {
    const hit = optionAt(i);
    if (!hit) {
      free.push(tokens[i]);
      i++;
      continue;
    }
    const [name, value, used] = hit;
    i += used;
    if (value === '\u0000rest') {
      // A bare text option takes the words up to the next option.
      const words: string[] = [];
      while (i < tokens.length && !optionAt(i)) words.push(tokens[i++].text);
      if (words.length === 0) throw new UserError('bad_option', `${name} needs some text after it`);
      out[name] = words.join(' ');
    } else {
      out[name] = value;
      // "sampler dpm++ 2m karras": a scheduler right after the sampler.
      const scheduler = options.find((o) => o.name === 'scheduler');
      if (name === 'sampler' && scheduler && out.scheduler === undefined && i < tokens.length && !tokens[i].quoted) {
        const hit = matchChoice(scheduler, tokens[i].text);
        if (hit !== undefined) {
          out.scheduler = hit;
          i++;
        }
      }
    }
  }

  // Free words: a leading style name ("watercolor a cat"), a scale like "2x", the rest is the prompt.
  let rest = free;
  const style = options.find((o) => o.name === 'style' && o.type === 'choice');
  if (style && out.style === undefined && rest.length > 0 && !rest[0].quoted) {
    const span = valueSpan(style, rest, 0);
    if (span > 0 && !rest.slice(0, span).some((t) => t.quoted)) {
      out.style = matchChoice(style, rest.slice(0, span).map((t) => t.text).join(' '));
      rest = rest.slice(span);
    } else if (rest.length <= 4 && !rest.some((t) => t.quoted) && out.prompt === undefined && isNearMiss(style, rest.map((t) => t.text).join(' '))) {
      // The whole text is a misspelt style ("watercolr"): passed on as the style, whose check says "did you mean".
      out.style = rest.map((t) => t.text).join(' ');
      rest = [];
    }
  }
  if (options.some((o) => o.name === 'scale') && out.scale === undefined) {
    const k = rest.findIndex((t) => !t.quoted && /^\d+(\.\d+)?x$/i.test(t.text));
    if (k !== -1) {
      out.scale = Number(rest[k].text.slice(0, -1));
      rest = rest.filter((_, j) => j !== k);
    }
  }
  if (rest.length > 0) {
    const textOut = rest.map((t) => t.text).join(' ').trim();
    if (textOut) {
      if (out.prompt !== undefined) out.prompt = `${textOut} ${String(out.prompt)}`.trim();
      else if (options.some((o) => o.name === 'prompt')) out.prompt = textOut;
      else throw new UserError('bad_option', `${commandLabel} does not take a prompt; I could not read "${textOut}"`);
    }
  }
  return out;
}

export { normalizeChoice };
