/**
 * Checks one layer of raw configuration (parsed YAML, values from environment variables, or
 * programmatic overrides) against the schema: coerces strings from the environment to numbers and
 * booleans, reports unknown keys with a did-you-mean, and returns the cleaned value.
 * Problems read like `limits.queueCap: must be a whole number >= 1, got "lots"`.
 */
import { didYouMean } from './did-you-mean.ts';
import type { Spec } from './schema.ts';

export interface ValidationContext {
  problems: string[];
  /** How to name a key in messages (e.g. add the environment variable it came from). */
  label?: (path: string) => string;
}

export function validateLayer(raw: unknown, spec: Spec, ctx: ValidationContext, path = ''): unknown {
  return check(raw, spec, path, ctx);
}

function report(ctx: ValidationContext, path: string, message: string): void {
  const name = ctx.label ? ctx.label(path) : path;
  ctx.problems.push(name ? `${name}: ${message}` : message);
}

/** How a wrong value is shown: quoted strings, plain numbers, "a list" / "an object"; secrets hidden. */
export function describeValue(value: unknown, secret = false): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map of keys';
  if (secret) return `a ${typeof value} (value hidden)`;
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  return String(value);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
};

function toNumber(value: unknown, unit?: 'bytes'): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().replace(/_/g, '');
  if (/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return Number(text);
  if (unit === 'bytes') {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text);
    if (m && BYTE_UNITS[m[2].toLowerCase()]) return Math.round(Number(m[1]) * BYTE_UNITS[m[2].toLowerCase()]);
  }
  return undefined;
}

function rangeText(min?: number, max?: number): string {
  if (min !== undefined && max !== undefined) return ` between ${min} and ${max}`;
  if (min !== undefined) return ` >= ${min}`;
  if (max !== undefined) return ` <= ${max}`;
  return '';
}

function check(raw: unknown, spec: Spec, path: string, ctx: ValidationContext): unknown {
  switch (spec.kind) {
    case 'int':
    case 'number': {
      const n = toNumber(raw, spec.kind === 'int' ? spec.unit : undefined);
      const whole = spec.kind === 'int';
      const ok = n !== undefined && (!whole || Number.isInteger(n)) && (spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max);
      if (!ok) {
        const unitHint = spec.kind === 'int' && spec.unit === 'bytes' ? ' (bytes, or with a unit like "25 MiB")' : '';
        report(ctx, path, `must be ${whole ? 'a whole number' : 'a number'}${rangeText(spec.min, spec.max)}${unitHint}, got ${describeValue(raw)}`);
        return undefined;
      }
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string') {
        const t = raw.trim().toLowerCase();
        if (['true', 'yes', 'on', '1'].includes(t)) return true;
        if (['false', 'no', 'off', '0'].includes(t)) return false;
      }
      report(ctx, path, `must be true or false, got ${describeValue(raw)}`);
      return undefined;
    }
    case 'string': {
      if (typeof raw === 'number' && !spec.secret) raw = String(raw);
      if (typeof raw !== 'string') {
        report(ctx, path, `must be text, got ${describeValue(raw, spec.secret)}`);
        return undefined;
      }
      if (spec.nonEmpty && raw.trim() === '') {
        report(ctx, path, 'must not be empty');
        return undefined;
      }
      if (spec.pattern && !spec.pattern.test(raw)) {
        report(ctx, path, `must be ${spec.patternHint ?? `text matching ${spec.pattern}`}, got ${describeValue(raw, spec.secret)}`);
        return undefined;
      }
      return raw;
    }
    case 'url': {
      const kinds = spec.protocols.includes('http:') ? 'an http(s)' : `a ${spec.protocols.map((p) => `${p}//`).join(' or ')}`;
      let parsed: URL | undefined;
      if (typeof raw === 'string') {
        try {
          parsed = new URL(raw.trim());
        } catch {
          parsed = undefined;
        }
      }
      if (!parsed || !spec.protocols.includes(parsed.protocol)) {
        const shown = spec.secret && typeof raw === 'string' ? redactUrl(raw) : describeValue(raw);
        report(ctx, path, `${shown} is not ${kinds} URL`);
        return undefined;
      }
      return (raw as string).trim();
    }
    case 'enum': {
      if (typeof raw === 'string' && spec.values.includes(raw.trim())) return raw.trim();
      const hint = typeof raw === 'string' ? didYouMean(raw.trim(), spec.values) : undefined;
      report(ctx, path, `must be one of ${spec.values.join(', ')}, got ${describeValue(raw)}${hint ? ` (did you mean "${hint}"?)` : ''}`);
      return undefined;
    }
    case 'regex': {
      if (typeof raw !== 'string') {
        report(ctx, path, `must be a regular expression as text, got ${describeValue(raw)}`);
        return undefined;
      }
      try {
        new RegExp(raw, 'i');
      } catch (err) {
        report(ctx, path, `is not a valid regular expression (${(err as Error).message.replace(/^Invalid regular expression: /, '')})`);
        return undefined;
      }
      return raw;
    }
    case 'list': {
      if (raw === null || raw === undefined) return [];
      if (!Array.isArray(raw)) {
        report(ctx, path, `must be a list, got ${describeValue(raw)}`);
        return undefined;
      }
      const out: unknown[] = [];
      raw.forEach((item, i) => {
        const v = check(item, spec.item, `${path}[${i}]`, ctx);
        if (v !== undefined) out.push(v);
      });
      return out;
    }
    case 'map': {
      if (raw === null || raw === undefined) return {};
      if (typeof raw !== 'object' || Array.isArray(raw)) {
        report(ctx, path, `must be a map of keys, got ${describeValue(raw)}`);
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (spec.keys && !spec.keys.includes(k)) {
          const hint = didYouMean(k, spec.keys);
          report(ctx, join(path, k), `unknown ${path.endsWith('commands') ? 'command' : 'key'}${hint ? ` (did you mean "${hint}"?)` : ''}; known: ${spec.keys.join(', ')}`);
          continue;
        }
        const value = check(v, spec.value, join(path, k), ctx);
        if (value !== undefined) out[k] = value;
      }
      return out;
    }
    case 'object':
      return checkObject(raw, spec, path, ctx);
    case 'union': {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        report(ctx, path, `must be a map with "${spec.tag}: ${Object.keys(spec.variants).join(' | ')}", got ${describeValue(raw)}`);
        return undefined;
      }
      const tag = (raw as Record<string, unknown>)[spec.tag];
      const variant = typeof tag === 'string' ? spec.variants[tag] : undefined;
      if (!variant) {
        const names = Object.keys(spec.variants);
        const hint = typeof tag === 'string' ? didYouMean(tag, names) : undefined;
        report(ctx, join(path, spec.tag), `must be one of ${names.join(', ')}, got ${describeValue(tag)}${hint ? ` (did you mean "${hint}"?)` : ''}`);
        return undefined;
      }
      const withTag = { ...variant, fields: { ...variant.fields, [spec.tag]: { kind: 'string' } as Spec } };
      return checkObject(raw, withTag, path, ctx);
    }
  }
}

function checkObject(
  raw: unknown,
  spec: { fields: Record<string, Spec>; required?: readonly string[]; fromString?: string },
  path: string,
  ctx: ValidationContext,
): Record<string, unknown> | undefined {
  if (raw === null || raw === undefined) return {};
  if (typeof raw === 'string' && spec.fromString) raw = { [spec.fromString]: raw };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    report(ctx, path, `must be a map of keys, got ${describeValue(raw)}`);
    return undefined;
  }
  const known = Object.keys(spec.fields);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const field = spec.fields[k];
    if (!field) {
      const hint = didYouMean(k, known);
      report(
        ctx,
        join(path, k),
        `unknown key${hint ? ` (did you mean "${join(path, hint)}"?)` : known.length ? `; known keys here: ${known.join(', ')}` : ''}`,
      );
      continue;
    }
    if (v === undefined) continue;
    const value = check(v, field, join(path, k), ctx);
    if (value !== undefined) out[k] = value;
  }
  for (const req of spec.required ?? []) {
    if ((raw as Record<string, unknown>)[req] === undefined || (raw as Record<string, unknown>)[req] === null) {
      report(ctx, join(path, req), 'is required');
    }
  }
  return out;
}

/** A URL with its password replaced, for messages. */
export function redactUrl(text: string): string {
  try {
    const u = new URL(text);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(value hidden)';
  }
}
