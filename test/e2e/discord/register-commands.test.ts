/**
 * `easel register` against the fake Discord: the real command set is accepted by Discord's checks,
 * a second run writes nothing, and a changed or stale command is patched or removed without
 * spending the daily create quota.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../../../src/bot/discord/register-commands.ts';
import { loadPresets } from '../../../src/commands/preset-loader.ts';
import { CommandRegistry } from '../../../src/commands/registry.ts';
import type { CommandSpec } from '../../../src/commands/types.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import { FakeDiscord } from '../../fakes/discord/fake-discord.ts';

let fake: FakeDiscord;
let specs: CommandSpec[];

beforeAll(async () => {
  fake = await FakeDiscord.start();
  const config = defaultConfig();
  specs = new CommandRegistry(await loadPresets(config.presetsDir), config).specs;
});
afterAll(async () => {
  await fake?.close();
});

function writes(): string[] {
  return fake.requests.filter((r) => r.path.includes('/commands') && r.method !== 'GET').map((r) => `${r.method} ${r.status}`);
}

describe('registerCommands', () => {
  it('creates every command in the guild, then leaves them alone on a second run', async () => {
    const cfg = { token: fake.token, applicationId: fake.applicationId, guildId: fake.guildId, apiBase: fake.apiBase };
    const first = await registerCommands(specs, cfg);
    expect(first.scope).toBe('guild');
    expect(first.created).toEqual(expect.arrayContaining(['restyle', 'upscale', 'variations', 'sketch', 'restore', 'hires', 'blend', 'easel', 'Restyle image', 'Upscale image', 'Make variations']));
    expect(writes()).toEqual(['PUT 200']);
    const created = fake.commandCreates;
    const before = fake.requests.length;

    const second = await registerCommands(specs, cfg);
    expect(second.created).toEqual([]);
    expect(second.updated).toEqual([]);
    expect(second.unchanged.length).toBe(first.created.length);
    expect(fake.requests.slice(before).map((r) => r.method)).toEqual(['GET']);
    expect(fake.commandCreates).toBe(created);
  });

  it('updates a changed command and drops a stale one, keeping ids and the create quota', async () => {
    const cfg = { token: fake.token, applicationId: fake.applicationId, guildId: fake.guildId, apiBase: fake.apiBase };
    const guildCommands = fake.commands.get(fake.guildId)!;
    const restyle = guildCommands.find((c) => c.name === 'restyle')!;
    restyle.description = 'An old description';
    guildCommands.push({ id: '42', name: 'oldcommand', description: 'gone', type: 1, application_id: fake.applicationId, version: '1' });
    const created = fake.commandCreates;
    const restyleId = restyle.id;
    const result = await registerCommands(specs, cfg);
    expect(result.updated).toEqual(['restyle']);
    expect(fake.commands.get(fake.guildId)!.find((c) => c.name === 'restyle')!.id).toBe(restyleId);
    expect(fake.commands.get(fake.guildId)!.some((c) => c.name === 'oldcommand')).toBe(false);
    expect(result.deleted).toEqual(['oldcommand']);
    expect(result.created).toEqual([]);
    expect(fake.commandCreates).toBe(created);
    expect(fake.commands.get(fake.guildId)!.find((c) => c.name === 'restyle')!.description).toBe(specs.find((s) => s.name === 'restyle')!.description);
  });

  it('registers globally when no guild is configured', async () => {
    const result = await registerCommands(specs, { token: fake.token, applicationId: fake.applicationId, apiBase: fake.apiBase });
    expect(result.scope).toBe('global');
    expect(fake.commands.get('')?.length).toBe(result.created.length);
  });

  it('explains a missing token or application id', async () => {
    await expect(registerCommands(specs, { applicationId: '1' })).rejects.toThrow(/DISCORD_TOKEN/);
    await expect(registerCommands(specs, { token: 't' })).rejects.toThrow(/DISCORD_APPLICATION_ID/);
  });
});

describe('npx easel register (the CLI)', () => {
  it('registers from a config file, reports counts, writes nothing the second time, and stops on a used-up quota', async () => {
    const { main } = await import('../../../src/cli/main.ts');
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const { vi } = await import('vitest');
    const own = await FakeDiscord.start();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'easel-register-'));
    const file = path.join(dir, 'easel.yaml');
    await writeFile(
      file,
      `dataDir: ${JSON.stringify(dir)}\ndiscord:\n  applicationId: "${own.applicationId}"\n  guildId: "${own.guildId}"\n  apiBase: ${own.apiBase}\n`,
    );
    const out: string[] = [];
    const err: string[] = [];
    const so = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    const se = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
    const saved = process.env.DISCORD_TOKEN;
    process.env.DISCORD_TOKEN = own.token;
    try {
      expect(await main(['register', '--config', file])).toBe(0);
      expect(out.join('')).toMatch(new RegExp(`in guild ${own.guildId}: 11 created, 0 updated, 0 unchanged, 0 removed`));
      out.length = 0;
      expect(await main(['register', '--config', file])).toBe(0);
      expect(out.join('')).toMatch(/0 created, 0 updated, 11 unchanged/);
      expect(own.commands.get(own.guildId)?.length).toBe(11);
      // --global ignores the guild; with the day's creates used up it says so instead of waiting a day.
      own.commandCreates = 200;
      const t0 = Date.now();
      expect(await main(['register', '--config', file, '--global'])).toBe(1);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(err.join('')).not.toContain(own.token);
      expect(own.commands.get('') ?? []).toEqual([]);
    } finally {
      so.mockRestore();
      se.mockRestore();
      if (saved === undefined) delete process.env.DISCORD_TOKEN;
      else process.env.DISCORD_TOKEN = saved;
      await own.close();
      await rm(dir, { recursive: true, force: true });
    }
    // What the user was told when the quota ran out.
    expect(err.join('')).toMatch(/easel: Discord refuses more command changes .*200 new commands.*Try again in about (23|24) h/);
  }, 20_000);
});
