import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_KEYS, HOST_ENV_VARS } from '../../../src/config/env-overrides.ts';
import { defaultConfig, PROJECT_ROOT } from '../../../src/config/load-config.ts';

const read = (f: string) => readFileSync(path.join(PROJECT_ROOT, f), 'utf8');
const known = new Set<string>([...ENV_KEYS.map((k) => k.name), ...HOST_ENV_VARS, 'EASEL_CONFIG']);

describe('Dockerfile', () => {
  const docker = read('Dockerfile');
  const defaults = defaultConfig();

  it('is multi-stage on node:20-bookworm-slim with npm ci and a non-root user', () => {
    expect(docker.match(/^FROM node:20-bookworm-slim AS \w+$/gm)?.length).toBe(2);
    expect(docker).toMatch(/RUN npm ci --omit=dev/);
    expect(docker).toMatch(/COPY --from=deps /);
    const user = /^USER (\S+)$/m.exec(docker)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)$/);
  });

  it('exposes the default playground, ops and Slack ports and checks /healthz on the ops port', () => {
    const exposed = /^EXPOSE (.+)$/m.exec(docker)?.[1].split(/\s+/).map(Number);
    expect(exposed).toEqual(expect.arrayContaining([defaults.playground.port, defaults.ops.port, defaults.slack.port]));
    expect(docker).toMatch(/HEALTHCHECK [\s\S]*\/healthz/);
    expect(docker).toContain(`EASEL_OPS_PORT || ${defaults.ops.port}`);
    expect(docker).toMatch(/^CMD \["node", "bin\/easel\.mjs", "start"\]$/m);
  });

  it('sets only variables Easel knows', () => {
    const block = /^ENV ([\s\S]*?)\n(?!\s)/m.exec(docker)?.[1] ?? '';
    const names = [...block.matchAll(/([A-Z_]+)=/g)].map((m) => m[1]).filter((n) => n !== 'NODE_ENV');
    expect(names.length).toBeGreaterThan(3);
    for (const n of names) expect(known.has(n), n).toBe(true);
  });

  it('builds native modules in the build stage and gives the runtime the fonts labels need', () => {
    const [deps, runtime] = docker.split(/^FROM /m).slice(1);
    expect(deps).toMatch(/apt-get install[^\n]*python3 make g\+\+/);
    // Install scripts must run (better-sqlite3 fetches or compiles its binary); the build checks it loads.
    expect(deps).not.toMatch(/--ignore-scripts/);
    expect(deps).toMatch(/require\('better-sqlite3'\)/);
    expect(runtime).toMatch(/apt-get install[^\n]*fonts-dejavu-core/);
    expect(runtime).toMatch(/apt-get install[^\n]*fontconfig-config/);
    expect(runtime).not.toMatch(/g\+\+|python3/);
  });

  it('copies only paths that exist', () => {
    for (const m of docker.matchAll(/^COPY --chown=\S+ (.+) \S+$/gm)) {
      for (const p of m[1].split(/\s+/)) expect(existsSync(path.join(PROJECT_ROOT, p)), p).toBe(true);
    }
  });
});

describe('production install (npm ci --omit=dev)', () => {
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
  const files = (dir: string): string[] =>
    readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(path.join(dir, e.name)) : /\.(ts|mjs|js)$/.test(e.name) && !dir.includes('public') ? [path.join(dir, e.name)] : [],
    );
  const packagesUsed = new Map<string, string>();
  for (const f of ['bin/easel.mjs', ...files('src')]) {
    for (const m of read(f).matchAll(/(?:from\s+|import\(\s*)'([^'.][^']*)'/g)) {
      if (m[1].startsWith('node:')) continue;
      const name = m[1].startsWith('@') ? m[1].split('/').slice(0, 2).join('/') : m[1].split('/')[0];
      packagesUsed.set(name, f);
    }
  }

  it('holds every package the runtime code imports (none is a dev dependency)', () => {
    expect(packagesUsed.get('tsx')).toBe('bin/easel.mjs');
    expect(packagesUsed.size).toBeGreaterThan(8);
    for (const [name, file] of packagesUsed) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, `${name} (imported by ${file}) is not in package-lock.json`).toBeDefined();
      expect(entry.dev ?? false, `${name} (imported by ${file}) is dev-only: the image would not have it`).toBe(false);
    }
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(read('docker-compose.yml')) as {
    services: Record<
      string,
      { environment?: Record<string, string>; ports?: string[]; depends_on?: Record<string, unknown>; healthcheck?: unknown; deploy?: { replicas?: number }; volumes?: string[] }
    >;
  };

  it('runs two Easel replicas on Redis with one shared images volume, publishing the playground and ops ports to localhost only', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['easel', 'redis']);
    const easel = compose.services.easel;
    expect(easel.depends_on).toHaveProperty('redis');
    expect(compose.services.redis.healthcheck).toBeDefined();
    expect(easel.deploy?.replicas).toBe(2);
    // A port range gives each replica its own host port.
    expect(easel.ports).toEqual(expect.arrayContaining(['127.0.0.1:7860-7861:7860', '127.0.0.1:9464-9465:9464']));
    // The images folder lies on the named volume every replica mounts.
    expect(easel.volumes).toContain('easel-data:/data');
    expect(easel.environment?.EASEL_STORAGE_DIR).toBe('/data/images');
    expect(easel.environment?.REDIS_URL).toContain('redis://redis:6379');
    for (const name of Object.keys(easel.environment ?? {})) expect(known.has(name), name).toBe(true);
  });

  it('has the commented ComfyUI GPU service with a device reservation', () => {
    const text = read('docker-compose.yml');
    expect(text).toMatch(/^ {2}# comfyui:$/m);
    expect(text).toMatch(/#\s+capabilities: \[gpu\]/);
  });
});

describe('.dockerignore', () => {
  it('keeps secrets, dependencies and local data out of the image', () => {
    const lines = read('.dockerignore').split('\n');
    for (const p of ['.env', 'node_modules', '.git', '.easel']) expect(lines).toContain(p);
  });
});
