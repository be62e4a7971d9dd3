/**
 * Easel on Slack with the HTTP receiver, end to end: signed requests from the fake Slack to the real
 * Bolt app, the real Easel app behind it. Forged and stale signatures are refused and run nothing;
 * a retried event (X-Slack-Retry-Num) does not run a job twice.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MESSAGE_SHORTCUT } from '../../../src/bot/slack/slack-bot.ts';
import { DEFAULT_SCOPES } from '../../fakes/slack/fake-slack.ts';
import { slackSignature } from '../../fakes/slack/signing.ts';
import { TEAM_ID } from '../../fakes/slack/fake-slack.ts';

interface Manifest {
  features: { slash_commands: Array<{ command: string; url: string; description: string }>; shortcuts: Array<{ type: string; callback_id: string }> };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { request_url: string; bot_events: string[] }; interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean };
}
import type { FakeMessage } from '../../fakes/slack/fake-slack.ts';
import { ALICE, blocksText, button, CHANNEL, jobIdOf, jobIdsOn, resultCards, startHarness, testImage, type Harness } from './harness.ts';

const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);
let h: Harness;
let png: Buffer;
let firstCard: FakeMessage;
let threadTs = '';

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  png = await testImage();
  h = await startHarness('http');
});

afterAll(async () => {
  await h?.close();
  process.off('unhandledRejection', onUnhandled);
});

afterEach(() => {
  expect(unhandled).toEqual([]);
});

function slashBody(text: string): string {
  return new URLSearchParams({
    token: 'verification-token',
    team_id: TEAM_ID,
    team_domain: 'testteam',
    channel_id: CHANNEL,
    channel_name: 'general',
    user_id: ALICE,
    user_name: 'alice',
    command: '/restyle',
    text,
    api_app_id: 'A0APP0001',
    is_enterprise_install: 'false',
    response_url: h.fake.newResponseUrl(CHANNEL, ALICE),
    trigger_id: h.fake.newTrigger(ALICE),
  }).toString();
}

describe('Slack over HTTP (signing secret)', () => {
  it('runs /restyle through the modal and posts the gallery in the thread', async () => {
    const ack = await h.fake.slashCommand({ command: '/restyle', text: 'denoise 0.45' });
    expect(ack.status).toBe(200);
    const view = await h.fake.waitFor(() => h.fake.openViews()[0], 'the modal');
    const file = h.fake.userFile({ name: 'in.png', mimetype: 'image/png', data: png });
    const sub = await h.fake.submitView({ viewId: view.id, values: { 'img:0': [file], 'opt:prompt': 'a lighthouse in a storm' } });
    expect(sub.status).toBe(200);
    const root = await h.fake.waitFor(() => h.fake.messages(CHANNEL).find((m) => m.text.includes('asked for /restyle')), 'the request');
    const card = await h.fake.waitFor(() => resultCards(h.fake, root.ts)[0], 'the result', 20_000);
    await h.bot.settled(jobIdOf(card));
    expect(blocksText(card)).toContain('lighthouse');
    expect(h.fake.thread(CHANNEL, root.ts).some((m) => (m.files?.length ?? 0) > 0)).toBe(true);
    const job = await h.app.getJob(jobIdOf(card));
    expect(job).toMatchObject({ state: 'done', params: expect.objectContaining({ denoise: 0.45 }) });
    firstCard = card;
    threadTs = root.ts;
  });

  it('a button press arrives as a signed payload= form and reruns in the thread', async () => {
    const click = await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, 'subtle') });
    expect(click.status).toBe(200);
    const card = await h.fake.waitFor(() => resultCards(h.fake, threadTs)[1], 'the rerun result', 20_000);
    await h.bot.settled(jobIdOf(card));
    expect(await h.app.getJob(jobIdOf(card))).toMatchObject({ action: 'subtle', parentId: jobIdOf(firstCard), state: 'done' });
  });

  it("answers Slack's request URL check (url_verification) and ssl_check", async () => {
    const check = await h.fake.postSigned({
      body: JSON.stringify({ token: 'verification-token', challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' }),
      contentType: 'application/json',
    });
    expect(check.status).toBe(200);
    expect(JSON.parse(check.text)).toEqual({ challenge: 'c-3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
    const ssl = await h.fake.postSigned({ body: 'ssl_check=1&token=verification-token', contentType: 'application/x-www-form-urlencoded' });
    expect(ssl.status).toBe(200);
  });

  it('refuses a forged signature and a stale timestamp with 401, and opens nothing', async () => {
    const opened = h.fake.calls.filter((c) => c.method === 'views.open').length;
    const forged = slashBody('forged');
    const bad = await h.fake.postSigned({
      body: forged,
      contentType: 'application/x-www-form-urlencoded',
      signature: slackSignature('not-the-secret', h.fake.clock.seconds(), forged),
    });
    expect(bad.status).toBe(401);
    const tampered = await h.fake.postSigned({
      body: slashBody('tampered'),
      contentType: 'application/x-www-form-urlencoded',
      signature: slackSignature('fake-signing-secret-0123456789', h.fake.clock.seconds(), slashBody('original')),
    });
    expect(tampered.status).toBe(401);
    const stale = await h.fake.postSigned({
      body: slashBody('stale'),
      contentType: 'application/x-www-form-urlencoded',
      timestamp: h.fake.clock.seconds() - 6 * 60,
    });
    expect(stale.status).toBe(401);
    const unsigned = await h.fake.postSigned({ body: slashBody('unsigned'), contentType: 'application/x-www-form-urlencoded', signature: '' });
    expect(unsigned.status).toBe(401);
    // Correctly signed ones still work, also four minutes late (inside Slack's five-minute window):
    // the refusals were about the signature and its age, not the body.
    const good = await h.fake.postSigned({ body: slashBody('fine'), contentType: 'application/x-www-form-urlencoded' });
    expect(good.status).toBe(200);
    const late = await h.fake.postSigned({ body: slashBody('late'), contentType: 'application/x-www-form-urlencoded', timestamp: h.fake.clock.seconds() - 4 * 60 });
    expect(late.status).toBe(200);
    await h.fake.waitFor(() => h.fake.calls.filter((c) => c.method === 'views.open').length === opened + 2, 'the two modals');
    await h.bot.idle(); // every request that got through has been handled to the end
    expect(h.fake.calls.filter((c) => c.method === 'views.open').length).toBe(opened + 2);
  });

  it('does not run a retried event twice (X-Slack-Retry-Num)', async () => {
    const submittedBefore = h.app.simulator!.submittedPromptIds().length;
    const file = h.fake.userFile({ name: 'boat.png', mimetype: 'image/png', data: png });
    const sent = await h.fake.mention({ text: '<@U0BOT0001> restyle watercolor', files: [file] });
    expect(sent.status).toBe(200);
    const event = { type: 'app_mention', user: ALICE, text: sent.message.text, ts: sent.message.ts, channel: CHANNEL, event_ts: sent.message.ts, files: [file] };
    const retry1 = await h.fake.sendEvent(event, { eventId: sent.eventId, retryNum: 1, retryReason: 'http_timeout' });
    const retry2 = await h.fake.sendEvent(event, { eventId: sent.eventId, retryNum: 2, retryReason: 'http_timeout' });
    expect([retry1.status, retry2.status]).toEqual([200, 200]);
    const card = await h.fake.waitFor(() => resultCards(h.fake, sent.message.ts)[0], 'the result', 20_000);
    await h.bot.settled(jobIdOf(card));
    await h.bot.idle(); // all three deliveries handled to the end
    expect(jobIdsOn(h.fake.thread(CHANNEL, sent.message.ts))).toHaveLength(1);
    expect(resultCards(h.fake, sent.message.ts)).toHaveLength(1);
    expect(h.app.simulator!.submittedPromptIds().length - submittedBefore).toBe(1);
  });

  it("pre-fills the modal from the command text as typed, though Slack sends it escaped (&amp;)", async () => {
    const before = new Set(h.fake.openViews().map((v) => v.id));
    await h.fake.slashCommand({ command: '/variations', text: 'cats &amp; dogs &lt;3 denoise 0.35' });
    const view = await h.fake.waitFor(() => h.fake.openViews().find((v) => !before.has(v.id)), 'the modal');
    const blocks = view.view.blocks as Array<{ block_id?: string; element?: { initial_value?: string } }>;
    expect(blocks.find((b) => b.block_id === 'opt:prompt')?.element?.initial_value).toBe('cats & dogs <3');
    expect(blocks.find((b) => b.block_id === 'opt:denoise')?.element?.initial_value).toBe('0.35');
  });

  it('the app manifest declares every command, the shortcut, the events and the scopes the bot uses', async () => {
    const manifest = parse(await readFile(new URL('../../../slack-manifest.yaml', import.meta.url), 'utf8')) as Manifest;
    const commands = manifest.features.slash_commands.map((c) => c.command).sort();
    expect(commands).toEqual([...h.app.commands.map((c) => `/${c.name}`), '/easel'].sort());
    for (const c of manifest.features.slash_commands) {
      expect(c.url).toMatch(/\/slack\/events$/);
      expect(c.description.length).toBeLessThanOrEqual(100);
    }
    expect(manifest.features.shortcuts).toContainEqual(expect.objectContaining({ type: 'message', callback_id: MESSAGE_SHORTCUT }));
    expect(manifest.settings.event_subscriptions.bot_events).toContain('app_mention');
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    // The fake grants exactly the scopes the tests needed; the manifest must ask for all of them.
    for (const scope of DEFAULT_SCOPES) expect(manifest.oauth_config.scopes.bot).toContain(scope);
  });
});
