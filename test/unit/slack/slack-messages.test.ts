/**
 * Slack messages stay within Block Kit limits for every job state and for the biggest result card
 * (four images: V1-V4, U1-U4), and their buttons carry only job ids.
 */
import { describe, expect, it } from 'vitest';
import type { RenderedResult } from '../../../src/app/types.ts';
import type { JobEvent, JobRecord } from '../../../src/jobs/types.ts';
import { decodeJobAction } from '../../../src/bot/slack/action-id.ts';
import { progressMessage, requestMessage, resultMessage } from '../../../src/bot/slack/slack-messages.ts';
import { checkBlocks } from '../../fakes/slack/block-rules.ts';

const job: JobRecord = {
  id: '0b9f5a2e-6c1d-4e8f-9a3b-2f1e0d9c8b7a',
  command: 'variations',
  preset: 'variations',
  params: { prompt: 'a <b>harbour</b> & boats', denoise: 0.5, seed: 42, count: 4 },
  inputs: [],
  actor: { platform: 'slack', userId: 'U1', channelId: 'C1' },
  state: 'done',
  createdAt: 1,
  startedAt: 1000,
  finishedAt: 4200,
};

type Block = { type: string; elements?: Array<{ action_id: string; text: { text: string } }>; text?: { text: string } };

describe('Slack messages', () => {
  it('progress messages for every state pass Block Kit checks; only active ones offer Cancel', () => {
    const events: JobEvent[] = [
      { type: 'queued', job, position: 3, etaMs: 45_000 },
      { type: 'uploading', job },
      { type: 'submitted', job, host: 'gpu-1', simulated: false },
      { type: 'running', job, step: 7, maxSteps: 20, run: 2, runs: 3 },
      { type: 'waiting', job, reason: 'every host is busy' },
      { type: 'done', job },
      { type: 'failed', job, code: 'oom', reason: 'the GPU ran out of memory' },
      { type: 'cancelled', job },
    ];
    for (const e of events) {
      const msg = progressMessage(job, e);
      expect(checkBlocks(msg.blocks, 'message'), e.type).toEqual([]);
      const ids = (msg.blocks as Block[]).flatMap((b) => b.elements ?? []).map((el) => decodeJobAction(el.action_id)?.action);
      expect(ids.includes('cancel'), e.type).toBe(['queued', 'uploading', 'submitted', 'running', 'waiting'].includes(e.type));
    }
    expect(progressMessage(job, events[0]).text).toMatch(/position 3/);
    expect(progressMessage(job, events[3]).text).toMatch(/step 7\/20[\s\S]*run 2 of 3/);
    expect(progressMessage(job, events[5]).text).toMatch(/Done in 3 s/);
    expect(progressMessage(job, events[6]).text).toMatch(/ran out of memory/);
  });

  it('the biggest result card fits: rows of at most 5 buttons, escaped text, ids with the job id only', () => {
    const rendered: RenderedResult = {
      files: [],
      summary: ['Prompt: a <b>harbour</b> & boats', `Seed: 42`, 'x'.repeat(4000)],
      actions: [
        { action: 'reroll', label: 'Reroll' },
        { action: 'subtle', label: 'Subtle' },
        { action: 'strong', label: 'Strong' },
        { action: 'ladder', label: 'Ladder' },
        ...[1, 2, 3, 4].map((i) => ({ action: 'vary' as const, index: i, label: `V${i}` })),
        ...[1, 2, 3, 4].map((i) => ({ action: 'upscale' as const, index: i, label: `U${i}` })),
        { action: 'edit', label: 'Edit' },
        { action: 'delete', label: 'Delete' },
      ],
    };
    const card = resultMessage(job, rendered);
    expect(checkBlocks(card.blocks, 'message')).toEqual([]);
    const rows = (card.blocks as Block[]).filter((b) => b.type === 'actions');
    expect(rows.map((r) => r.elements!.map((e) => e.text.text))).toEqual([
      ['Reroll', 'Subtle', 'Strong', 'Ladder', 'Edit'],
      ['V1', 'V2', 'V3', 'V4'],
      ['U1', 'U2', 'U3', 'U4'],
      ['Delete'],
    ]);
    for (const el of rows.flatMap((r) => r.elements!)) expect(decodeJobAction(el.action_id)?.jobId).toBe(job.id);
    expect((card.blocks as Block[])[1].text!.text).toContain('a &lt;b&gt;harbour&lt;/b&gt; &amp; boats');
    expect(card.text.length).toBeLessThanOrEqual(3000);
  });

  it('the request line names the person and what they asked for', () => {
    const msg = requestMessage('U1', 'restyle', { prompt: 'oil painting', denoise: 0.6 });
    expect(msg.text).toBe('<@U1> asked for /restyle: oil painting · denoise 0.6');
    expect(checkBlocks(msg.blocks, 'message')).toEqual([]);
  });
});
