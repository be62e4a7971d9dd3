/**
 * Loads Easel's configuration: built-in defaults, then config/easel.yaml (or EASEL_CONFIG), then
 * environment variables, then programmatic overrides. Every layer is validated; all problems are
 * reported together in one ConfigError that names each key (and variable) and what is wrong.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { HostConfig } from '../comfy/types.ts';
import { ConfigError } from './config-error.ts';
import { envValue, readEnv } from './env-overrides.ts';
import { configSchema } from './schema.ts';
import type { EaselConfig } from './types.ts';
import { validateLayer } from './validate-config.ts';

export { ConfigError, isConfigError } from './config-error.ts';

/** Nested partial; lists (hosts, blockedWords, ...) are replaced whole, never merged. */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends Array<unknown> ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/** The folder holding Easel's package.json (presets and the default config live under it). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface LoadConfigOptions {
  /** YAML file to read. Default: EASEL_CONFIG, else ./config/easel.yaml, else Easel's own config/easel.yaml. false: none. */
  file?: string | false;
  /** Environment to read overrides from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Applied last (tests, CLI flags). */
  overrides?: DeepPartial<EaselConfig>;
  /** Folder relative paths (dataDir, store, storage) resolve against (default process.cwd()). */
  cwd?: string;
}

function baseDefaults(): EaselConfig {
  return {
    hosts: [],
    simulator: { stepMs: 150, previews: true },
    presetsDir: 'config/presets',
    family: 'sd15',
    checkpoints: {},
    dataDir: '.easel',
    store: { sqlitePath: '', timeoutMs: 5000 },
    storage: { dir: '', retentionDays: 30 },
    limits: {
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
    },
    policy: {
      commands: {},
      blockedWords: [],
      blockedPatterns: [],
      channels: {},
      buttons: { rerun: 'anyone', delete: 'author', cancel: 'author' },
    },
    discord: {},
    slack: { mode: 'http', port: 3000 },
    playground: { enabled: true, host: '127.0.0.1', port: 7860 },
    ops: { host: '127.0.0.1', port: 9464 },
    log: { level: 'info', format: 'auto' },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepMerge(target: Record<string, unknown>, layer: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(layer)) {
    if (v === undefined) continue;
    if (isPlainObject(v) && isPlainObject(target[k])) target[k] = deepMerge({ ...(target[k] as Record<string, unknown>) }, v);
    else target[k] = isPlainObject(v) ? deepMerge({}, v) : Array.isArray(v) ? structuredClone(v) : v;
  }
  return target;
}

function has(layer: unknown, dotted: string): boolean {
  let node: unknown = layer;
  for (const part of dotted.split('.')) {
    if (!isPlainObject(node) || node[part] === undefined) return false;
    node = node[part];
  }
  return true;
}

/** Make paths absolute: presetsDir against the project root, the rest against cwd; derive store/storage from dataDir. */
function finish(config: EaselConfig, explicit: { sqlitePath: boolean; storageDir: boolean }, cwd: string): EaselConfig {
  config.dataDir = path.resolve(cwd, config.dataDir);
  config.presetsDir = path.resolve(PROJECT_ROOT, config.presetsDir);
  config.store.sqlitePath = explicit.sqlitePath ? path.resolve(cwd, config.store.sqlitePath) : path.join(config.dataDir, 'easel.db');
  config.storage.dir = explicit.storageDir ? path.resolve(cwd, config.storage.dir) : path.join(config.dataDir, 'images');
  config.hosts = config.hosts.map((h, i, all) => ({
    ...h,
    name: h.name ?? (all.length === 1 ? 'comfyui' : `comfyui-${i + 1}`),
    url: h.url.replace(/\/+$/, ''),
  }));
  return config;
}

/**
 * The built-in defaults with no file and no environment (tests start from this).
 * `overrides` are merged in and validated; store and storage follow an overridden dataDir.
 */
export function defaultConfig(overrides?: DeepPartial<EaselConfig>): EaselConfig {
  if (overrides) return loadConfig({ file: false, env: {}, overrides });
  return finish(baseDefaults(), { sqlitePath: false, storageDir: false }, process.cwd());
}

/** Find the YAML file to read, or undefined when the default one does not exist. */
export function resolveConfigFile(opts: LoadConfigOptions, env: NodeJS.ProcessEnv, cwd: string): { file?: string; explicit: boolean } {
  if (opts.file === false) return { explicit: false };
  const named = opts.file ?? envValue(env, 'EASEL_CONFIG');
  if (named) return { file: path.resolve(cwd, named), explicit: true };
  for (const candidate of [path.resolve(cwd, 'config/easel.yaml'), path.join(PROJECT_ROOT, 'config/easel.yaml')]) {
    if (existsSync(candidate)) return { file: candidate, explicit: false };
  }
  return { explicit: false };
}

/** Replace ${VAR} in YAML strings with the environment's value (so secrets can stay out of the file). */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, at: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = envValue(env, name);
      if (v === undefined) {
        problems.push(`${at}: refers to environment variable ${name}, which is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, `${at}[${i}]`, problems));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, at ? `${at}.${k}` : k, problems);
    return out;
  }
  return value;
}

function readYaml(file: string, env: NodeJS.ProcessEnv, problems: string[]): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([code === 'ENOENT' ? `config file ${file} does not exist` : `cannot read config file ${file} (${code ?? (err as Error).message})`]);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`), file);
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return {};
  if (!isPlainObject(data)) throw new ConfigError(['the file must be a map of keys (key: value), not a list or a single value'], file);
  return interpolate(data, env, '', problems) as Record<string, unknown>;
}

/** Load, merge and validate the configuration. Throws ConfigError listing every problem. */
export function loadConfig(opts: LoadConfigOptions = {}): EaselConfig {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const problems: string[] = [];
  const { file } = resolveConfigFile(opts, env, cwd);

  const yamlRaw = file ? readYaml(file, env, problems) : {};
  const fromFile = validateLayer(yamlRaw, configSchema, { problems }) as Record<string, unknown>;

  const envLayer = readEnv(env);
  problems.push(...envLayer.problems);
  const fromEnv = validateLayer(envLayer.raw, configSchema, {
    problems,
    label: (p) => (envLayer.sources.has(p) ? `${envLayer.sources.get(p)} (${p})` : p),
  }) as Record<string, unknown>;

  const fromOverrides = opts.overrides ? (validateLayer(opts.overrides, configSchema, { problems }) as Record<string, unknown>) : {};

  const merged = deepMerge(deepMerge(deepMerge(baseDefaults() as unknown as Record<string, unknown>, fromFile ?? {}), fromEnv ?? {}), fromOverrides ?? {});
  const config = merged as unknown as EaselConfig;

  // Host auth from the environment applies to every host that has none of its own.
  if (envLayer.hostAuth) {
    if (config.hosts.length === 0) problems.push('COMFYUI_TOKEN / COMFYUI_USER / COMFYUI_AUTH_HEADER is set but no ComfyUI host is configured (set COMFYUI_URL or hosts)');
    config.hosts = config.hosts.map((h: HostConfig) => (h.auth ? h : { ...h, auth: envLayer.hostAuth }));
  }

  const layers = [yamlRaw, envLayer.raw, opts.overrides ?? {}];
  const explicit = {
    sqlitePath: layers.some((l) => has(l, 'store.sqlitePath')),
    storageDir: layers.some((l) => has(l, 'storage.dir')),
  };
  if (problems.length === 0) {
    finish(config, explicit, cwd);
    problems.push(...crossCheck(config));
  }
  if (problems.length) throw new ConfigError(problems, file ? displayPath(file, cwd) : undefined);
  return config;
}

/** A path relative to cwd when it is below it, else absolute. */
function displayPath(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Rules that involve more than one key. */
function crossCheck(config: EaselConfig): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  config.hosts.forEach((h, i) => {
    const first = seen.get(h.name);
    if (first !== undefined) problems.push(`hosts[${i}].name: "${h.name}" is already used by hosts[${first}]; host names must be unique`);
    else seen.set(h.name, i);
  });

  const s = config.slack;
  if (s.botToken) {
    if (s.mode === 'http' && !s.signingSecret) problems.push('slack.signingSecret: is required when slack.mode is http (set SLACK_SIGNING_SECRET)');
    if (s.mode === 'socket' && !s.appToken) problems.push('slack.appToken: is required when slack.mode is socket (set SLACK_APP_TOKEN, it starts with xapp-)');
  } else if (s.signingSecret || s.appToken) {
    problems.push('slack.botToken: is required when other Slack settings are given (set SLACK_BOT_TOKEN, it starts with xoxb-)');
  }
  if (config.discord.applicationId && !config.discord.token) {
    problems.push('discord.token: is required when discord.applicationId is set (set DISCORD_TOKEN)');
  }

  const listeners: Array<[string, string, number]> = [];
  if (config.playground.enabled) listeners.push(['playground', config.playground.host, config.playground.port]);
  listeners.push(['ops', config.ops.host, config.ops.port]);
  if (s.botToken && s.mode === 'http') listeners.push(['slack', '0.0.0.0', s.port]);
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const [a, , pa] = listeners[i];
      const [b, , pb] = listeners[j];
      if (pa !== 0 && pa === pb) problems.push(`${b}.port: ${pb} is also used by ${a}.port; give each server its own port`);
    }
  }
  return problems;
}
