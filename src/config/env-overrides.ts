/**
 * Environment variables that override config/easel.yaml: secrets (tokens never need to sit in the
 * file) and the settings people change per deployment. Empty variables count as unset, so a
 * docker-compose file can pass every variable through.
 */
import type { HostAuth } from '../comfy/types.ts';

export interface EnvKey {
  name: string;
  /** Dotted key it sets, e.g. "limits.queueCap". */
  path: string;
}

/** Simple one-variable-one-key overrides. The ComfyUI host variables are handled by hostsFromEnv. */
export const ENV_KEYS: EnvKey[] = [
  { name: 'DISCORD_TOKEN', path: 'discord.token' },
  { name: 'DISCORD_APPLICATION_ID', path: 'discord.applicationId' },
  { name: 'DISCORD_GUILD_ID', path: 'discord.guildId' },
  { name: 'SLACK_BOT_TOKEN', path: 'slack.botToken' },
  { name: 'SLACK_SIGNING_SECRET', path: 'slack.signingSecret' },
  { name: 'SLACK_APP_TOKEN', path: 'slack.appToken' },
  { name: 'SLACK_MODE', path: 'slack.mode' },
  { name: 'SLACK_PORT', path: 'slack.port' },
  { name: 'REDIS_URL', path: 'store.redisUrl' },
  { name: 'EASEL_SQLITE_PATH', path: 'store.sqlitePath' },
  { name: 'EASEL_STORE_TIMEOUT_MS', path: 'store.timeoutMs' },
  { name: 'EASEL_DATA_DIR', path: 'dataDir' },
  { name: 'EASEL_STORAGE_DIR', path: 'storage.dir' },
  { name: 'EASEL_RETENTION_DAYS', path: 'storage.retentionDays' },
  { name: 'EASEL_PRESETS_DIR', path: 'presetsDir' },
  { name: 'EASEL_FAMILY', path: 'family' },
  { name: 'EASEL_SIMULATOR_STEP_MS', path: 'simulator.stepMs' },
  { name: 'EASEL_QUEUE_CAP', path: 'limits.queueCap' },
  { name: 'EASEL_MAX_INPUT_BYTES', path: 'limits.maxInputBytes' },
  { name: 'EASEL_JOB_TIMEOUT_SECONDS', path: 'limits.jobTimeoutSeconds' },
  { name: 'EASEL_PLAYGROUND', path: 'playground.enabled' },
  { name: 'EASEL_PLAYGROUND_HOST', path: 'playground.host' },
  { name: 'EASEL_PLAYGROUND_PORT', path: 'playground.port' },
  { name: 'EASEL_PLAYGROUND_TOKEN', path: 'playground.token' },
  { name: 'EASEL_OPS_HOST', path: 'ops.host' },
  { name: 'EASEL_OPS_PORT', path: 'ops.port' },
  { name: 'LOG_LEVEL', path: 'log.level' },
  { name: 'LOG_FORMAT', path: 'log.format' },
];

/** Variables for ComfyUI hosts (listed here for docs and .env.example). */
export const HOST_ENV_VARS = ['COMFYUI_URL', 'COMFYUI_URLS', 'COMFYUI_TOKEN', 'COMFYUI_USER', 'COMFYUI_PASSWORD', 'COMFYUI_AUTH_HEADER'] as const;

export function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

export interface EnvLayer {
  /** Raw values (strings) placed at their config paths, ready for validation. */
  raw: Record<string, unknown>;
  /** Config path -> variable it came from, for error messages. */
  sources: Map<string, string>;
  problems: string[];
  /** Auth from COMFYUI_TOKEN / COMFYUI_USER+PASSWORD / COMFYUI_AUTH_HEADER, for hosts without their own. */
  hostAuth?: HostAuth;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]] = value;
}

export function readEnv(env: NodeJS.ProcessEnv): EnvLayer {
  const layer: EnvLayer = { raw: {}, sources: new Map(), problems: [] };
  const single = envValue(env, 'COMFYUI_URL');
  const several = envValue(env, 'COMFYUI_URLS');
  if (single && several) {
    layer.problems.push('COMFYUI_URL and COMFYUI_URLS are both set: use COMFYUI_URL for one host or COMFYUI_URLS for several, not both');
  } else if (single || several) {
    const varName = single ? 'COMFYUI_URL' : 'COMFYUI_URLS';
    const items = (single ?? several ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    layer.raw.hosts = items.map((item, i) => {
      // "gpu-1=http://10.0.0.5:8188" names the host; a bare URL gets "comfyui" / "comfyui-N".
      const m = /^([A-Za-z0-9._:-]+)=(.+)$/.exec(item);
      const name = m ? m[1] : items.length === 1 ? 'comfyui' : `comfyui-${i + 1}`;
      layer.sources.set(`hosts[${i}].url`, varName);
      layer.sources.set(`hosts[${i}].name`, varName);
      return { name, url: m ? m[2].trim() : item };
    });
  }

  for (const { name, path } of ENV_KEYS) {
    const v = envValue(env, name);
    if (v === undefined) continue;
    setPath(layer.raw, path, v.trim());
    layer.sources.set(path, name);
  }

  const token = envValue(env, 'COMFYUI_TOKEN');
  const user = envValue(env, 'COMFYUI_USER');
  const password = envValue(env, 'COMFYUI_PASSWORD');
  const header = envValue(env, 'COMFYUI_AUTH_HEADER');
  const kinds = [token && 'COMFYUI_TOKEN', (user || password) && 'COMFYUI_USER/COMFYUI_PASSWORD', header && 'COMFYUI_AUTH_HEADER'].filter(Boolean);
  if (kinds.length > 1) {
    layer.problems.push(`${kinds.join(' and ')} are all set: choose one way to authenticate to ComfyUI`);
  } else if (token) {
    layer.hostAuth = { kind: 'bearer', token: token.trim() };
  } else if (user || password) {
    if (!user) layer.problems.push('COMFYUI_PASSWORD is set but COMFYUI_USER is not: basic auth needs both');
    else if (!password) layer.problems.push('COMFYUI_USER is set but COMFYUI_PASSWORD is not: basic auth needs both');
    else layer.hostAuth = { kind: 'basic', username: user.trim(), password };
  } else if (header) {
    const colon = header.indexOf(':');
    const name = colon > 0 ? header.slice(0, colon).trim() : '';
    const value = colon > 0 ? header.slice(colon + 1).trim() : '';
    if (!name || !value || !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
      layer.problems.push('COMFYUI_AUTH_HEADER: must look like "Header-Name: value" (value hidden)');
    } else {
      layer.hostAuth = { kind: 'header', name, value };
    }
  }
  return layer;
}
