/**
 * Bolt (and its Web API / Socket Mode clients) log through this adapter into Easel's pino logger,
 * so Slack chatter follows Easel's log level and redaction. Without a pino logger, only errors are
 * written (to stderr), which keeps tests quiet.
 */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from 'pino';

export function boltLogger(logger?: Logger): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  let name = 'slack';
  const out = (kind: 'debug' | 'info' | 'warn' | 'error', msg: unknown[]) => {
    const text = msg.map((m) => (m instanceof Error ? m.message : typeof m === 'string' ? m : safeJson(m))).join(' ');
    if (logger) logger[kind]({ component: name }, text);
    else if (kind === 'error') process.stderr.write(`[${name}] ${text}\n`);
  };
  return {
    debug: (...msg) => out('debug', msg),
    info: (...msg) => out('info', msg),
    warn: (...msg) => out('warn', msg),
    error: (...msg) => out('error', msg),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: (n) => {
      name = n;
    },
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}
