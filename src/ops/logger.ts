/**
 * Structured logs (pino, JSON lines). Secrets are kept out twice over: pino's redact removes the
 * fields where secrets live (tokens, passwords, auth headers), and every finished line is scrubbed
 * of the configured secret values wherever they appear (messages, error texts, URLs).
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
  return pino(
    {
      level: config.log.level,
      base: { service: 'easel', ...opts.base },
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: { streamWrite: scrub },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination,
  );
}

/** A child logger whose every line carries the job's id and command. */
export function jobLogger(logger: Logger, job: Pick<JobRecord, 'id' | 'command'> & Partial<Pick<JobRecord, 'actor'>>): Logger {
  return logger.child({ jobId: job.id, command: job.command, ...(job.actor ? { platform: job.actor.platform } : {}) });
}
