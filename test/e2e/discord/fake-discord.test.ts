/**
 * The fake Discord itself, driven by the real discord.js client: it must accept what Discord accepts
 * and refuse what Discord refuses, with Discord's error codes.
 */
import { Client, DiscordAPIError, Events, GatewayIntentBits, MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscord } from '../../fakes/discord/fake-discord.ts';

let fake: FakeDiscord;
let client: Client;
const seen: ChatInputCommandInteraction[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

async function nextCommand(name: string, opts: Parameters<FakeDiscord['slashCommand']>[1]): Promise<ChatInputCommandInteraction> {
  const before = seen.length;
  await fake.slashCommand(name, opts);
  return fake.waitFor(() => seen.length > before && seen[seen.length - 1], 5000, 'interactionCreate');
}

function codeOf(err: unknown): number | string | undefined {
  return err instanceof DiscordAPIError ? err.code : undefined;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  fake = await FakeDiscord.start({ rateLimit: { limit: 5, windowMs: 2000 } });
  client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: fake.apiBase },
    ws: { buildIdentifyThrottler: async () => ({ waitForIdentify: async () => {} }) },
  } as ConstructorParameters<typeof Client>[0]);
  client.on(Events.InteractionCreate, (i) => {
    if (i.isChatInputCommand()) seen.push(i);
    fake.notify();
  });
  const ready = new Promise<void>((r) => client.once(Events.ClientReady, () => r()));
  await client.login(fake.token);
  await ready;
});

afterAll(async () => {
  await client?.destroy();
  await fake?.close();
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('fake Discord with the real discord.js', () => {
  it('logs in: gateway/bot, HELLO, IDENTIFY, READY and an available guild', () => {
    expect(client.application?.id).toBe(fake.applicationId);
    const guild = client.guilds.cache.get(fake.guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.has(fake.channelId)).toBe(true);
  });

  it('refuses a wrong token the way Discord does', async () => {
    const other = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: fake.apiBase, retries: 0 } });
    await expect(other.login('wrong.token')).rejects.toThrow(/token/i);
    await other.destroy();
  });

  it('accepts one acknowledgement within 3 s and refuses a second with 40060', async () => {
    const alice = fake.addUser('alice');
    const i = await nextCommand('ping', { user: alice });
    await i.deferReply();
    const raw = await fetch(`${fake.apiBase}/v10/interactions/${i.id}/${i.token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 5 }),
    });
    expect(raw.status).toBe(400);
    expect((await raw.json()).code).toBe(40060);
    await i.editReply('pong');
    const fi = fake.interactions.get(i.token)!;
    expect(fake.original(fi)?.content).toBe('pong');
  });

  it('answers 10062 Unknown interaction when the bot acknowledges after 3 s', async () => {
    const i = await nextCommand('slow', { user: fake.addUser('bob') });
    fake.clock.advance(3500);
    const err = await i.deferReply().catch((e: unknown) => e);
    expect(codeOf(err)).toBe(10062);
  });

  it('refuses webhook edits after the 15-minute token with 50027', async () => {
    const i = await nextCommand('long', { user: fake.addUser('carol') });
    await i.deferReply();
    await i.editReply('working');
    fake.clock.advance(15 * 60 * 1000 + 1000);
    const err = await i.editReply('done').catch((e: unknown) => e);
    expect(codeOf(err)).toBe(50027);
  });

  it('checks message limits: content, custom_id, rows, buttons, files, file size', async () => {
    const i = await nextCommand('limits', { user: fake.addUser('dave') });
    await i.deferReply();
    const tooLong = await i.editReply('x'.repeat(2001)).catch((e: unknown) => e);
    expect(codeOf(tooLong)).toBe(50035);
    expect(JSON.stringify((tooLong as DiscordAPIError).rawError)).toContain('2000 or fewer');
    const btn = (id: string) => ({ type: 2, style: 1, label: 'x', custom_id: id });
    const longId = await i.editReply({ components: [{ type: 1, components: [btn('a'.repeat(101))] }] } as never).catch((e: unknown) => e);
    expect(codeOf(longId)).toBe(50035);
    const sixRows = Array.from({ length: 6 }, (_, r) => ({ type: 1, components: [btn(`r${r}`)] }));
    expect(codeOf(await i.editReply({ components: sixRows } as never).catch((e: unknown) => e))).toBe(50035);
    const sixButtons = [{ type: 1, components: Array.from({ length: 6 }, (_, b) => btn(`b${b}`)) }];
    expect(codeOf(await i.editReply({ components: sixButtons } as never).catch((e: unknown) => e))).toBe(50035);
    const dup = [{ type: 1, components: [btn('same'), btn('same')] }];
    expect(codeOf(await i.editReply({ components: dup } as never).catch((e: unknown) => e))).toBe(50035);
    const files = Array.from({ length: 11 }, (_, n) => ({ name: `f${n}.txt`, attachment: Buffer.from('hi') }));
    expect(codeOf(await i.editReply({ files }).catch((e: unknown) => e))).toBe(50035);
    const big = await i.editReply({ files: [{ name: 'big.bin', attachment: Buffer.alloc(10 * 1024 * 1024 + 1) }] }).catch((e: unknown) => e);
    expect(codeOf(big)).toBe(40005);
    // Within the limits it works, and the files are served back.
    const ok = await i.editReply({ content: 'fine', files: [{ name: 'a.txt', attachment: Buffer.from('hello') }], components: [{ type: 1, components: [btn('ok')] }] } as never);
    expect(ok.attachments.size).toBe(1);
    const url = ok.attachments.first()!.url;
    expect(await (await fetch(url)).text()).toBe('hello');
  });

  it('answers 10008 for edits of a deleted message', async () => {
    const i = await nextCommand('gone', { user: fake.addUser('erin') });
    await i.deferReply();
    const fi = fake.interactions.get(i.token)!;
    fake.deleteMessage(fi.originalMessageId!);
    expect(codeOf(await i.editReply('late').catch((e: unknown) => e))).toBe(10008);
  });

  it('sends an ephemeral follow-up and refuses channel posts without permission (50013)', async () => {
    const i = await nextCommand('perm', { user: fake.addUser('finn') });
    await i.reply({ content: 'hi', flags: MessageFlags.Ephemeral });
    const fi = fake.interactions.get(i.token)!;
    expect(fake.original(fi)?.flags).toBe(64);
    fake.setChannelWritable(fake.channelId, false);
    try {
      const err = await client.rest.post(`/channels/${fake.channelId}/messages`, { body: { content: 'x' } }).catch((e: unknown) => e);
      expect(codeOf(err)).toBe(50013);
    } finally {
      fake.setChannelWritable(fake.channelId, true);
    }
  });

  it('rate-limits a hammered route with X-RateLimit headers and 429 retry_after', async () => {
    const channel = fake.addChannel('hammered');
    const url = `${fake.apiBase}/v10/channels/${channel.id}/messages`;
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let n = 0; n < 7; n++) {
      last = await fetch(url, { method: 'POST', headers: { authorization: `Bot ${fake.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ content: `n${n}` }) });
      statuses.push(last.status);
      if (last.status === 200) expect(last.headers.get('x-ratelimit-remaining')).not.toBeNull();
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses[5]).toBe(429);
    const body = await last!.json();
    expect(body.retry_after).toBeGreaterThan(0);
    expect(last!.headers.get('retry-after')).not.toBeNull();
  });

  it('validates application commands and keeps ids across PUT', async () => {
    const route = `/applications/${fake.applicationId}/guilds/${fake.guildId}/commands` as const;
    const bad = await client.rest.put(route, { body: [{ name: 'Bad Name', description: 'x', type: 1 }] }).catch((e: unknown) => e);
    expect(codeOf(bad)).toBe(50035);
    const first = (await client.rest.put(route, { body: [{ name: 'hello', description: 'Say hi', type: 1 }] })) as Array<{ id: string }>;
    const again = (await client.rest.put(route, { body: [{ name: 'hello', description: 'Say hello', type: 1 }] })) as Array<{ id: string }>;
    expect(again[0].id).toBe(first[0].id);
    expect(fake.commandCreates).toBe(1);
  });

  it('reads back others’ messages without content, attachments or embeds (no MESSAGE_CONTENT intent)', async () => {
    const author = fake.addUser('hana');
    const pic = fake.addAttachment('pic.png', Buffer.from('png bytes'), 'image/png');
    const plain = fake.postUserMessage(author, { content: 'look', attachments: [pic], embeds: [{ title: 'a link' }] });
    const read = (await client.rest.get(`/channels/${fake.channelId}/messages/${plain.id}`)) as { content: string; attachments: unknown[]; embeds: unknown[] };
    expect(read.content).toBe('');
    expect(read.attachments).toEqual([]);
    expect(read.embeds).toEqual([]);
    // A message that mentions the bot is readable, and so is the bot's own.
    const mention = fake.postUserMessage(author, { content: `<@${fake.botUser.id}> this one`, attachments: [fake.addAttachment('m.png', Buffer.from('png'), 'image/png')] });
    const readMention = (await client.rest.get(`/channels/${fake.channelId}/messages/${mention.id}`)) as { content: string; attachments: unknown[] };
    expect(readMention.content).toContain('this one');
    expect(readMention.attachments).toHaveLength(1);
    const own = (await client.rest.post(`/channels/${fake.channelId}/messages`, { body: { content: 'mine' } })) as { id: string };
    expect(((await client.rest.get(`/channels/${fake.channelId}/messages/${own.id}`)) as { content: string }).content).toBe('mine');
    // A context-menu command still carries the full target message.
    const seenMenu = new Promise<{ targetMessage: { attachments: { size: number } } }>((r) =>
      client.once(Events.InteractionCreate, (i) => (i.isMessageContextMenuCommand() ? r(i as never) : undefined)),
    );
    await fake.messageCommand('Look', plain, { user: fake.addUser('ivy') });
    expect((await seenMenu).targetMessage.attachments.size).toBe(1);
  });

  it('answers 50001 for a channel the bot cannot see, 50013 for files without Attach Files, 50007 for closed DMs', async () => {
    const hidden = fake.addChannel('mods-only', { botCanView: false });
    expect(codeOf(await client.rest.post(`/channels/${hidden.id}/messages`, { body: { content: 'x' } }).catch((e: unknown) => e))).toBe(50001);
    expect(codeOf(await client.rest.get(`/channels/${hidden.id}/messages/${fake.channelId}`).catch((e: unknown) => e))).toBe(50001);
    const textOnly = fake.addChannel('no-files', { botCanAttach: false });
    const withFile = await client.rest
      .post(`/channels/${textOnly.id}/messages`, { body: { content: 'x' }, files: [{ name: 'a.png', data: Buffer.from('png') }] })
      .catch((e: unknown) => e);
    expect(codeOf(withFile)).toBe(50013);
    expect(await client.rest.post(`/channels/${textOnly.id}/messages`, { body: { content: 'text is fine' } })).toBeTruthy();
    const shy = fake.addUser('jun');
    fake.closedDms.add(shy.id);
    const dm = (await client.rest.post('/users/@me/channels', { body: { recipient_id: shy.id } })) as { id: string };
    expect(codeOf(await client.rest.post(`/channels/${dm.id}/messages`, { body: { content: 'hi' } }).catch((e: unknown) => e))).toBe(50007);
  });

  it('signs CDN links (ex/is/hm) and refuses expired, unsigned or tampered ones', async () => {
    const a = fake.addAttachment('signed.txt', Buffer.from('signed'), 'text/plain');
    const url = new URL(a.url);
    expect(url.searchParams.get('ex')).toMatch(/^[0-9a-f]+$/);
    expect(url.searchParams.get('is')).toMatch(/^[0-9a-f]+$/);
    expect(url.searchParams.get('hm')).toMatch(/^[0-9a-f]{64}$/);
    expect(await (await fetch(a.url)).text()).toBe('signed');
    expect((await fetch(`${url.origin}${url.pathname}`)).status).toBe(404);
    const later = new URL(a.url);
    later.searchParams.set('ex', (parseInt(later.searchParams.get('ex')!, 16) + 86400).toString(16));
    expect((await fetch(later)).status).toBe(404);
    fake.clock.advance(25 * 60 * 60 * 1000);
    try {
      const expired = await fetch(a.url);
      expect(expired.status).toBe(404);
      expect(await expired.text()).toMatch(/no longer available/);
    } finally {
      fake.clock.advance(-25 * 60 * 60 * 1000);
    }
  });

  it('checks embeds the way Discord does and resolves their images', async () => {
    const i = await nextCommand('embeds', { user: fake.addUser('kim') });
    await i.deferReply();
    const form = async (embeds: unknown[]) => {
      const err = await i.editReply({ embeds } as never).catch((e: unknown) => e);
      expect(codeOf(err)).toBe(50035);
      return JSON.stringify((err as DiscordAPIError).rawError);
    };
    expect(await form([{ title: 't'.repeat(257) }])).toContain('256 or fewer');
    expect(await form([{ description: 'd'.repeat(4097) }])).toContain('4096 or fewer');
    expect(await form([{ fields: Array.from({ length: 26 }, (_, n) => ({ name: `f${n}`, value: 'v' })) }])).toContain('25 or fewer');
    expect(await form([{ footer: { text: 'f'.repeat(2049) } }])).toContain('2048 or fewer');
    expect(await form([{ description: 'd'.repeat(4000) }, { description: 'd'.repeat(2001) }])).toContain('MAX_EMBED_SIZE_EXCEEDED');
    expect(await form([{ image: { url: 'ftp://example.com/a.png' } }])).toContain('URL_TYPE_INVALID_SCHEME');
    // attachment:// points at a file of the same message; an outside image gets a proxy_url.
    const ok = await i.editReply({
      files: [{ name: 'pic.png', attachment: Buffer.from('png') }],
      embeds: [{ image: { url: 'attachment://pic.png' }, thumbnail: { url: 'https://example.com/cat.png' } }],
    } as never);
    const embed = ok.embeds[0];
    expect(embed.image?.url).toBe(ok.attachments.first()!.url);
    expect(embed.thumbnail?.url).toBe('https://example.com/cat.png');
    expect(embed.thumbnail?.proxyURL).toMatch(new RegExp(`^${fake.origin}/external/`));
    fake.addExternalImage('https://example.com/cat.png', Buffer.from('cat'), 'image/png');
    expect(await (await fetch(embed.thumbnail!.proxyURL!)).text()).toBe('cat');
  });

  it('enforces its real per-file cap on webhooks even when the interaction reports a larger one', async () => {
    const strict = await FakeDiscord.start({ attachmentSizeLimit: 4096, enforcedFileBytes: 1024 });
    try {
      const user = strict.addUser('lee');
      const c = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: strict.apiBase }, ws: { buildIdentifyThrottler: async () => ({ waitForIdentify: async () => {} }) } } as ConstructorParameters<typeof Client>[0]);
      const got = new Promise<ChatInputCommandInteraction>((r) => c.on(Events.InteractionCreate, (x) => (x.isChatInputCommand() ? r(x) : undefined)));
      const ready = new Promise<void>((r) => c.once(Events.ClientReady, () => r()));
      await c.login(strict.token);
      await ready;
      await strict.slashCommand('cap', { user });
      const i = await got;
      await i.deferReply();
      expect(i.attachmentSizeLimit).toBe(4096);
      expect(codeOf(await i.editReply({ files: [{ name: 'b.bin', attachment: Buffer.alloc(2048) }] }).catch((e: unknown) => e))).toBe(40005);
      expect((await i.editReply({ files: [{ name: 's.bin', attachment: Buffer.alloc(512) }] })).attachments.size).toBe(1);
      await c.destroy();
    } finally {
      await strict.close();
    }
  });

  it('resumes the session after a RECONNECT (op 7)', async () => {
    const resumed = new Promise<void>((r) => client.ws.once('shardResume' as never, () => r()));
    const fired = new Promise<void>((r) => client.once(Events.ShardResume, () => r()));
    fake.requestReconnect();
    await Promise.race([resumed, fired]);
    const i = await nextCommand('after', { user: fake.addUser('gus') });
    await i.reply('still here');
    expect(fake.original(fake.interactions.get(i.token)!)?.content).toBe('still here');
  });
});
