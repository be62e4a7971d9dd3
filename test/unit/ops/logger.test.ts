import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../../src/config/load-config.ts';
import { createLogger, jobLogger, prettyLine, secretScrubber } from '../../../src/ops/logger.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, destination };
}

const config = defaultConfig({
  hosts: [
    { name: 'gpu-1', url: 'http://gpu-1:8188', auth: { kind: 'bearer', token: 'comfy-bearer-7f3a' } },
    { name: 'gpu-2', url: 'http://gpu-2:8188', auth: { kind: 'header', name: 'X-Api-Key', value: 'hdr-val-91c2' } },
  ],
  discord: { token: 'MTIz.discord.token-xyz', applicationId: '123456789012345678' },
  slack: { botToken: 'xoxb-slack-bot-token', signingSecret: 'slack-signing-55aa', mode: 'http' },
  store: { redisUrl: 'redis://:redis-pass-0c0c@127.0.0.1:6379' },
});
const SECRETS = ['comfy-bearer-7f3a', 'hdr-val-91c2', 'MTIz.discord.token-xyz', 'xoxb-slack-bot-token', 'slack-signing-55aa', 'redis-pass-0c0c'];

describe('createLogger', () => {
  it('writes JSON lines with level names and the job id on child loggers', () => {
    const { lines, destination } = capture();
    const log = createLogger(config, [], { destination });
    jobLogger(log, { id: 'job-42', command: 'restyle', actor: { platform: 'playground', userId: 'u', channelId: 'c' } }).info({ step: 3 }, 'progress');
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ level: 'info', jobId: 'job-42', command: 'restyle', platform: 'playground', step: 3, msg: 'progress' });
  });

  it('never writes a configured secret, wherever it appears', () => {
    const { lines, destination } = capture();
    const log = createLogger(config, ['extra-secret-from-caller'], { destination });
    log.info({ config }, 'loaded configuration');
    log.info({ headers: { authorization: 'Bearer comfy-bearer-7f3a' }, url: 'redis://:redis-pass-0c0c@127.0.0.1:6379' }, 'request');
    log.warn(`token was ${'MTIz.discord.token-xyz'} and header hdr-val-91c2`);
    log.error(new Error('login failed for xoxb-slack-bot-token (slack-signing-55aa)'), 'slack failed');
    log.info({ nested: { deeper: { note: 'extra-secret-from-caller' } } }, 'nested');
    log.info({ encoded: encodeURIComponent('MTIz.discord.token-xyz') }, 'encoded');
    expect(lines).toHaveLength(6);
    const all = lines.join('\n');
    for (const s of [...SECRETS, 'extra-secret-from-caller']) expect(all).not.toContain(s);
    expect(all).toContain('[redacted]');
    // Non-secret details survive.
    expect(all).toContain('http://gpu-1:8188');
    expect(all).toContain('login failed for [redacted]');
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('redacts secret-named fields even for values it was not told about', () => {
    const { lines, destination } = capture();
    const log = createLogger(defaultConfig(), [], { destination });
    log.info({ token: 'unknown-token-value', auth: { password: 'pw-value-unknown' }, req: { headers: { authorization: 'Basic abc123' } } }, 'x');
    expect(lines[0]).not.toContain('unknown-token-value');
    expect(lines[0]).not.toContain('pw-value-unknown');
    expect(lines[0]).not.toContain('abc123');
  });

  it('honours the configured level', () => {
    const { lines, destination } = capture();
    const log = createLogger(defaultConfig({ log: { level: 'warn' } }), [], { destination });
    log.info('hidden');
    log.warn('shown');
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['shown']);
  });
});

describe('log formats', () => {
  it('auto writes JSON when the output is not a terminal, short readable lines when it is', () => {
    const json = capture();
    createLogger(defaultConfig(), [], { destination: json.destination, isTTY: false }).info({ jobId: 'job-7' }, 'job done');
    expect(JSON.parse(json.lines[0])).toMatchObject({ msg: 'job done', jobId: 'job-7' });

    const tty = capture();
    const log = createLogger(config, [], { destination: tty.destination, isTTY: true });
    jobLogger(log, { id: 'job-7', command: 'restyle' }).info({ host: 'gpu-1', note: 'two words' }, 'job done');
    log.warn({ headers: { authorization: 'Bearer comfy-bearer-7f3a' } }, 'refused with xoxb-slack-bot-token');
    const plain = tty.lines.map((l) => l.replace(/\u001b\[\d+m/g, ''));
    expect(plain[0]).toMatch(/^\d\d:\d\d:\d\d INFO  job done · jobId=job-7 command=restyle host=gpu-1 note="two words"$/);
    // Secrets are scrubbed before formatting.
    expect(plain[1]).toMatch(/^\d\d:\d\d:\d\d WARN  refused with \[redacted\] · headers=\{"authorization":"\[redacted\]"\}$/);
    for (const line of tty.lines) expect(() => JSON.parse(line)).toThrow();
  });

  it('log.format json or pretty overrides the terminal check', () => {
    const json = capture();
    createLogger(defaultConfig({ log: { format: 'json' } }), [], { destination: json.destination, isTTY: true }).info('x');
    expect(JSON.parse(json.lines[0]).msg).toBe('x');
    const pretty = capture();
    createLogger(defaultConfig({ log: { format: 'pretty' } }), [], { destination: pretty.destination, isTTY: false }).info('y');
    expect(pretty.lines[0]).toMatch(/^\d\d:\d\d:\d\d INFO  y$/);
  });

  it('shows an error with its message, and its stack at error level', () => {
    const err = new Error('disk full');
    const line = prettyLine(JSON.stringify({ level: 'error', time: '2026-01-02T03:04:05.000Z', msg: 'store failed', err: { type: 'Error', message: err.message, stack: err.stack } }));
    expect(line.split('\n')[0]).toBe('03:04:05 ERROR store failed · err="disk full"');
    expect(line).toContain('at ');
    expect(prettyLine('not json')).toBe('not json\n');
  });
});

describe('secretScrubber', () => {
  it('replaces secrets with quotes and backslashes as they appear inside JSON', () => {
    const scrub = secretScrubber(['a"b\\c-secret']);
    const line = JSON.stringify({ msg: 'value a"b\\c-secret here' });
    const out = scrub(line);
    expect(out).toBe('{"msg":"value [redacted] here"}');
    expect(JSON.parse(out).msg).toBe('value [redacted] here');
  });
  it('ignores values too short to be secrets', () => {
    expect(secretScrubber(['ab'])('ab cd')).toBe('ab cd');
  });
});
