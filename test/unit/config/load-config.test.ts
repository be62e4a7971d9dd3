import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ENV_KEYS, HOST_ENV_VARS } from '../../../src/config/env-overrides.ts';
import { ConfigError, defaultConfig, loadConfig, PROJECT_ROOT } from '../../../src/config/load-config.ts';
import { schemaKeyPaths } from '../../../src/config/schema.ts';
import { configSecrets } from '../../../src/config/secrets.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'easel-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function yamlFile(text: string): string {
  const file = path.join(tmp, `c${n++}.yaml`);
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('match the documented defaults', () => {
    const c = loadConfig({ file: false, env: {}, cwd: tmp });
    expect(c.hosts).toEqual([]);
    expect(c.simulator).toEqual({ stepMs: 150, previews: true });
    expect(c.family).toBe('sd15');
    expect(c.dataDir).toBe(path.join(tmp, '.easel'));
    expect(c.store.sqlitePath).toBe(path.join(tmp, '.easel', 'easel.db'));
    expect(c.store.redisUrl).toBeUndefined();
    expect(c.storage).toEqual({ dir: path.join(tmp, '.easel', 'images'), retentionDays: 30 });
    expect(c.limits).toEqual({
      maxInputBytes: 25 * 1024 * 1024,
      maxInputPixels: 40_000_000,
      queueCap: 200,
      perUserWaiting: 5,
      perUserRunning: 1,
      cooldownSeconds: 0,
      maxCount: 4,
      maxSteps: 60,
      jobTimeoutSeconds: 600,
      concurrentUploads: 4,
      perUserUploads: 2,
    });
    expect(c.store.timeoutMs).toBe(5000);
    expect(c.policy.buttons).toEqual({ rerun: 'anyone', delete: 'author', cancel: 'author' });
    expect(c.slack).toEqual({ mode: 'http', port: 3000 });
    expect(c.playground).toEqual({ enabled: true, host: '127.0.0.1', port: 7860 });
    expect(c.ops).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(c.log.level).toBe('info');
  });

  it('resolves presetsDir against the project root, not the current folder', () => {
    const c = loadConfig({ file: false, env: {}, cwd: tmp });
    expect(c.presetsDir).toBe(path.join(PROJECT_ROOT, 'config', 'presets'));
    expect(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).toContain('"name": "easel"');
  });

  it('defaultConfig(overrides) moves the store and image folder with dataDir', () => {
    const c = defaultConfig({ dataDir: path.join(tmp, 'd1'), limits: { queueCap: 3 } });
    expect(c.store.sqlitePath).toBe(path.join(tmp, 'd1', 'easel.db'));
    expect(c.storage.dir).toBe(path.join(tmp, 'd1', 'images'));
    expect(c.limits.queueCap).toBe(3);
    expect(c.limits.maxCount).toBe(4);
  });

  it('the shipped config/easel.yaml is valid and changes nothing', () => {
    const shipped = loadConfig({ file: path.join(PROJECT_ROOT, 'config/easel.yaml'), env: {}, cwd: tmp });
    expect(shipped).toEqual(loadConfig({ file: false, env: {}, cwd: tmp }));
  });
});

describe('YAML file', () => {
  it('reads values and keeps defaults for the rest', () => {
    const file = yamlFile(`
hosts:
  - name: gpu-1
    url: http://10.0.0.5:8188/
    auth: { kind: basic, username: bot, password: hunter22 }
  - http://10.0.0.6:8188
limits: { queueCap: 10, maxInputBytes: 10 MiB }
policy:
  commands: { blend: { enabled: false } }
  blockedWords: [gore]
slack: { mode: socket }
`);
    const c = loadConfig({ file, env: {}, cwd: tmp });
    expect(c.hosts).toEqual([
      { name: 'gpu-1', url: 'http://10.0.0.5:8188', auth: { kind: 'basic', username: 'bot', password: 'hunter22' } },
      { name: 'comfyui-2', url: 'http://10.0.0.6:8188' },
    ]);
    expect(c.limits.queueCap).toBe(10);
    expect(c.limits.maxInputBytes).toBe(10 * 1024 * 1024);
    expect(c.limits.perUserWaiting).toBe(5);
    expect(c.policy.commands.blend).toEqual({ enabled: false });
    expect(c.policy.blockedWords).toEqual(['gore']);
    expect(c.slack.mode).toBe('socket');
  });

  it('names the key and the problem', () => {
    const file = yamlFile(`
hosts:
  - { name: a, url: "ftp://x" }
limits:
  queueCap: lots
`);
    expect(problemsOf(() => loadConfig({ file, env: {}, cwd: tmp }))).toEqual([
      'hosts[0].url: "ftp://x" is not an http(s) URL',
      'limits.queueCap: must be a whole number >= 1, got "lots"',
    ]);
  });

  it('reports unknown keys with a did-you-mean', () => {
    const file = yamlFile('limits:\n  queuecap: 5\nplayground:\n  prot: 1234\npolicy:\n  commands:\n    restlye: { enabled: false }\n');
    const problems = problemsOf(() => loadConfig({ file, env: {}, cwd: tmp }));
    expect(problems).toContain('limits.queuecap: unknown key (did you mean "limits.queueCap"?)');
    expect(problems).toContain('playground.prot: unknown key (did you mean "playground.port"?)');
    expect(problems.find((p) => p.startsWith('policy.commands.restlye'))).toMatch(/unknown command \(did you mean "restyle"\?\)/);
  });

  it('checks enums, ranges, booleans and regular expressions', () => {
    const file = yamlFile(`
family: sdxxl
playground: { port: 70000, enabled: maybe }
policy: { blockedPatterns: ["(unclosed"], buttons: { delete: everyone } }
limits: { cooldownSeconds: -1, maxCount: 2.5 }
`);
    const problems = problemsOf(() => loadConfig({ file, env: {}, cwd: tmp }));
    expect(problems).toEqual(
      expect.arrayContaining([
        'family: must be one of sd15, sdxl, got "sdxxl" (did you mean "sdxl"?)',
        'playground.port: must be a whole number between 0 and 65535, got 70000',
        'playground.enabled: must be true or false, got "maybe"',
        'policy.buttons.delete: must be one of anyone, author, got "everyone"',
        'limits.cooldownSeconds: must be a number >= 0, got -1',
        'limits.maxCount: must be a whole number between 1 and 16, got 2.5',
      ]),
    );
    expect(problems.find((p) => p.startsWith('policy.blockedPatterns[0]'))).toMatch(/not a valid regular expression/);
  });

  it('requires a url for each host and a complete auth', () => {
    const file = yamlFile('hosts:\n  - { name: a }\n  - { url: "http://b", auth: { kind: bearer } }\n  - { url: "http://c", auth: { kind: berer, token: x } }\n');
    const problems = problemsOf(() => loadConfig({ file, env: {}, cwd: tmp }));
    expect(problems).toEqual([
      'hosts[0].url: is required',
      'hosts[1].auth.token: is required',
      'hosts[2].auth.kind: must be one of none, bearer, basic, header, got "berer" (did you mean "bearer"?)',
    ]);
  });

  it('refuses duplicate host names and clashing ports', () => {
    const file = yamlFile('hosts: [{ name: a, url: "http://a" }, { name: a, url: "http://b" }]\nops: { port: 7860 }\n');
    const problems = problemsOf(() => loadConfig({ file, env: {}, cwd: tmp }));
    expect(problems).toEqual([
      'hosts[1].name: "a" is already used by hosts[0]; host names must be unique',
      'ops.port: 7860 is also used by playground.port; give each server its own port',
    ]);
  });

  it('reports YAML syntax errors and a missing named file', () => {
    const bad = yamlFile('limits:\n  queueCap: [1, 2\n');
    const err = (() => {
      try {
        loadConfig({ file: bad, env: {}, cwd: tmp });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err?.message).toContain(path.basename(bad));
    expect(err?.problems[0]).toMatch(/^YAML syntax:/);
    expect(problemsOf(() => loadConfig({ file: path.join(tmp, 'nope.yaml'), env: {}, cwd: tmp }))[0]).toMatch(/nope\.yaml does not exist/);
    expect(problemsOf(() => loadConfig({ file: yamlFile('- a\n- b\n'), env: {}, cwd: tmp }))[0]).toMatch(/must be a map of keys/);
  });

  it('EASEL_CONFIG names the file', () => {
    const file = yamlFile('limits: { queueCap: 7 }\n');
    expect(loadConfig({ env: { EASEL_CONFIG: file }, cwd: tmp }).limits.queueCap).toBe(7);
  });

  it('substitutes ${VAR} from the environment and names a missing one', () => {
    const file = yamlFile('hosts:\n  - { name: g, url: "http://g:8188", auth: { kind: bearer, token: "${GPU_TOKEN}" } }\n');
    const c = loadConfig({ file, env: { GPU_TOKEN: 'tok-123456' }, cwd: tmp });
    expect(c.hosts[0].auth).toEqual({ kind: 'bearer', token: 'tok-123456' });
    expect(problemsOf(() => loadConfig({ file, env: {}, cwd: tmp }))).toContain(
      'hosts[0].auth.token: refers to environment variable GPU_TOKEN, which is not set',
    );
  });
});

describe('environment overrides', () => {
  const samples: Record<string, [string, unknown]> = {
    DISCORD_TOKEN: ['discord-token-abc', 'discord-token-abc'],
    DISCORD_APPLICATION_ID: ['123456789012345678', '123456789012345678'],
    DISCORD_GUILD_ID: ['223456789012345678', '223456789012345678'],
    SLACK_BOT_TOKEN: ['xoxb-1-2-3', 'xoxb-1-2-3'],
    SLACK_SIGNING_SECRET: ['signsecret', 'signsecret'],
    SLACK_APP_TOKEN: ['xapp-1-2', 'xapp-1-2'],
    SLACK_MODE: ['socket', 'socket'],
    SLACK_PORT: ['3100', 3100],
    REDIS_URL: ['redis://:pw@127.0.0.1:6379', 'redis://:pw@127.0.0.1:6379'],
    EASEL_SQLITE_PATH: ['db/e.db', path.join(tmp, 'db/e.db')],
    EASEL_STORE_TIMEOUT_MS: ['2500', 2500],
    EASEL_DATA_DIR: ['/srv/easel', '/srv/easel'],
    EASEL_STORAGE_DIR: ['imgs', path.join(tmp, 'imgs')],
    EASEL_RETENTION_DAYS: ['7', 7],
    EASEL_PRESETS_DIR: ['/opt/presets', '/opt/presets'],
    EASEL_FAMILY: ['sdxl', 'sdxl'],
    EASEL_SIMULATOR_STEP_MS: ['10', 10],
    EASEL_QUEUE_CAP: ['50', 50],
    EASEL_MAX_INPUT_BYTES: ['1000000', 1_000_000],
    EASEL_JOB_TIMEOUT_SECONDS: ['120', 120],
    EASEL_PLAYGROUND: ['false', false],
    EASEL_PLAYGROUND_HOST: ['0.0.0.0', '0.0.0.0'],
    EASEL_PLAYGROUND_PORT: ['7000', 7000],
    EASEL_PLAYGROUND_TOKEN: ['pg-token-0123456789', 'pg-token-0123456789'],
    EASEL_OPS_HOST: ['0.0.0.0', '0.0.0.0'],
    EASEL_OPS_PORT: ['9000', 9000],
    LOG_LEVEL: ['debug', 'debug'],
    LOG_FORMAT: ['json', 'json'],
  };

  it.each(ENV_KEYS.map((k) => [k.name, k.path] as const))('%s sets %s', (name, keyPath) => {
    expect(samples[name], `add a sample for ${name}`).toBeDefined();
    const [value, expected] = samples[name];
    // Slack needs its companions to be valid as a whole; a playground off loopback needs its token.
    const env = { SLACK_BOT_TOKEN: 'xoxb-x', SLACK_SIGNING_SECRET: 's', SLACK_APP_TOKEN: 'xapp-x', DISCORD_TOKEN: 't0k', EASEL_PLAYGROUND_TOKEN: 'pg-companion-token', [name]: value };
    const c = loadConfig({ file: false, env, cwd: tmp }) as unknown as Record<string, unknown>;
    const got = keyPath.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], c);
    expect(got).toEqual(expected);
  });

  it('beat the YAML file, and empty variables count as unset', () => {
    const file = yamlFile('limits: { queueCap: 10 }\nops: { port: 9100 }\n');
    const c = loadConfig({ file, env: { EASEL_QUEUE_CAP: '20', EASEL_OPS_PORT: '' }, cwd: tmp });
    expect(c.limits.queueCap).toBe(20);
    expect(c.ops.port).toBe(9100);
  });

  it('name the variable in problems', () => {
    expect(problemsOf(() => loadConfig({ file: false, env: { EASEL_QUEUE_CAP: 'lots', COMFYUI_URL: 'ftp://x', SLACK_MODE: 'sockets' }, cwd: tmp }))).toEqual([
      'COMFYUI_URL (hosts[0].url): "ftp://x" is not an http(s) URL',
      'SLACK_MODE (slack.mode): must be one of http, socket, got "sockets" (did you mean "socket"?)',
      'EASEL_QUEUE_CAP (limits.queueCap): must be a whole number >= 1, got "lots"',
    ]);
  });

  it('COMFYUI_URL gives one host, COMFYUI_URLS several (optionally named), replacing the file hosts', () => {
    const file = yamlFile('hosts: [{ name: old, url: "http://old" }]\n');
    expect(loadConfig({ file, env: { COMFYUI_URL: 'http://gpu:8188' }, cwd: tmp }).hosts).toEqual([{ name: 'comfyui', url: 'http://gpu:8188' }]);
    expect(loadConfig({ file, env: { COMFYUI_URLS: 'big=http://a:8188, http://b:8188' }, cwd: tmp }).hosts).toEqual([
      { name: 'big', url: 'http://a:8188' },
      { name: 'comfyui-2', url: 'http://b:8188' },
    ]);
    expect(problemsOf(() => loadConfig({ file: false, env: { COMFYUI_URL: 'http://a', COMFYUI_URLS: 'http://b' }, cwd: tmp }))[0]).toMatch(/both set/);
  });

  it('COMFYUI auth variables apply to hosts without auth of their own', () => {
    const file = yamlFile('hosts:\n  - { name: own, url: "http://a", auth: { kind: bearer, token: own-token } }\n  - { name: plain, url: "http://b" }\n');
    const c = loadConfig({ file, env: { COMFYUI_TOKEN: 'env-token' }, cwd: tmp });
    expect(c.hosts.map((h) => h.auth)).toEqual([
      { kind: 'bearer', token: 'own-token' },
      { kind: 'bearer', token: 'env-token' },
    ]);
    const basic = loadConfig({ file: false, env: { COMFYUI_URL: 'http://a', COMFYUI_USER: 'u', COMFYUI_PASSWORD: 'p4ss' }, cwd: tmp });
    expect(basic.hosts[0].auth).toEqual({ kind: 'basic', username: 'u', password: 'p4ss' });
    const header = loadConfig({ file: false, env: { COMFYUI_URL: 'http://a', COMFYUI_AUTH_HEADER: 'X-Api-Key: k3y: with colon' }, cwd: tmp });
    expect(header.hosts[0].auth).toEqual({ kind: 'header', name: 'X-Api-Key', value: 'k3y: with colon' });
  });

  it('refuses contradictory or incomplete ComfyUI auth', () => {
    const url = { COMFYUI_URL: 'http://a' };
    expect(problemsOf(() => loadConfig({ file: false, env: { ...url, COMFYUI_TOKEN: 't', COMFYUI_USER: 'u', COMFYUI_PASSWORD: 'p' }, cwd: tmp }))[0]).toMatch(
      /COMFYUI_TOKEN and COMFYUI_USER\/COMFYUI_PASSWORD are all set/,
    );
    expect(problemsOf(() => loadConfig({ file: false, env: { ...url, COMFYUI_USER: 'u' }, cwd: tmp }))).toEqual([
      'COMFYUI_USER is set but COMFYUI_PASSWORD is not: basic auth needs both',
    ]);
    expect(problemsOf(() => loadConfig({ file: false, env: { COMFYUI_TOKEN: 'abc' }, cwd: tmp }))[0]).toMatch(/no ComfyUI host is configured/);
  });

  it('checks that Slack settings belong together', () => {
    expect(problemsOf(() => loadConfig({ file: false, env: { SLACK_BOT_TOKEN: 'xoxb-1' }, cwd: tmp }))).toEqual([
      'slack.signingSecret: is required when slack.mode is http (set SLACK_SIGNING_SECRET)',
    ]);
    expect(problemsOf(() => loadConfig({ file: false, env: { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_MODE: 'socket' }, cwd: tmp }))[0]).toMatch(/^slack\.appToken: is required/);
    expect(problemsOf(() => loadConfig({ file: false, env: { SLACK_SIGNING_SECRET: 'x' }, cwd: tmp }))[0]).toMatch(/^slack\.botToken: is required/);
  });
});

describe('secrets', () => {
  it('are never quoted in problems', () => {
    const env = {
      COMFYUI_URL: 'http://a',
      COMFYUI_AUTH_HEADER: 'no-colon-super-secret-value',
      REDIS_URL: 'http://user:redis-secret-pw@host:6379',
    };
    const problems = problemsOf(() => loadConfig({ file: false, env, cwd: tmp }));
    expect(problems).toHaveLength(2);
    const text = problems.join('\n');
    expect(text).not.toContain('super-secret');
    expect(text).not.toContain('redis-secret-pw');
    const file = yamlFile('discord: { token: 123456789 }\n');
    const p2 = problemsOf(() => loadConfig({ file, env: {}, cwd: tmp }));
    expect(p2).toEqual(['discord.token: must be text, got a number (value hidden)']);
  });

  it('configSecrets lists every configured secret', () => {
    const c = loadConfig({
      file: false,
      env: {
        DISCORD_TOKEN: 'disc-tok',
        SLACK_BOT_TOKEN: 'xoxb-bot',
        SLACK_SIGNING_SECRET: 'sign-sec',
        SLACK_APP_TOKEN: 'xapp-app',
        COMFYUI_URLS: 'http://a,http://b',
        COMFYUI_USER: 'user',
        COMFYUI_PASSWORD: 'comfy-pw',
        REDIS_URL: 'redis://:redis-pw@r:6379',
      },
      cwd: tmp,
    });
    const secrets = configSecrets(c);
    for (const s of ['disc-tok', 'xoxb-bot', 'sign-sec', 'xapp-app', 'comfy-pw', 'redis-pw', Buffer.from('user:comfy-pw').toString('base64')]) {
      expect(secrets).toContain(s);
    }
  });
});

describe('.env.example', () => {
  const example = readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8');
  it.each([...ENV_KEYS.map((k) => k.name), ...HOST_ENV_VARS, 'EASEL_CONFIG'])('lists %s', (name) => {
    // Empty, or commented out where an empty value would mean something (REDIS_URL= is "no Redis").
    expect(example).toMatch(new RegExp(`^(# )?${name}=$`, 'm'));
  });
  it('loads as a valid (empty) configuration', () => {
    const env = Object.fromEntries(example.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=', 2) as [string, string]));
    expect(loadConfig({ file: false, env, cwd: tmp })).toEqual(loadConfig({ file: false, env: {}, cwd: tmp }));
  });
});

describe('docs/configuration.md', () => {
  const doc = readFileSync(path.join(PROJECT_ROOT, 'docs/configuration.md'), 'utf8');
  it.each(schemaKeyPaths())('documents %s', (key) => {
    expect(doc).toContain(`\`${key}\``);
  });
  it.each([...ENV_KEYS.map((k) => k.name), ...HOST_ENV_VARS, 'EASEL_CONFIG'])('documents the variable %s', (name) => {
    expect(doc).toContain(`\`${name}\``);
  });

  // Rows of the key tables: | `key` | default | variable | meaning |
  const rows = new Map<string, { def: string; variable: string }>();
  for (const m of doc.matchAll(/^\| `([^`]+)` \|([^|]*)\|([^|]*)\|/gm)) rows.set(m[1], { def: m[2].trim(), variable: m[3].trim() });

  it.each(ENV_KEYS.map((k) => [k.path, k.name] as const))('the row of %s names its variable %s', (key, name) => {
    expect(rows.get(key)?.variable, `no table row for ${key}`).toContain(`\`${name}\``);
  });

  const defaults = defaultConfig();
  const scalarKeys = schemaKeyPaths().filter((k) => !/[[<]/.test(k));
  it.each(scalarKeys)('the default shown for %s is the real one', (key) => {
    let value: unknown = defaults;
    for (const part of key.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
    // Paths are shown relative (resolved at start); unset keys have no value to compare.
    if (value === undefined || (typeof value === 'string' && path.isAbsolute(value))) return;
    expect(rows.get(key)?.def, `no table row for ${key}`).toContain(`\`${Array.isArray(value) ? JSON.stringify(value) : String(value)}\``);
  });
});
