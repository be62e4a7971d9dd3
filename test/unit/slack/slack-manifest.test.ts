/**
 * slack-manifest.yaml against the rules Slack's manifest validator applies (limits from the manifest
 * reference, as typed in @slack/web-api's request/manifest.d.ts, plus the cross-field rules Slack
 * enforces: an event needs its scope, event subscriptions and interactivity need a request URL unless
 * Socket Mode is on). Both ways of using the file are checked: as shipped (HTTP) and with
 * socket_mode_enabled switched on (the one edit docs/slack.md asks for). Finally, every Web API method
 * the Slack front end calls must be covered by a scope the manifest asks for.
 */
import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MESSAGE_SHORTCUT } from '../../../src/bot/slack/slack-bot.ts';

type Obj = Record<string, any>;

const root = new URL('../../../', import.meta.url);
const text = await readFile(new URL('slack-manifest.yaml', root), 'utf8');

const KNOWN_TOP = new Set(['_metadata', 'display_information', 'features', 'oauth_config', 'settings', 'functions', 'workflows', 'outgoing_domains']);
const EVENT_SCOPES: Record<string, string[]> = {
  app_mention: ['app_mentions:read'],
  'message.channels': ['channels:history'],
  'message.groups': ['groups:history'],
  'message.im': ['im:history'],
  'message.mpim': ['mpim:history'],
};
/** Scopes a Web API method needs (any one of them), for the methods Easel calls. */
const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.delete': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  'conversations.replies': ['channels:history', 'groups:history', 'im:history', 'mpim:history'],
  'files.delete': ['files:write'],
  'files.info': ['files:read'],
  'files.getUploadURLExternal': ['files:write'],
  'files.completeUploadExternal': ['files:write'],
  'views.open': [],
  'views.update': [],
};

function httpsUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    return new URL(v).protocol === 'https:';
  } catch {
    return false;
  }
}

/** The problems Slack's validator would report for a manifest (empty when it would accept it). */
function validate(m: Obj): string[] {
  const p: string[] = [];
  const str = (v: unknown, where: string, max: number, min = 1) => {
    if (typeof v !== 'string' || v.length < min || v.length > max) p.push(`${where}: must be a string of ${min}-${max} characters`);
  };
  for (const key of Object.keys(m)) if (!KNOWN_TOP.has(key)) p.push(`${key}: unknown top-level key`);
  const d = m.display_information ?? {};
  str(d.name, 'display_information.name', 35);
  if (d.description !== undefined) str(d.description, 'display_information.description', 140);
  if (d.long_description !== undefined) str(d.long_description, 'display_information.long_description', 4000, 174);
  if (d.background_color !== undefined && !/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(d.background_color)) p.push('display_information.background_color: hex colour');

  const f = m.features ?? {};
  const socket = m.settings?.socket_mode_enabled === true;
  if (f.bot_user) str(f.bot_user.display_name, 'features.bot_user.display_name', 80);
  if (f.slash_commands !== undefined) {
    if (!Array.isArray(f.slash_commands) || f.slash_commands.length === 0 || f.slash_commands.length > 50) p.push('features.slash_commands: 1-50 entries');
    const seen = new Set<string>();
    for (const [i, c] of (f.slash_commands ?? []).entries()) {
      const w = `features.slash_commands[${i}]`;
      str(c.command, `${w}.command`, 32, 2);
      if (typeof c.command === 'string' && !/^\/[a-z0-9_-]+$/.test(c.command)) p.push(`${w}.command: a slash and a lowercase name`);
      if (seen.has(c.command)) p.push(`${w}.command: duplicate`);
      seen.add(c.command);
      str(c.description, `${w}.description`, 2000);
      if (c.usage_hint !== undefined) str(c.usage_hint, `${w}.usage_hint`, 1000);
      if (c.should_escape !== undefined && typeof c.should_escape !== 'boolean') p.push(`${w}.should_escape: boolean`);
      if (!socket && !httpsUrl(c.url)) p.push(`${w}.url: an https URL is required without Socket Mode`);
      if (c.url !== undefined && !httpsUrl(c.url)) p.push(`${w}.url: must be https`);
    }
  }
  if (f.shortcuts !== undefined) {
    if (!Array.isArray(f.shortcuts) || f.shortcuts.length > 10) p.push('features.shortcuts: at most 10');
    for (const [i, s] of (f.shortcuts ?? []).entries()) {
      const w = `features.shortcuts[${i}]`;
      if (s.type !== 'message' && s.type !== 'global') p.push(`${w}.type: message or global`);
      str(s.name, `${w}.name`, 255);
      str(s.callback_id, `${w}.callback_id`, 255);
      str(s.description, `${w}.description`, 150);
    }
  }

  const scopes: unknown = m.oauth_config?.scopes?.bot;
  if (!Array.isArray(scopes) || scopes.length === 0 || scopes.length > 255) p.push('oauth_config.scopes.bot: 1-255 scopes');
  const bot = new Set<string>(Array.isArray(scopes) ? scopes : []);
  if (bot.size !== (scopes as string[] | undefined)?.length) p.push('oauth_config.scopes.bot: duplicates');
  if ((f.slash_commands?.length || f.shortcuts?.length) && !bot.has('commands')) p.push('commands scope: needed by slash commands and shortcuts');
  if (f.bot_user === undefined && bot.size > 0) p.push('features.bot_user: needed for bot scopes');

  const s = m.settings ?? {};
  const ev = s.event_subscriptions;
  if (ev) {
    if (!socket && !httpsUrl(ev.request_url)) p.push('settings.event_subscriptions: Event Subscription requires either Request URL or Socket Mode Enabled');
    if (!Array.isArray(ev.bot_events) || ev.bot_events.length > 100) p.push('settings.event_subscriptions.bot_events: at most 100');
    for (const e of ev.bot_events ?? []) {
      const need = EVENT_SCOPES[e];
      if (!need) p.push(`settings.event_subscriptions.bot_events: unknown event ${e}`);
      else if (!need.some((x) => bot.has(x))) p.push(`settings.event_subscriptions.bot_events: ${e} needs ${need.join(' or ')}`);
    }
  }
  const ia = s.interactivity;
  if (ia) {
    if (typeof ia.is_enabled !== 'boolean') p.push('settings.interactivity.is_enabled: boolean');
    if (ia.is_enabled && !socket && !httpsUrl(ia.request_url)) p.push('settings.interactivity.request_url: required without Socket Mode');
  }
  if ((f.shortcuts?.length ?? 0) > 0 && !ia?.is_enabled) p.push('settings.interactivity: shortcuts need interactivity');
  for (const k of ['org_deploy_enabled', 'socket_mode_enabled', 'token_rotation_enabled']) {
    if (s[k] !== undefined && typeof s[k] !== 'boolean') p.push(`settings.${k}: boolean`);
  }
  return p;
}

/** Web API methods called in src/bot/slack (filesUploadV2 stands for its two files.* methods). */
async function methodsCalled(): Promise<Set<string>> {
  const dir = new URL('src/bot/slack/', root);
  const out = new Set<string>();
  for (const name of await readdir(dir)) {
    const src = (await readFile(new URL(name, dir), 'utf8')).replace(/\s+/g, '');
    for (const m of src.matchAll(/client\.([a-z]+)\.([a-zA-Z]+)\(/g)) out.add(`${m[1]}.${m[2]}`);
    if (src.includes('filesUploadV2(')) ['files.getUploadURLExternal', 'files.completeUploadExternal'].forEach((x) => out.add(x));
  }
  return out;
}

describe('slack-manifest.yaml', () => {
  const manifest = parse(text) as Obj;

  it('is YAML that Slack accepts as shipped (HTTP mode)', () => {
    expect(validate(manifest)).toEqual([]);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    for (const url of [manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url]) {
      expect(url).toMatch(/^https:\/\/[^/]+\/slack\/events$/);
    }
  });

  it('is still valid with socket_mode_enabled switched on (the Socket Mode set-up)', () => {
    const socket = parse(text) as Obj;
    socket.settings.socket_mode_enabled = true;
    expect(validate(socket)).toEqual([]);
    // ...and also when someone deletes the placeholder URLs, which Socket Mode ignores.
    for (const c of socket.features.slash_commands) delete c.url;
    delete socket.settings.event_subscriptions.request_url;
    delete socket.settings.interactivity.request_url;
    expect(validate(socket)).toEqual([]);
  });

  it('the validator catches what Slack refuses (so the checks above can fail)', () => {
    const bad = parse(text) as Obj;
    bad.display_information.name = 'x'.repeat(36);
    bad.display_information.long_description = 'too short';
    bad.features.slash_commands.push({ ...bad.features.slash_commands[0] });
    bad.features.slash_commands[1].url = 'http://insecure.example.com/slack/events';
    bad.oauth_config.scopes.bot = bad.oauth_config.scopes.bot.filter((s: string) => s !== 'app_mentions:read');
    delete bad.settings.event_subscriptions.request_url;
    const problems = validate(bad).join('\n');
    expect(problems).toMatch(/display_information\.name/);
    expect(problems).toMatch(/long_description/);
    expect(problems).toMatch(/command: duplicate/);
    expect(problems).toMatch(/slash_commands\[1\]\.url/);
    expect(problems).toMatch(/app_mention needs app_mentions:read/);
    expect(problems).toMatch(/requires either Request URL or Socket Mode/);
  });

  it('asks for the message shortcut Easel listens to and the app_mention event', () => {
    expect(manifest.features.shortcuts).toEqual([expect.objectContaining({ type: 'message', callback_id: MESSAGE_SHORTCUT })]);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['app_mention']);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('asks for a scope covering every Web API method the Slack front end calls, and files:read for downloads', async () => {
    const bot = new Set<string>(manifest.oauth_config.scopes.bot);
    const called = await methodsCalled();
    expect(called.size).toBeGreaterThan(5);
    for (const method of called) {
      const need = METHOD_SCOPES[method];
      expect(need, `no scope known for ${method}: add it to METHOD_SCOPES and the manifest`).toBeDefined();
      if (need.length > 0) expect(need.filter((s) => bot.has(s)), method).not.toEqual([]);
    }
    // Thread images are read in every kind of conversation Easel can be mentioned in.
    for (const s of METHOD_SCOPES['conversations.replies']) expect(bot.has(s), s).toBe(true);
    expect(bot.has('files:read')).toBe(true); // url_private downloads; without it Slack serves a sign-in page
  });
});
