/**
 * The fake Slack checks what real Slack checks: tokens, Block Kit limits, trigger_id lifetime and
 * single use, files v2 steps, asynchronous file shares, authenticated downloads (HTML sign-in page
 * otherwise), response_url limits, signatures, tiered rate limits (429 + Retry-After). Driven with the
 * real @slack/web-api client.
 */
import { ErrorCode, WebClient, type WebAPIRateLimitedError } from '@slack/web-api';
import WebSocket from 'ws';
import { startSlackBot } from '../../../src/bot/slack/slack-bot.ts';
import type { Easel } from '../../../src/app/types.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../../fakes/slack/fake-slack.ts';

let fake: FakeSlack;
let web: WebClient;
/** The SDK logs every ok:false answer; these tests provoke them on purpose. */
const quiet = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel: () => 'error' as never, setName() {} };

beforeAll(async () => {
  fake = await FakeSlack.start();
  // These tests post many messages in one channel quickly to check other things; Slack's 1-per-second
  // posting limit is checked on its own below ('rate limits').
  fake.rateLimits.set('chat.postMessage', undefined);
  web = new WebClient(fake.botToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger: quiet });
});

afterAll(async () => {
  await fake.close();
});

function slackError(err: unknown): string | undefined {
  return (err as { data?: { error?: string } }).data?.error;
}

async function errorOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return slackError(err);
  }
}

describe('fake slack web api', () => {
  it('checks the bearer token and token type', async () => {
    expect(await errorOf(new WebClient('xoxb-wrong', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger: quiet }).auth.test())).toBe('invalid_auth');
    expect((await web.auth.test()).user_id).toBe('U0BOT0001');
    expect(await errorOf(web.apps.connections.open())).toBe('not_allowed_token_type');
    const app = new WebClient(fake.appToken, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 }, logger: quiet });
    expect((await app.apps.connections.open()).url).toMatch(/^ws:\/\/127\.0\.0\.1/);
    expect(await errorOf(app.chat.postMessage({ channel: 'C0CHAN001', text: 'x' }))).toBe('not_allowed_token_type');
  });

  it('answers channel_not_found, no_text, not_in_channel', async () => {
    expect(await errorOf(web.chat.postMessage({ channel: 'C0NOPE', text: 'hi' }))).toBe('channel_not_found');
    expect(await errorOf(web.chat.postMessage({ channel: 'C0CHAN001', text: '' }))).toBe('no_text');
    fake.addChannel('C0OUTSIDE', 'outside', { botMember: false });
    expect(await errorOf(web.chat.postMessage({ channel: 'C0OUTSIDE', text: 'hi' }))).toBe('not_in_channel');
  });

  it('enforces block limits (50 blocks, 3000 chars, action_id 255, value 2000, 25 elements)', async () => {
    const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
    const button = (id: string, value = 'v') => ({ type: 'button', action_id: id, value, text: { type: 'plain_text', text: 'Go' } });
    const post = (blocks: unknown[]) => web.chat.postMessage({ channel: 'C0CHAN001', text: 'x', blocks: blocks as never });
    expect(await errorOf(post(Array.from({ length: 50 }, () => section('ok'))))).toBeUndefined();
    expect(await errorOf(post(Array.from({ length: 51 }, () => section('ok'))))).toBe('invalid_blocks');
    expect(await errorOf(post([section('x'.repeat(3001))]))).toBe('invalid_blocks');
    expect(await errorOf(post([{ type: 'actions', elements: [button('a'.repeat(256))] }]))).toBe('invalid_blocks');
    expect(await errorOf(post([{ type: 'actions', elements: [button('a', 'v'.repeat(2001))] }]))).toBe('invalid_blocks');
    expect(await errorOf(post([{ type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button(`b${i}`)) }]))).toBe('invalid_blocks');
    expect(await errorOf(post([{ type: 'actions', elements: [button('same'), button('same')] }]))).toBe('invalid_blocks');
    expect(await errorOf(post([{ type: 'input', label: { type: 'plain_text', text: 'x' }, element: { type: 'plain_text_input' } }]))).toBe('invalid_blocks');
  });

  it('posts, threads, updates and deletes messages', async () => {
    const root = await web.chat.postMessage({ channel: 'C0CHAN001', text: 'root' });
    const reply = await web.chat.postMessage({ channel: 'C0CHAN001', text: 'reply', thread_ts: root.ts });
    expect(fake.thread('C0CHAN001', root.ts!).map((m) => m.text)).toEqual(['root', 'reply']);
    await web.chat.update({ channel: 'C0CHAN001', ts: reply.ts!, text: 'edited' });
    expect(fake.message('C0CHAN001', reply.ts!)?.text).toBe('edited');
    await web.chat.delete({ channel: 'C0CHAN001', ts: reply.ts! });
    expect(fake.message('C0CHAN001', reply.ts!)).toBeUndefined();
    expect(await errorOf(web.chat.update({ channel: 'C0CHAN001', ts: reply.ts!, text: 'again' }))).toBe('message_not_found');
    const user = fake.userMessage({ text: 'a user wrote this' });
    expect(await errorOf(web.chat.update({ channel: 'C0CHAN001', ts: user.ts, text: 'hijack' }))).toBe('cant_update_message');
  });

  it('runs the three files v2 steps and shows the files in the thread', async () => {
    const root = await web.chat.postMessage({ channel: 'C0CHAN001', text: 'root' });
    const data = Buffer.from('not really a png but bytes');
    const res = (await web.filesUploadV2({
      channel_id: 'C0CHAN001',
      thread_ts: root.ts,
      file_uploads: [
        { file: data, filename: 'a.png', title: 'A' },
        { file: Buffer.from('second'), filename: 'b.png', title: 'B' },
      ],
    } as never)) as unknown as { files: Array<{ files: Array<{ id: string }> }> };
    const ids = res.files[0].files.map((f) => f.id);
    expect(ids).toHaveLength(2);
    const shared = await fake.waitFor(() => fake.thread('C0CHAN001', root.ts!)[1], 'the shared files');
    expect(shared.files).toEqual(ids);
    expect(fake.file(ids[0])?.data?.equals(data)).toBe(true);
    expect(fake.file(ids[0])?.title).toBe('A');
  });

  it('shares a completed upload asynchronously: at first only files.info knows the file, with no shares', async () => {
    const root = await web.chat.postMessage({ channel: 'C0CHAN001', text: 'share root' });
    const res = (await web.filesUploadV2({ channel_id: 'C0CHAN001', thread_ts: root.ts, file: Buffer.from('bytes'), filename: 'late.png' } as never)) as unknown as {
      files: Array<{ files: Array<{ id: string }> }>;
    };
    const id = res.files[0].files[0].id;
    // completeUploadExternal has answered ok, yet the message with the file is not there.
    expect(fake.thread('C0CHAN001', root.ts!)).toHaveLength(1);
    const before = (await web.files.info({ file: id })).file as Record<string, any>;
    expect(before).toMatchObject({ id, channels: [], shares: {} });
    const sharedAt = Date.now();
    const msg = await fake.waitFor(() => fake.thread('C0CHAN001', root.ts!)[1], 'the share');
    expect(Date.now() - sharedAt).toBeGreaterThan(100);
    expect(msg.files).toEqual([id]);
    const after = (await web.files.info({ file: id })).file as Record<string, any>;
    expect(after.channels).toEqual(['C0CHAN001']);
    expect(after.shares.public.C0CHAN001).toEqual([expect.objectContaining({ ts: msg.ts, thread_ts: root.ts })]);
  });

  it('refuses to complete an upload whose URL was never used, and checks the length', async () => {
    const { file_id, upload_url } = await web.files.getUploadURLExternal({ filename: 'x.png', length: 5 });
    expect(await errorOf(web.files.completeUploadExternal({ files: [{ id: file_id! }], channel_id: 'C0CHAN001' }))).toBe('file_upload_not_completed');
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array([1, 2, 3])]), 'x.png');
    const bad = await fetch(upload_url!, { method: 'POST', body: form, headers: { Authorization: `Bearer ${fake.botToken}` } });
    expect(bad.status).toBe(400);
    const good = new FormData();
    good.append('file', new Blob([new Uint8Array([1, 2, 3, 4, 5])]), 'x.png');
    expect((await fetch(upload_url!, { method: 'POST', body: good })).status).toBe(200);
    expect((await fetch(upload_url!, { method: 'POST', body: good })).status).toBe(404);
    expect(await errorOf(web.files.getUploadURLExternal({ filename: 'x.png', length: 0 }))).toBe('invalid_arguments');
  });

  it('serves private files only with the bot token, else an HTML sign-in page with status 200', async () => {
    const file = fake.userFile({ name: 'in.png', mimetype: 'image/png', data: Buffer.from([0x89, 0x50, 0x4e, 0x47]) });
    const url = String(file.url_private_download);
    const anon = await fetch(url);
    expect(anon.status).toBe(200);
    expect(anon.headers.get('content-type')).toMatch(/text\/html/);
    const ok = await fetch(url, { headers: { Authorization: `Bearer ${fake.botToken}` } });
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await ok.arrayBuffer())[1]).toBe(0x50);
    fake.scopes.delete('files:read');
    const noScope = await fetch(url, { headers: { Authorization: `Bearer ${fake.botToken}` } });
    expect(await noScope.text()).toMatch(/Sign in/);
    fake.scopes.add('files:read');
  });

  it('lets a trigger_id open one view within 3 s', async () => {
    const view = {
      type: 'modal',
      title: { type: 'plain_text', text: 'Test' },
      submit: { type: 'plain_text', text: 'Go' },
      blocks: [{ type: 'input', block_id: 'b', label: { type: 'plain_text', text: 'File' }, element: { type: 'file_input', action_id: 'f' } }],
    };
    expect(await errorOf(web.views.open({ trigger_id: 'made.up', view: view as never }))).toBe('invalid_trigger_id');
    const fresh = fake.newTrigger();
    expect(await errorOf(web.views.open({ trigger_id: fresh, view: { ...view, title: { type: 'plain_text', text: 'x'.repeat(25) } } as never }))).toBe('invalid_arguments');
    const opened = await web.views.open({ trigger_id: fresh, view: view as never });
    expect(opened.view?.id).toMatch(/^V/);
    expect(await errorOf(web.views.open({ trigger_id: fresh, view: view as never }))).toBe('exchanged_trigger_id');
    const late = fake.newTrigger();
    fake.clock.advance(3_500);
    expect(await errorOf(web.views.open({ trigger_id: late, view: view as never }))).toBe('expired_trigger_id');
  });

  it('accepts JSON bodies too', async () => {
    const res = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', Authorization: `Bearer ${fake.botToken}` },
      body: JSON.stringify({ channel: 'C0CHAN001', text: 'json', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'json' } }] }),
    });
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
    // A token inside a JSON body is not read (Slack wants the Authorization header then); in a form it is.
    const inBody = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: fake.botToken, channel: 'C0CHAN001', text: 'json' }),
    });
    expect(await inBody.json()).toMatchObject({ ok: false, error: 'not_authed' });
    const form = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: fake.botToken, channel: 'C0CHAN001', text: 'form' }).toString(),
    });
    expect(await form.json()).toMatchObject({ ok: true });
  });

  it('allows a response_url 5 times within 30 minutes', async () => {
    const url = fake.newResponseUrl('C0CHAN001', 'U0USER001');
    const post = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi' }) });
    for (let i = 0; i < 5; i++) expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(404);
    const other = fake.newResponseUrl('C0CHAN001', 'U0USER001');
    fake.clock.advance(31 * 60_000);
    expect((await fetch(other, { method: 'POST', body: JSON.stringify({ text: 'late' }) })).status).toBe(404);
  });

  it('speaks Socket Mode: hello first, envelopes, and an error when the app does not ack in time', async () => {
    const quick = await FakeSlack.start({ ackTimeoutMs: 200 });
    try {
      const app = new WebClient(quick.appToken, { slackApiUrl: quick.apiUrl, retryConfig: { retries: 0 }, logger: quiet });
      const { url } = await app.apps.connections.open();
      const ws = new WebSocket(url!);
      const frames: Array<Record<string, any>> = [];
      ws.on('message', (d) => frames.push(JSON.parse(String(d))));
      await quick.waitFor(() => frames[0], 'hello');
      expect(frames[0].type).toBe('hello');
      // A ticket works once.
      const reuse = new WebSocket(url!);
      await new Promise((r) => reuse.on('error', r));
      // Ack the first envelope, ignore the second.
      const acked = quick.slashCommand({ command: '/restyle', text: 'x' });
      const env = await quick.waitFor(() => frames.find((f) => f.type === 'slash_commands'), 'an envelope');
      expect(env.payload).toMatchObject({ command: '/restyle', text: 'x', trigger_id: expect.any(String) });
      ws.send(JSON.stringify({ envelope_id: env.envelope_id, payload: { text: 'ok' } }));
      expect((await acked).body).toEqual({ text: 'ok' });
      await expect(quick.slashCommand({ command: '/restyle' })).rejects.toThrow(/did not ack/);
      ws.close();
    } finally {
      await quick.close();
    }
  });

  it('startSlackBot explains a rejected bot or app token without echoing it', async () => {
    const easel = { commands: [], onEvent: () => () => {} } as unknown as Easel;
    const bad = startSlackBot(easel, { mode: 'socket', botToken: 'xoxb-wrong-secret', appToken: fake.appToken, port: 0, apiUrl: fake.apiUrl }, { retries: 0 });
    await expect(bad).rejects.toThrow(/refused the bot token \(invalid_auth\)[\s\S]*SLACK_BOT_TOKEN/);
    await expect(bad).rejects.not.toThrow(/wrong-secret/);
    const badApp = startSlackBot(easel, { mode: 'socket', botToken: fake.botToken, appToken: 'xapp-wrong-secret', port: 0, apiUrl: fake.apiUrl }, { retries: 0 });
    await expect(badApp).rejects.toThrow(/Socket Mode connection \(invalid_auth\)[\s\S]*SLACK_APP_TOKEN/);
    await expect(startSlackBot(easel, { mode: 'http', botToken: fake.botToken, port: 0 })).rejects.toThrow(/SLACK_SIGNING_SECRET/);
  });
});

describe('fake slack rate limits', () => {
  let strict: FakeSlack;
  let client: WebClient;
  beforeAll(async () => {
    strict = await FakeSlack.start();
    client = new WebClient(strict.botToken, { slackApiUrl: strict.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, logger: quiet });
  });
  afterAll(async () => {
    await strict.close();
  });

  async function retryAfterOf(p: Promise<unknown>): Promise<number | undefined> {
    try {
      await p;
      return undefined;
    } catch (err) {
      expect((err as WebAPIRateLimitedError).code).toBe(ErrorCode.RateLimitedError);
      return (err as WebAPIRateLimitedError).retryAfter;
    }
  }

  it('answers chat.update past Tier 3 (50 per minute) with HTTP 429, a Retry-After header and ratelimited', async () => {
    const msg = await client.chat.postMessage({ channel: 'C0CHAN001', text: 'edit me' });
    for (let i = 0; i < 50; i++) expect(await retryAfterOf(client.chat.update({ channel: 'C0CHAN001', ts: msg.ts!, text: `edit ${i}` }))).toBeUndefined();
    const retryAfter = await retryAfterOf(client.chat.update({ channel: 'C0CHAN001', ts: msg.ts!, text: 'one too many' }));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(strict.message('C0CHAN001', msg.ts!)?.text).toBe('edit 49');
    const raw = await fetch(`${strict.apiUrl}chat.update`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', Authorization: `Bearer ${strict.botToken}` },
      body: new URLSearchParams({ channel: 'C0CHAN001', ts: msg.ts!, text: 'raw' }).toString(),
    });
    expect(raw.status).toBe(429);
    expect(Number(raw.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });
    expect(strict.calls.at(-1)).toMatchObject({ method: 'chat.update', ok: false, error: 'ratelimited' });
    // Other methods have their own count: views.open (Tier 4) still works.
    const view = { type: 'modal', title: { type: 'plain_text', text: 'T' }, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }] };
    expect((await client.views.open({ trigger_id: strict.newTrigger(), view: view as never })).ok).toBe(true);
    // A minute later the window has moved on.
    strict.clock.advance(60_000);
    expect(await retryAfterOf(client.chat.update({ channel: 'C0CHAN001', ts: msg.ts!, text: 'later' }))).toBeUndefined();
  });

  it('gives views.open (Tier 4) 100 calls per minute', async () => {
    const view = { type: 'modal', title: { type: 'plain_text', text: 'T' }, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }] };
    strict.clock.advance(60_000);
    for (let i = 0; i < 100; i++) expect(await retryAfterOf(client.views.open({ trigger_id: strict.newTrigger(), view: view as never }))).toBeUndefined();
    expect(await retryAfterOf(client.views.open({ trigger_id: strict.newTrigger(), view: view as never }))).toBeGreaterThanOrEqual(1);
  });

  it('lets chat.postMessage burst a little per channel, then wants about one per second; other channels are not affected', async () => {
    strict.addChannel('C0BUSY', 'busy');
    strict.addChannel('C0QUIET', 'quiet');
    const results: Array<number | undefined> = [];
    for (let i = 0; i < 6; i++) results.push(await retryAfterOf(client.chat.postMessage({ channel: 'C0BUSY', text: `m${i}` })));
    expect(results.slice(0, 4)).toEqual([undefined, undefined, undefined, undefined]);
    expect(results[4]).toBeGreaterThanOrEqual(1);
    expect(strict.messages('C0BUSY')).toHaveLength(4);
    expect(await retryAfterOf(client.chat.postMessage({ channel: 'C0QUIET', text: 'hello' }))).toBeUndefined();
  });

  it('lets a test lower a limit and its window', async () => {
    strict.rateLimits.set('chat.postEphemeral', { limit: 1, windowMs: 2_000 });
    expect(await retryAfterOf(client.chat.postEphemeral({ channel: 'C0CHAN001', user: 'U0USER001', text: 'a' }))).toBeUndefined();
    expect(await retryAfterOf(client.chat.postEphemeral({ channel: 'C0CHAN001', user: 'U0USER001', text: 'b' }))).toBe(2);
  });
});
