/**
 * The shape of config/easel.yaml, as data: every key, its type and limits, and whether it holds a
 * secret (never echoed in errors or logs). validate-config.ts walks this; docs/configuration.md
 * documents every leaf (a test checks that none is missing).
 */
import { COMMAND_NAMES } from '../commands/types.ts';

export type Spec =
  | { kind: 'int'; min?: number; max?: number; unit?: 'bytes'; secret?: boolean }
  | { kind: 'number'; min?: number; max?: number }
  | { kind: 'string'; nonEmpty?: boolean; secret?: boolean; pattern?: RegExp; patternHint?: string }
  | { kind: 'url'; protocols: readonly string[]; secret?: boolean }
  | { kind: 'bool' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'regex' }
  | { kind: 'object'; fields: Record<string, Spec>; required?: readonly string[]; fromString?: string }
  | { kind: 'map'; keys?: readonly string[]; value: Spec }
  | { kind: 'list'; item: Spec }
  | { kind: 'union'; tag: string; variants: Record<string, { kind: 'object'; fields: Record<string, Spec>; required?: readonly string[] }> };

const port: Spec = { kind: 'int', min: 0, max: 65535 };
const httpUrl: Spec = { kind: 'url', protocols: ['http:', 'https:'] };
const who: Spec = { kind: 'enum', values: ['anyone', 'author'] };
const stringList: Spec = { kind: 'list', item: { kind: 'string', nonEmpty: true } };

export const hostAuthSpec: Spec = {
  kind: 'union',
  tag: 'kind',
  variants: {
    none: { kind: 'object', fields: {} },
    bearer: { kind: 'object', fields: { token: { kind: 'string', nonEmpty: true, secret: true } }, required: ['token'] },
    basic: {
      kind: 'object',
      fields: {
        username: { kind: 'string', nonEmpty: true },
        password: { kind: 'string', nonEmpty: true, secret: true },
      },
      required: ['username', 'password'],
    },
    header: {
      kind: 'object',
      fields: {
        name: { kind: 'string', nonEmpty: true, pattern: /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, patternHint: 'an HTTP header name' },
        value: { kind: 'string', nonEmpty: true, secret: true },
      },
      required: ['name', 'value'],
    },
  },
};

export const hostSpec: Spec = {
  kind: 'object',
  // A bare string in the hosts list is taken as the url.
  fromString: 'url',
  fields: {
    name: { kind: 'string', nonEmpty: true, pattern: /^[A-Za-z0-9._:-]+$/, patternHint: 'letters, digits, ".", "_", ":" or "-"' },
    url: httpUrl,
    auth: hostAuthSpec,
    timeoutMs: { kind: 'int', min: 100 },
    simulated: { kind: 'bool' },
  },
  required: ['url'],
};

export const configSchema: { kind: 'object'; fields: Record<string, Spec> } = {
  kind: 'object',
  fields: {
    hosts: { kind: 'list', item: hostSpec },
    simulator: { kind: 'object', fields: { stepMs: { kind: 'int', min: 0, max: 60_000 }, previews: { kind: 'bool' } } },
    presetsDir: { kind: 'string', nonEmpty: true },
    family: { kind: 'enum', values: ['sd15', 'sdxl'] },
    checkpoints: {
      kind: 'object',
      fields: { sd15: { kind: 'string', nonEmpty: true }, sdxl: { kind: 'string', nonEmpty: true } },
    },
    dataDir: { kind: 'string', nonEmpty: true },
    store: {
      kind: 'object',
      fields: {
        sqlitePath: { kind: 'string', nonEmpty: true },
        redisUrl: { kind: 'url', protocols: ['redis:', 'rediss:'], secret: true },
        timeoutMs: { kind: 'int', min: 100, max: 600_000 },
      },
    },
    storage: {
      kind: 'object',
      fields: { dir: { kind: 'string', nonEmpty: true }, retentionDays: { kind: 'number', min: 0 } },
    },
    limits: {
      kind: 'object',
      fields: {
        maxInputBytes: { kind: 'int', min: 1, unit: 'bytes' },
        maxInputPixels: { kind: 'int', min: 1 },
        queueCap: { kind: 'int', min: 1 },
        perUserWaiting: { kind: 'int', min: 0 },
        perUserRunning: { kind: 'int', min: 1 },
        cooldownSeconds: { kind: 'number', min: 0 },
        maxCount: { kind: 'int', min: 1, max: 16 },
        maxSteps: { kind: 'int', min: 1, max: 200 },
        jobTimeoutSeconds: { kind: 'number', min: 1, max: 86_400 },
        concurrentUploads: { kind: 'int', min: 1 },
        perUserUploads: { kind: 'int', min: 1 },
      },
    },
    policy: {
      kind: 'object',
      fields: {
        commands: {
          kind: 'map',
          keys: COMMAND_NAMES,
          value: {
            kind: 'object',
            fields: { channels: stringList, roles: stringList, enabled: { kind: 'bool' } },
          },
        },
        blockedWords: stringList,
        blockedPatterns: { kind: 'list', item: { kind: 'regex' } },
        channels: {
          kind: 'map',
          value: { kind: 'object', fields: { negativePrompt: { kind: 'string' }, spoiler: { kind: 'bool' } } },
        },
        buttons: { kind: 'object', fields: { rerun: who, delete: who, cancel: who } },
      },
    },
    discord: {
      kind: 'object',
      fields: {
        token: { kind: 'string', nonEmpty: true, secret: true },
        applicationId: { kind: 'string', pattern: /^\d{15,22}$/, patternHint: 'a numeric Discord id' },
        guildId: { kind: 'string', pattern: /^\d{15,22}$/, patternHint: 'a numeric Discord id' },
        apiBase: httpUrl,
      },
    },
    slack: {
      kind: 'object',
      fields: {
        mode: { kind: 'enum', values: ['http', 'socket'] },
        botToken: { kind: 'string', nonEmpty: true, secret: true },
        signingSecret: { kind: 'string', nonEmpty: true, secret: true },
        appToken: { kind: 'string', nonEmpty: true, secret: true },
        port,
        apiUrl: httpUrl,
      },
    },
    playground: {
      kind: 'object',
      fields: { enabled: { kind: 'bool' }, host: { kind: 'string', nonEmpty: true }, port, token: { kind: 'string', nonEmpty: true, secret: true } },
    },
    ops: { kind: 'object', fields: { host: { kind: 'string', nonEmpty: true }, port } },
    log: {
      kind: 'object',
      fields: {
        level: { kind: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'silent'] },
        format: { kind: 'enum', values: ['auto', 'json', 'pretty'] },
      },
    },
  },
};

/** Every documented key path, e.g. "limits.queueCap", "hosts[].auth.token", "policy.commands.<command>.roles". */
export function schemaKeyPaths(spec: Spec = configSchema, prefix = ''): string[] {
  switch (spec.kind) {
    case 'object': {
      const out: string[] = [];
      for (const [k, s] of Object.entries(spec.fields)) out.push(...schemaKeyPaths(s, prefix ? `${prefix}.${k}` : k));
      return out.length ? out : [prefix];
    }
    case 'list':
      return spec.item.kind === 'object' || spec.item.kind === 'union' ? schemaKeyPaths(spec.item, `${prefix}[]`) : [prefix];
    case 'map':
      return schemaKeyPaths(spec.value, `${prefix}.${spec.keys ? '<command>' : '<channel>'}`);
    case 'union': {
      const out = new Set<string>([`${prefix}.${spec.tag}`]);
      for (const v of Object.values(spec.variants)) for (const p of schemaKeyPaths(v, prefix)) if (p !== prefix) out.add(p);
      return [...out];
    }
    default:
      return [prefix];
  }
}
