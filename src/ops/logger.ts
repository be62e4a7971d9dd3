/**
 * Structured logs (pino, JSON lines). Secrets are kept out twice over: pino's redact removes the
 * fields where secrets live (tokens, passwords, auth headers), and every finished line is scrubbed
 * of the configured secret values wherever they appear (messages, error texts, URLs).
 * On a terminal (log.format auto) the same entries are written as short readable lines instead.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { configSecrets } from '../config/secrets.ts';
import type { EaselConfig } from '../config/types.ts';
import type { JobRecord } from '../jobs/types.ts';

export const REDACTED = '[redacted]';

/** Field names that hold secrets wherever they appear (top level and one or two levels down). */
const SECRET_FIELDS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'password',
  'authorization',
  'Authorization',
  'cookie',
  'redisUrl',
  '"x-api-key"',
  '"x-slack-signature"',
];

export const REDACT_PATHS: string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `*.*.${f}`),
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'auth.value',
  '*.auth.value',
  'hosts[*].auth',
  'config.hosts[*].auth',
  'config.discord.token',
];

export interface CreateLoggerOptions {
  /** Where lines go (default stdout). Tests pass a stream to capture them. */
  destination?: DestinationStream;
  /** Is the output a terminal (decides log.format auto)? Default: process.stdout.isTTY when writing to stdout. */
  isTTY?: boolean;
  /** Extra fields on every line. */
  base?: Record<string, unknown>;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A function that replaces every secret (raw, and as it looks inside a JSON string) with [redacted]. */
export function secretScrubber(secrets: string[]): (line: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
    forms.add(encodeURIComponent(s));
  }
  if (forms.size === 0) return (line) => line;
  // Longest first so a secret that contains another is replaced whole.
  const pattern = new RegExp([...forms].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
  return (line) => line.replace(pattern, REDACTED);
}

/**
 * The application logger. `secrets` defaults to every secret in `config`; pass more (e.g. a token
 * read elsewhere) to scrub those too.
 */
export function createLogger(config: Pick<EaselConfig, 'log'> & Partial<EaselConfig>, secrets?: string[], opts: CreateLoggerOptions = {}): Logger {
  const all = [...(secrets ?? []), ...(config.hosts && config.discord && config.slack && config.store ? configSecrets(config as EaselConfig) : [])];
  const scrub = secretScrubber(all);
  const format = config.log.format ?? 'auto';
  const tty = opts.isTTY ?? (opts.destination ? false : Boolean(process.stdout.isTTY));
  const pretty = format === 'pretty' || (format === 'auto' && tty);
  let destination = opts.destination;
  if (pretty) {
    // Synchronous on stdout, so lines and the start-up banner appear in the order they were written.
    const target = opts.destination ?? pino.destination({ dest: 1, sync: true });
    const color = tty && !process.env.NO_COLOR;
    destination = { write: (line: string) => target.write(prettyLine(line, { color })) };
  }
  return pino(
    {
      level: config.log.level,
      base: { service: 'easel', ...opts.base },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: scrub },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

const LEVEL_COLOURS: Record<string, string> = { trace: '90', debug: '90', info: '36', warn: '33', error: '31', fatal: '31' };
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

/** One JSON log line as a short readable one: `14:02:07 INFO  job done · jobId=… command=restyle`. */
export function prettyLine(jsonLine: string, opts: { color?: boolean } = {}): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  const paint = (code: string, text: string) => (opts.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const level = String(entry.level ?? 'info');
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : new Date().toISOString().slice(11, 19);
  const fields: string[] = [];
  let stack = '';
  for (const [k, v] of Object.entries(entry)) {
    if (HIDDEN_FIELDS.has(k) || v === undefined) continue;
    if (k === 'err' && v && typeof v === 'object') {
      const err = v as { message?: string; stack?: string };
      fields.push(`err=${fieldText(err.message ?? '')}`);
      if (err.stack && (level === 'error' || level === 'fatal')) stack = `\n${err.stack.split('\n').slice(1).join('\n')}`;
      continue;
    }
    fields.push(`${k}=${fieldText(v)}`);
  }
  const head = `${paint('2', time)} ${paint(LEVEL_COLOURS[level] ?? '0', level.toUpperCase().padEnd(5))} ${String(entry.msg ?? '')}`;
  return `${head}${fields.length ? paint('2', ` · ${fields.join(' ')}`) : ''}${stack}\n`;
}

/** A child logger whose every line carries the job's id and command. */
export function jobLogger(logger: Logger, job: Pick<JobRecord, 'id' | 'command'> & Partial<Pick<JobRecord, 'actor'>>): Logger {
  return logger.child({ jobId: job.id, command: job.command, ...(job.actor ? { platform: job.actor.platform } : {}) });
}
