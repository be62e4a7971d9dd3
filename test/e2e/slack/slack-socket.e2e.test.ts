/**
 * Easel on Slack in Socket Mode, end to end: the real Bolt app against the fake Slack, with the real
 * Easel app (built-in simulator). Covers the slash command -> modal -> job -> gallery path, every
 * button, the message shortcut, mentions (image in the message or earlier in the thread), the HTML
 * sign-in page, a redelivered event, double clicks and buttons after a restart.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SIGN_IN_PAGE_MESSAGE } from '../../../src/bot/slack/slack-files.ts';
import type { FakeMessage } from '../../fakes/slack/fake-slack.ts';
import { defaultRateRules } from '../../fakes/slack/rate-limits.ts';
import {
  ALICE,
  BOB,
  blocksText,
  button,
  CHANNEL,
  failedCalls as failedSlackCalls,
  impoliteCalls,
  jobIdOf,
  jobIdsOn,
  resultCards,
  startHarness,
  testImage,
  type Harness,
} from './harness.ts';

/** Progress edits at most this often in these tests (1.5 s in production). */
const PROGRESS_MS = 250;
const unhandled: unknown[] = [];
const onUnhandled = (err: unknown) => unhandled.push(err);
let h: Harness;
let png: Buffer;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  png = await testImage();
  h = await startHarness('socket', { progressIntervalMs: PROGRESS_MS });
});

afterAll(async () => {
  await h?.close();
  process.off('unhandledRejection', onUnhandled);
});

afterEach(() => {
  expect(unhandled).toEqual([]);
});

/** State shared by the tests of the main flow (they run in order). */
let threadTs = '';
let firstCard: FakeMessage;

async function nextCard(count: number): Promise<FakeMessage> {
  const cards = await h.fake.waitFor(() => {
    const c = resultCards(h.fake, threadTs);
    return c.length >= count && c;
  }, `result card #${count}`, 20_000);
  await h.bot.settled(jobIdOf(cards[count - 1]));
  return cards[count - 1];
}

/** Calls Slack refused (rate limits aside, which the bot must wait out politely). */
function failedCalls() {
  expect(impoliteCalls(h.fake)).toEqual([]);
  return failedSlackCalls(h.fake);
}

describe('Slack in Socket Mode', () => {
  it('opens a pre-filled modal for /restyle; submitting it with a file runs the job and posts the gallery in the thread', async () => {
    const ack = await h.fake.slashCommand({ command: '/restyle', text: 'oil painting denoise 0.6' });
    expect(ack.status).toBe(200);
    const view = await h.fake.waitFor(() => h.fake.openViews()[0], 'the modal');
    const blocks = view.view.blocks as Array<{ block_id?: string; element?: Record<string, any> }>;
    const byId = Object.fromEntries(blocks.filter((b) => b.block_id).map((b) => [b.block_id!, b.element!]));
    expect(byId['img:0'].type).toBe('file_input');
    expect(byId['opt:denoise'].initial_value).toBe('0.6');
    // "oil painting" is one of restyle's styles: the style select starts on it.
    expect(byId['opt:style'].initial_option?.text.text).toMatch(/oil/i);
    expect(byId['opt:prompt'].initial_value).toBeUndefined();

    const file = h.fake.userFile({ name: 'harbour.png', mimetype: 'image/png', data: png });
    const submitted = await h.fake.submitView({ viewId: view.id, values: { 'img:0': [file] } });
    expect(submitted.body).toEqual({});

    const root = await h.fake.waitFor(() => h.fake.messages(CHANNEL).find((m) => m.text.includes('asked for /restyle')), 'the request message');
    threadTs = root.ts;
    expect(root.text).toContain(`<@${ALICE}>`);
    firstCard = await nextCard(1);
    const thread = h.fake.thread(CHANNEL, threadTs);
    // Order in the thread: request, progress (now "done"), the files, the result card.
    const progress = thread[1];
    expect(progress.text).toMatch(/Done/);
    expect(progress.edited).toBeGreaterThan(0);
    const filesMsg = thread.find((m) => (m.files?.length ?? 0) > 0)!;
    expect(thread.indexOf(filesMsg)).toBeLessThan(thread.indexOf(firstCard));
    const gallery = h.fake.file(filesMsg.files![0])!;
    expect(gallery.data!.subarray(1, 4).toString()).toMatch(/PNG|WEB|\u00ff\u00d8/);
    expect(gallery.data!.length).toBeGreaterThan(100);
    // Parameters are on the card.
    const text = blocksText(firstCard);
    expect(text).toMatch(/denoise/i);
    expect(text).toContain('0.6');
    expect(text).toMatch(/seed/i);
    const job = await h.app.getJob(jobIdOf(firstCard));
    expect(job?.state).toBe('done');
    expect(job?.params.denoise).toBe(0.6);
    expect(job?.actor).toMatchObject({ platform: 'slack', userId: ALICE, channelId: CHANNEL });
    expect(failedCalls()).toEqual([]);
  });

  it('coalesces progress: one message edited with chat.update, at most once per interval, always ending with the final state', async () => {
    const before = resultCards(h.fake, threadTs).length;
    const threadLen = h.fake.thread(CHANNEL, threadTs).length;
    h.app.simulator!.setStepMs(40); // ~25 steps: about a second of progress events
    try {
      await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, 'reroll') });
      await nextCard(before + 1);
    } finally {
      h.app.simulator!.setStepMs(5);
    }
    const progress = h.fake.thread(CHANNEL, threadTs).slice(threadLen)[0];
    const updates = h.fake.calls.filter((c) => c.method === 'chat.update' && c.args.ts === progress.ts);
    const steps = Number((await h.app.getJob(jobIdOf(resultCards(h.fake, threadTs)[before])))?.params.steps);
    expect(steps).toBeGreaterThan(10);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect(updates.length).toBeLessThan(steps / 2);
    // Edits start >= PROGRESS_MS apart (the final one may follow at once). The fake sees their arrival,
    // which a loaded machine can delay, so count them over the span instead of timing each gap.
    const inBetween = updates.slice(0, -1);
    const span = inBetween.at(-1)!.at - inBetween[0].at;
    expect(inBetween.length).toBeLessThanOrEqual(Math.floor(span / PROGRESS_MS) + 2);
    expect(progress.text).toMatch(/Done/);
  });

  it("a rate-limited progress edit never holds back another user's modal, and the edits back off politely", async () => {
    const before = resultCards(h.fake, threadTs).length;
    const threadLen = h.fake.thread(CHANNEL, threadTs).length;
    const since = h.fake.calls.length;
    // Slack allows one chat.update per 2.5 s from here on: the second progress edit gets 429 + Retry-After.
    h.fake.rateLimits.set('chat.update', { limit: 1, windowMs: 2_500 });
    h.app.simulator!.setStepMs(40);
    try {
      await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, 'reroll') });
      const limited = await h.fake.waitFor(
        () => h.fake.calls.slice(since).find((c) => c.method === 'chat.update' && c.error === 'ratelimited'),
        'a rate-limited progress edit',
      );
      expect(limited.retryAfter).toBeGreaterThanOrEqual(2);
      // Meanwhile Bob runs /restyle; Slack took a second to deliver it, so 2 s of its trigger_id are left.
      await h.fake.slashCommand({ command: '/restyle', user: BOB, triggerAgeMs: 1_000 });
      const view = await h.fake.waitFor(() => h.fake.openViews().find((v) => v.user === BOB), "Bob's modal");
      expect(h.fake.calls.slice(since).filter((c) => c.method === 'views.open').map((c) => c.error ?? 'ok')).toEqual(['ok']);
      h.fake.closeView(view.id);
      const card = await nextCard(before + 1);
      expect(await h.app.getJob(jobIdOf(card))).toMatchObject({ action: 'reroll', state: 'done' });
    } finally {
      h.fake.rateLimits.set('chat.update', defaultRateRules()['chat.update']);
      h.app.simulator!.setStepMs(5);
    }
    // Nothing was sent while Slack had asked to wait, and the progress message still ends on its final state.
    expect(impoliteCalls(h.fake)).toEqual([]);
    const progress = h.fake.thread(CHANNEL, threadTs).slice(threadLen)[0];
    expect(progress.text).toMatch(/Done/);
  });

  it('reruns from the buttons: reroll, subtle, strong, ladder, vary 1, upscale 1, each result in the same thread', async () => {
    const parentId = jobIdOf(firstCard);
    let count = resultCards(h.fake, threadTs).length;
    for (const [action, index] of [['reroll'], ['subtle'], ['strong'], ['ladder'], ['vary', 1], ['upscale', 1]] as Array<[string, number?]>) {
      const ack = await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, action, index) });
      expect(ack.status).toBe(200);
      count++;
      const card = await nextCard(count);
      const job = await h.app.getJob(jobIdOf(card));
      expect(job, action).toMatchObject({ parentId, action, state: 'done' });
      if (index) expect(job?.sourceIndex).toBe(index);
    }
    const ladder = (await Promise.all(resultCards(h.fake, threadTs).map((c) => h.app.getJob(jobIdOf(c))))).find((j) => j?.action === 'ladder');
    expect(ladder?.layout).toBe('strip');
    expect(failedCalls()).toEqual([]);
  });

  it('runs one job for a double click', async () => {
    const before = resultCards(h.fake, threadTs).length;
    const threadLen = h.fake.thread(CHANNEL, threadTs).length;
    const id = button(firstCard, 'reroll');
    await Promise.all([h.fake.clickButton({ messageTs: firstCard.ts, actionId: id }), h.fake.clickButton({ messageTs: firstCard.ts, actionId: id })]);
    await nextCard(before + 1);
    // Both clicks have been handled to the end (a job is tracked inside the handler): one job.
    await h.bot.idle();
    expect(jobIdsOn(h.fake.thread(CHANNEL, threadTs).slice(threadLen))).toHaveLength(1);
    expect(resultCards(h.fake, threadTs)).toHaveLength(before + 1);
  });

  it('idle() waits for work a handler still does after its ack', async () => {
    const file = h.fake.userFile({ name: 'held.png', mimetype: 'image/png', data: png });
    const root = h.fake.userMessage({ text: 'held picture', files: [file] });
    const held = h.fake.hold('conversations.replies');
    let idle = false;
    try {
      // Acked at once; the handler then reads the thread, and Slack is slow to answer.
      await h.fake.mention({ text: '<@U0BOT0001> upscale', threadTs: root.ts });
      await held.reached;
      void h.bot.idle().then(() => (idle = true));
      await new Promise((r) => setImmediate(r));
      expect(idle).toBe(false);
    } finally {
      held.release();
    }
    await h.bot.idle();
    // The handler is done: the job it started is tracked in the thread already.
    expect(jobIdsOn(h.fake.thread(CHANNEL, root.ts))).toHaveLength(1);
    const card = await h.fake.waitFor(() => resultCards(h.fake, root.ts)[0], 'the result', 20_000);
    await h.bot.settled(jobIdOf(card));
  });

  it('edit opens the modal filled with the job and runs the changed settings', async () => {
    const before = resultCards(h.fake, threadTs).length;
    await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, 'edit') });
    const view = await h.fake.waitFor(() => h.fake.openViews()[0], 'the edit modal');
    expect(view.view.callback_id).toBe('easel_edit');
    const denoise = (view.view.blocks as Array<{ block_id?: string; element?: { initial_value?: string } }>).find((b) => b.block_id === 'opt:denoise');
    expect(denoise?.element?.initial_value).toBe('0.6');
    const bad = await h.fake.submitView({ viewId: view.id, values: { 'opt:denoise': '7' } });
    expect(bad.body).toMatchObject({ response_action: 'errors', errors: { 'opt:denoise': expect.stringMatching(/between/) } });
    await h.fake.submitView({ viewId: view.id, values: { 'opt:denoise': '0.3' } });
    const card = await nextCard(before + 1);
    const job = await h.app.getJob(jobIdOf(card));
    expect(job).toMatchObject({ action: 'edit', parentId: jobIdOf(firstCard) });
    expect(job?.params.denoise).toBe(0.3);
    expect(blocksText(card)).toContain('0.3');
  });

  it('cancel stops a running job', async () => {
    const before = h.fake.thread(CHANNEL, threadTs).length;
    h.app.simulator!.stallNext();
    await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, 'subtle') });
    const progress = await h.fake.waitFor(
      () => h.fake.thread(CHANNEL, threadTs).slice(before).find((m) => hasButton(m, 'cancel')),
      'a progress message with Cancel',
    );
    const jobId = button(progress, 'cancel').split(':')[2];
    // Cancel it while the host is really working on it (stalled), not while it is still queued.
    await until(async () => (await h.app.getJob(jobId))?.promptIds?.length && (await h.app.status()).hosts[0]?.running, 'the job to run on the host');
    const bobTry = await h.fake.clickButton({ messageTs: progress.ts, actionId: button(progress, 'cancel'), user: BOB });
    expect(bobTry.status).toBe(200);
    await h.fake.waitFor(() => h.fake.ephemerals.find((e) => e.user === BOB && /Only <@U0USER001> can cancel/.test(e.text)), 'the refusal');
    await h.fake.clickButton({ messageTs: progress.ts, actionId: button(progress, 'cancel') });
    await h.fake.waitFor(() => /Cancelled/.test(h.fake.message(CHANNEL, progress.ts)?.text ?? ''), 'the cancelled progress message');
    // The card says Cancelled as soon as the job ends; the interrupt reaches the host a moment later.
    // Wait for it there, so this prompt cannot run on into the next test (and take its failNext).
    const promptId = (await h.app.getJob(jobId))!.promptIds![0];
    await h.fake.waitFor(() => h.app.simulator!.busyLog().some((b) => b.promptId === promptId), 'the prompt to stop on the host');
    h.app.simulator!.release();
    expect((await h.app.getJob(jobId))?.state).toBe('cancelled');
    expect(hasButton(h.fake.message(CHANNEL, progress.ts)!, 'cancel')).toBe(false);
  });

  it('a failed job says why in its progress message and can be retried from there', async () => {
    const before = resultCards(h.fake, threadTs).length;
    const threadLen = h.fake.thread(CHANNEL, threadTs).length;
    h.app.simulator!.failNext({ message: 'CUDA out of memory' });
    await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, 'reroll') });
    const failed = await h.fake.waitFor(
      () => h.fake.thread(CHANNEL, threadTs).slice(threadLen).find((m) => /failed/i.test(m.text)),
      'the failure message',
    );
    expect(failed.text).toMatch(/memory/i);
    expect(hasButton(failed, 'cancel')).toBe(false);
    await h.fake.clickButton({ messageTs: failed.ts, actionId: button(failed, 'reroll') });
    const card = await nextCard(before + 1);
    expect((await h.app.getJob(jobIdOf(card)))?.state).toBe('done');
  });

  it('delete: only the author may; it removes the card and the uploaded files', async () => {
    const cards = resultCards(h.fake, threadTs);
    const card = cards[cards.length - 1];
    const filesMsg = h.fake.thread(CHANNEL, threadTs).filter((m) => (m.files?.length ?? 0) > 0).at(-1)!;
    const fileIds = [...filesMsg.files!];
    await h.fake.clickButton({ messageTs: card.ts, actionId: button(card, 'delete'), user: BOB });
    await h.fake.waitFor(() => h.fake.ephemerals.find((e) => e.user === BOB && /Only <@U0USER001> can delete/.test(e.text)), 'the refusal');
    expect(h.fake.message(CHANNEL, card.ts)).toBeDefined();
    await h.fake.clickButton({ messageTs: card.ts, actionId: button(card, 'delete') });
    await h.fake.waitFor(() => !h.fake.message(CHANNEL, card.ts), 'the card to go');
    await h.fake.waitFor(() => fileIds.every((id) => h.fake.file(id)?.deleted), 'the files to go');
    await h.fake.waitFor(() => h.fake.thread(CHANNEL, threadTs).some((m) => /deleted by <@U0USER001>/.test(m.text)), 'the deleted note');
    expect(failedCalls()).toEqual([]);
  });

  it('buttons keep working after the Slack side restarts (ids carry only the job id)', async () => {
    await h.restartBot();
    const before = resultCards(h.fake, threadTs).length;
    await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, 'vary', 1) });
    const card = await nextCard(before + 1);
    expect(await h.app.getJob(jobIdOf(card))).toMatchObject({ action: 'vary', sourceIndex: 1, parentId: jobIdOf(firstCard) });
  });

  it('a job still running when the Slack side restarts gets its result posted by the new instance', async () => {
    const before = resultCards(h.fake, threadTs).length;
    const threadLen = h.fake.thread(CHANNEL, threadTs).length;
    h.app.simulator!.stallNext();
    await h.fake.clickButton({ messageTs: firstCard.ts, actionId: button(firstCard, 'strong') });
    const progress = await h.fake.waitFor(() => h.fake.thread(CHANNEL, threadTs).slice(threadLen).find((m) => hasButton(m, 'cancel')), 'the progress message');
    const jobId = button(progress, 'cancel').split(':')[2];
    await until(async () => (await h.app.getJob(jobId))?.promptIds?.length && (await h.app.status()).hosts[0]?.running, 'the job to run on the host');
    await h.restartBot();
    h.app.simulator!.release();
    const card = await nextCard(before + 1);
    expect(await h.app.getJob(jobIdOf(card))).toMatchObject({ action: 'strong', state: 'done' });
    await h.fake.waitFor(() => /Done/.test(h.fake.message(CHANNEL, progress.ts)?.text ?? ''), 'the progress message to say done');
  });

  it('the message shortcut opens the modal with the message image; the job runs in that message thread', async () => {
    const file = h.fake.userFile({ name: 'cat.png', mimetype: 'image/png', data: png });
    const msg = h.fake.userMessage({ text: 'look at my cat', files: [file] });
    await h.fake.messageShortcut({ callbackId: 'easel_image', messageTs: msg.ts });
    const view = await h.fake.waitFor(() => h.fake.openViews()[0], 'the shortcut modal');
    expect(JSON.stringify(view.view.blocks)).toContain('cat.png');
    await h.fake.selectInView({ viewId: view.id, actionId: 'easel_pick_command', value: 'upscale' });
    await h.fake.waitFor(() => (h.fake.view(view.id)!.updates > 0 ? true : undefined), 'the modal to switch to upscale');
    expect(h.fake.view(view.id)!.view.title).toMatchObject({ text: 'Easel: upscale' });
    await h.fake.submitView({ viewId: view.id });
    const card = await h.fake.waitFor(() => resultCards(h.fake, msg.ts)[0], 'the result in the message thread', 20_000);
    await h.bot.settled(jobIdOf(card));
    const job = await h.app.getJob(jobIdOf(card));
    expect(job).toMatchObject({ command: 'upscale', state: 'done' });
    expect(h.fake.thread(CHANNEL, msg.ts).some((m) => (m.files?.length ?? 0) > 0)).toBe(true);
  });

  it('a message shortcut on a message without an image says so', async () => {
    const msg = h.fake.userMessage({ text: 'no picture here' });
    await h.fake.messageShortcut({ callbackId: 'easel_image', messageTs: msg.ts });
    await h.fake.waitFor(() => h.fake.ephemerals.find((e) => /has no image/.test(e.text)), 'the explanation');
  });

  it('a mention with an image starts a job in its thread, once even when Slack redelivers the event', async () => {
    const submittedBefore = h.app.simulator!.submittedPromptIds().length;
    const file = h.fake.userFile({ name: 'street.png', mimetype: 'image/png', data: png });
    const sent = await h.fake.mention({ text: '<@U0BOT0001> restyle watercolor denoise 0.5', files: [file] });
    const event = { type: 'app_mention', user: ALICE, text: sent.message.text, ts: sent.message.ts, channel: CHANNEL, event_ts: sent.message.ts, files: [file] };
    await h.fake.sendEvent(event, { eventId: sent.eventId, retryNum: 1, retryReason: 'timeout' });
    const card = await h.fake.waitFor(() => resultCards(h.fake, sent.message.ts)[0], 'the mention result', 20_000);
    await h.bot.settled(jobIdOf(card));
    await h.bot.idle(); // both deliveries handled to the end
    expect(jobIdsOn(h.fake.thread(CHANNEL, sent.message.ts))).toHaveLength(1);
    expect(resultCards(h.fake, sent.message.ts)).toHaveLength(1);
    expect(h.app.simulator!.submittedPromptIds().length - submittedBefore).toBe(1);
    const job = await h.app.getJob(jobIdOf(card));
    expect(job?.params.denoise).toBe(0.5);
  });

  it('a mention in a thread uses the image posted earlier in that thread', async () => {
    const file = h.fake.userFile({ name: 'bridge.png', mimetype: 'image/png', data: png });
    const root = h.fake.userMessage({ text: 'our bridge', files: [file] });
    await h.fake.mention({ text: '<@U0BOT0001> variations', threadTs: root.ts });
    const card = await h.fake.waitFor(() => resultCards(h.fake, root.ts)[0], 'the thread result', 20_000);
    await h.bot.settled(jobIdOf(card));
    expect((await h.app.getJob(jobIdOf(card)))?.command).toBe('variations');
  });

  it("a mention event without the message's files finds them on the message; Slack's escaped text is read as typed", async () => {
    const file = h.fake.userFile({ name: 'pets.png', mimetype: 'image/png', data: png });
    const sent = await h.fake.mention({ text: '<@U0BOT0001> restyle cats &amp; dogs denoise 0.4', files: [file], filesInEvent: false });
    const card = await h.fake.waitFor(() => resultCards(h.fake, sent.message.ts)[0], 'the result', 20_000);
    await h.bot.settled(jobIdOf(card));
    const job = await h.app.getJob(jobIdOf(card));
    expect(job?.params).toMatchObject({ prompt: 'cats & dogs', denoise: 0.4 });
    expect(job?.inputs).toHaveLength(1);
  });

  it('a mention whose files come only as ids (file_access: check_file_info) reads them with files.info', async () => {
    const file = h.fake.userFile({ name: 'shared.png', mimetype: 'image/png', data: png });
    const sent = await h.fake.mention({ text: '<@U0BOT0001> upscale', files: [file], filesInEvent: 'check_file_info' });
    const card = await h.fake.waitFor(() => resultCards(h.fake, sent.message.ts)[0], 'the result', 20_000);
    await h.bot.settled(jobIdOf(card));
    expect((await h.app.getJob(jobIdOf(card)))?.command).toBe('upscale');
    expect(h.fake.calls.some((c) => c.method === 'files.info' && c.args.file === file.id && c.ok)).toBe(true);
  });

  it('a mention without any image, or with an unknown command, gets an answer in the thread', async () => {
    const none = await h.fake.mention({ text: '<@U0BOT0001> restyle watercolor' });
    await h.fake.waitFor(() => h.fake.thread(CHANNEL, none.message.ts).find((m) => /needs an image/.test(m.text)), 'the missing-image reply');
    const unknown = await h.fake.mention({ text: '<@U0BOT0001> dance' });
    await h.fake.waitFor(() => h.fake.thread(CHANNEL, unknown.message.ts).find((m) => /don't know "dance"[\s\S]*\/restyle/.test(m.text)), 'the help reply');
  });

  it("explains Slack's HTML sign-in page (token without files:read) and runs nothing", async () => {
    const submittedBefore = h.app.simulator!.submittedPromptIds().length;
    h.fake.scopes.delete('files:read');
    try {
      const file = h.fake.userFile({ name: 'secret.png', mimetype: 'image/png', data: png });
      const sent = await h.fake.mention({ text: '<@U0BOT0001> restyle', files: [file] });
      const reply = await h.fake.waitFor(() => h.fake.thread(CHANNEL, sent.message.ts).find((m) => m.user === 'U0BOT0001'), 'the explanation');
      expect(reply.text).toContain(SIGN_IN_PAGE_MESSAGE);
    } finally {
      h.fake.scopes.add('files:read');
    }
    expect(h.app.simulator!.submittedPromptIds().length).toBe(submittedBefore);
  });

  it('reconnects when Slack asks it to (disconnect: refresh_requested) and keeps working', async () => {
    const before = h.fake.connections;
    h.fake.refreshSockets();
    await h.fake.waitFor(() => h.fake.connections > before, 'a new Socket Mode connection');
    await h.fake.socketReady();
    const help = await h.fake.slashCommand({ command: '/easel', text: 'help' });
    expect(help.status).toBe(200);
  });

  it('/easel answers help, status and queue privately in the ack', async () => {
    const help = await h.fake.slashCommand({ command: '/easel', text: '' });
    expect(help.body).toMatchObject({ response_type: 'ephemeral', text: expect.stringMatching(/\/restyle[\s\S]*\/blend/) });
    const status = await h.fake.slashCommand({ command: '/easel', text: 'status' });
    expect((status.body as { text: string }).text).toMatch(/simulat/i);
    const queue = await h.fake.slashCommand({ command: '/easel', text: 'queue' });
    expect((queue.body as { text: string }).text).toMatch(/no jobs waiting or running/);
  });

  it('/blend takes two images from its modal', async () => {
    await h.fake.slashCommand({ command: '/blend', text: 'blend 0.3' });
    const view = await h.fake.waitFor(() => h.fake.openViews()[0], 'the blend modal');
    const a = h.fake.userFile({ name: 'a.png', mimetype: 'image/png', data: png });
    const b = h.fake.userFile({ name: 'b.png', mimetype: 'image/png', data: await testImage(64, 96) });
    await h.fake.submitView({ viewId: view.id, values: { 'img:0': [a], 'img:1': [b] } });
    const root = await h.fake.waitFor(() => h.fake.messages(CHANNEL).find((m) => m.text.includes('asked for /blend')), 'the blend request');
    const card = await h.fake.waitFor(() => resultCards(h.fake, root.ts)[0], 'the blend result', 20_000);
    await h.bot.settled(jobIdOf(card));
    const job = await h.app.getJob(jobIdOf(card));
    expect(job).toMatchObject({ command: 'blend', state: 'done' });
    expect(job?.inputs).toHaveLength(2);
    expect(job?.params.blend).toBe(0.3);
  });

  it('in a channel Easel was not invited to, says so through the response_url and runs nothing', async () => {
    h.fake.addChannel('C0OUTSIDE', 'outside', { botMember: false });
    const submittedBefore = h.app.simulator!.submittedPromptIds().length;
    await h.fake.slashCommand({ command: '/restyle', channel: 'C0OUTSIDE' });
    const view = await h.fake.waitFor(() => h.fake.openViews()[0], 'the modal');
    const file = h.fake.userFile({ name: 'in.png', mimetype: 'image/png', data: png });
    await h.fake.submitView({ viewId: view.id, values: { 'img:0': [file] } });
    const note = await h.fake.waitFor(() => h.fake.ephemerals.find((e) => e.channel === 'C0OUTSIDE'), 'the explanation');
    expect(note).toMatchObject({ via: 'response_url', user: ALICE, text: expect.stringContaining('/invite @Easel') });
    await h.bot.idle();
    const mine = await h.app.jobsOf({ platform: 'slack', userId: ALICE, channelId: 'C0OUTSIDE' });
    expect(mine).toEqual([]);
    // It may have reached the host before it was cancelled, but nothing stays queued or running.
    expect((await h.app.status()).waiting).toBe(0);
    expect(h.app.simulator!.submittedPromptIds().length - submittedBefore).toBeLessThanOrEqual(1);
  });

  it('when the trigger_id has expired (3 s) it tells the user to run the command again, through Slack', async () => {
    const before = h.fake.calls.filter((c) => c.method === 'views.open').length;
    const ack = await h.fake.slashCommand({ command: '/restyle', text: 'late', triggerAgeMs: 3_500 });
    expect(ack.status).toBe(200);
    const note = await h.fake.waitFor(() => h.fake.ephemerals.find((e) => /run the command again/.test(e.text)), 'the explanation');
    expect(note.user).toBe(ALICE);
    expect(h.fake.calls.filter((c) => c.method === 'views.open').slice(before).map((c) => c.error)).toEqual(['expired_trigger_id']);
  });

  it('refuses a modal submission without an image, next to the field', async () => {
    await h.fake.slashCommand({ command: '/upscale' });
    const view = await h.fake.waitFor(() => h.fake.openViews()[0], 'the modal');
    // Slack's client itself refuses an empty required file input.
    await expect(h.fake.submitView({ viewId: view.id })).rejects.toThrow(/img:0 is required/);
    const doc = h.fake.userFile({ name: 'notes.txt', mimetype: 'text/plain', data: Buffer.from('hello') });
    const ack = await h.fake.submitView({ viewId: view.id, values: { 'img:0': [doc] } });
    expect(ack.body).toMatchObject({ response_action: 'errors', errors: { 'img:0': 'notes.txt is not an image.' } });
    expect(h.fake.view(view.id)?.open).toBe(true);
  });
});

async function until(check: () => Promise<unknown>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function hasButton(m: FakeMessage, action: string): boolean {
  return ((m.blocks ?? []) as Array<{ elements?: Array<{ action_id?: string }> }>).some((b) => (b.elements ?? []).some((e) => e.action_id?.startsWith(`easel:${action}:`)));
}
