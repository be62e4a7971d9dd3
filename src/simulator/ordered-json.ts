/**
 * JSON the way ComfyUI's Python server reads and writes it.
 *
 * - parseOrdered keeps the source order of object keys (JavaScript objects sort integer-like keys such as
 *   node ids "3", "10" ahead of others; Python dicts keep insertion order, and ComfyUI reports cached nodes
 *   and node errors in prompt order). The order is kept in a hidden symbol property; keysOf() reads it.
 * - pyJson writes like Python's json.dumps defaults: ", " and ": " separators, non-ASCII escaped, and the
 *   unsigned 64-bit seed maximum printed exactly (18446744073709551615), as the real server does.
 * - Python tells 8 from 8.0 and prints each as it holds it; JavaScript cannot. parseOrdered remembers which
 *   members were written as floats (a hidden set per object/array), cloneOrdered copies that, markFloat()
 *   sets it for values built in code, and pyJson prints those members as Python floats ("8.0", "1e-05").
 */
import { pyFloat } from './py-format.ts';

const ORDER = Symbol('keyOrder');
const FLOATS = Symbol('floatMembers');

type Obj = Record<string, unknown> & { [ORDER]?: string[]; [FLOATS]?: Set<string> };

function floatSet(container: object, create: boolean): Set<string> | undefined {
  const c = container as Obj;
  if (!c[FLOATS] && create) Object.defineProperty(c, FLOATS, { value: new Set<string>(), enumerable: false, writable: true });
  return c[FLOATS];
}

/** Say whether member `key` (an object key or array index) of `container` holds a Python float. */
export function markFloat(container: object, key: string | number, isFloat = true): void {
  if (isFloat) floatSet(container, true)!.add(String(key));
  else floatSet(container, false)?.delete(String(key));
}

/** True when member `key` of `container` is held as a Python float. */
export function isFloatMember(container: object, key: string | number): boolean {
  return floatSet(container, false)?.has(String(key)) ?? false;
}

function copyFloatMarks(from: object, to: object): void {
  const marks = floatSet(from, false);
  if (marks && marks.size > 0) for (const k of marks) markFloat(to, k);
}

export function keysOf(obj: object): string[] {
  const order = (obj as Obj)[ORDER];
  const own = Object.keys(obj);
  if (!order) return own;
  const out = order.filter((k) => Object.prototype.hasOwnProperty.call(obj, k));
  if (out.length !== own.length) {
    // keys added by plain assignment go last, like a Python dict insertion
    const known = new Set(out);
    for (const k of own) if (!known.has(k)) out.push(k);
  }
  return out;
}

/** Make a plain object whose key order is remembered (for objects built in code). */
export function orderedObject(entries: Array<[string, unknown]>): Record<string, unknown> {
  const o: Obj = {};
  const order: string[] = [];
  for (const [k, v] of entries) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) order.push(k);
    o[k] = v;
  }
  Object.defineProperty(o, ORDER, { value: order, enumerable: false, writable: true });
  return o;
}

/** Set a key on an ordered object, appending it to the order if new. */
export function setOrdered(obj: Record<string, unknown>, key: string, value: unknown): void {
  const o = obj as Obj;
  if (!Object.prototype.hasOwnProperty.call(o, key)) {
    if (!o[ORDER]) Object.defineProperty(o, ORDER, { value: Object.keys(o), enumerable: false, writable: true });
    o[ORDER]!.push(key);
  }
  o[key] = value;
}

/** Deep copy keeping key order. */
export function cloneOrdered<T>(value: T): T {
  if (Array.isArray(value)) {
    const out = value.map((v) => cloneOrdered(v));
    copyFloatMarks(value, out);
    return out as T;
  }
  if (value !== null && typeof value === 'object') {
    const out = orderedObject(keysOf(value).map((k) => [k, cloneOrdered((value as Record<string, unknown>)[k])]));
    copyFloatMarks(value, out);
    return out as T;
  }
  return value;
}

export class JsonSyntaxError extends Error {}

export function parseOrdered(text: string): unknown {
  let i = 0;
  const n = text.length;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at position ${i}`);
  };
  const parseString = (): string => {
    // text[i] === '"'
    const start = i + 1;
    let j = start;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 34) break;
      if (c === 92) {
        // has escapes: fall back to JSON.parse for the whole token
        let k = j;
        while (k < n) {
          const d = text.charCodeAt(k);
          if (d === 92) k += 2;
          else if (d === 34) break;
          else k++;
        }
        if (k >= n) fail('Unterminated string');
        const s = JSON.parse(text.slice(i, k + 1)) as string;
        i = k + 1;
        return s;
      }
      if (c < 32) fail('Bad control character in string');
      j++;
    }
    if (j >= n) fail('Unterminated string');
    i = j + 1;
    return text.slice(start, j);
  };
  const numberRe = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  /** Whether the number just parsed was written as a float (Python's json makes those floats). */
  let lastFloat = false;
  const parseValue = (depth: number): unknown => {
    lastFloat = false;
    if (depth > 5000) fail('Too deeply nested');
    ws();
    if (i >= n) fail('Unexpected end of JSON input');
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: Array<[string, unknown]> = [];
      const floatKeys: string[] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return orderedObject(entries);
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('Expected property name');
        const key = parseString();
        ws();
        if (text[i] !== ':') fail("Expected ':'");
        i++;
        const v = parseValue(depth + 1);
        entries.push([key, v]);
        if (typeof v === 'number' && lastFloat) floatKeys.push(key);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          const o = orderedObject(entries);
          for (const k of floatKeys) markFloat(o, k);
          return o;
        }
        fail("Expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        const v = parseValue(depth + 1);
        if (typeof v === 'number' && lastFloat) markFloat(arr, arr.length);
        arr.push(v);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail("Expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    // Python's json also accepts NaN / Infinity
    if (text.startsWith('NaN', i)) {
      i += 3;
      return NaN;
    }
    if (text.startsWith('Infinity', i)) {
      i += 8;
      return Infinity;
    }
    if (text.startsWith('-Infinity', i)) {
      i += 9;
      return -Infinity;
    }
    numberRe.lastIndex = i;
    const m = numberRe.exec(text);
    if (!m) fail('Unexpected token');
    i += m![0].length;
    lastFloat = /[.eE]/.test(m![0]);
    return Number(m![0]);
  };
  const v = parseValue(0);
  ws();
  if (i < n) fail('Extra data');
  return v;
}

const U64_MAX_AS_DOUBLE = 18446744073709551615;

function escapeString(s: string): string {
  let out = '"';
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 34) out += '\\"';
    else if (c === 92) out += '\\\\';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c < 32 || c > 126) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += s[k];
  }
  return out + '"';
}

function numberText(v: number, isFloat = false): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (isFloat) return pyFloat(v);
  if (v === U64_MAX_AS_DOUBLE) return '18446744073709551615';
  return String(v);
}

/** Serialise like Python's json.dumps (default separators, ensure_ascii). */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return escapeString(value);
    case 'number':
      return numberText(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      const floats = floatSet(value, false);
      const member = (v: unknown, k: string) => (typeof v === 'number' && floats?.has(k) ? numberText(v, true) : pyJson(v));
      if (Array.isArray(value)) return '[' + value.map((v, k) => member(v, String(k))).join(', ') + ']';
      if (Buffer.isBuffer(value)) return 'null';
      const keys = keysOf(value);
      const parts: string[] = [];
      for (const k of keys) {
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined || typeof v === 'function') continue;
        parts.push(escapeString(k) + ': ' + member(v, k));
      }
      return '{' + parts.join(', ') + '}';
    }
    default:
      return 'null';
  }
}
