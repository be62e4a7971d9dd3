/**
 * docker-compose.yml passes REDIS_URL to Easel. An empty `REDIS_URL=` in .env must mean "no Redis"
 * (Easel treats an empty variable as unset and uses SQLite), and only a missing variable gets the compose
 * Redis service. Compose's interpolation decides that: `${VAR-default}` keeps an empty value,
 * `${VAR:-default}` replaces it with the default.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig, PROJECT_ROOT } from '../../../src/config/load-config.ts';

/** Compose's variable interpolation (compose-spec "Interpolation"): ${VAR}, ${VAR-def}, ${VAR:-def}. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}/g, (_m, name: string, colon: string | undefined, def: string | undefined) => {
    const v = env[name];
    if (def === undefined) return v ?? '';
    if (colon) return v === undefined || v === '' ? def : v;
    return v === undefined ? def : v;
  });
}

const compose = parse(readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: { easel: { environment: Record<string, string> } };
};
const cwd = mkdtempSync(path.join(tmpdir(), 'easel-compose-'));

/** The store Easel picks inside the container for this .env. */
function storeFor(dotEnv: Record<string, string>): string | undefined {
  const redisUrl = interpolate(compose.services.easel.environment.REDIS_URL, dotEnv);
  return loadConfig({ file: false, env: { REDIS_URL: redisUrl }, cwd }).store.redisUrl;
}

describe('docker-compose REDIS_URL', () => {
  it('uses the compose Redis service when REDIS_URL is not set at all', () => {
    expect(storeFor({})).toBe('redis://redis:6379');
  });

  it('an empty REDIS_URL= means no Redis: Easel uses SQLite', () => {
    expect(storeFor({ REDIS_URL: '' })).toBeUndefined();
  });

  it('the shipped .env.example (cp .env.example .env) keeps the compose Redis, which its two replicas need', () => {
    const example = readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8');
    const dotEnv = Object.fromEntries(
      example.split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=', 2) as [string, string]),
    );
    expect(storeFor(dotEnv)).toBe('redis://redis:6379');
  });

  it('a REDIS_URL of your own is used as is', () => {
    expect(storeFor({ REDIS_URL: 'redis://cache.internal:6380' })).toBe('redis://cache.internal:6380');
  });
});
