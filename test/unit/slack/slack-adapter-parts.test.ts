/**
 * The Slack adapter's pure parts: button ids, the command modal (build + read back), mention parsing,
 * and the double-delivery guard.
 */
import { describe, expect, it } from 'vitest';
import type { CommandSpec } from '../../../src/commands/types.ts';
import { decodeJobAction, encodeJobAction, JOB_ACTION_PATTERN } from '../../../src/bot/slack/action-id.ts';
import { parseMention, slackPlainText } from '../../../src/bot/slack/slack-mention.ts';
import { buildCommandModal, decodeContext, readModalValues } from '../../../src/bot/slack/slack-modal.ts';
import { RecentKeys } from '../../../src/bot/shared/recent-keys.ts';
import { checkView } from '../../fakes/slack/block-rules.ts';

const restyle: CommandSpec = {
  name: 'restyle',
  description: 'Repaint an image in a new style',
  help: '',
  images: ['image'],
  preset: 'restyle',
  options: [
    { name: 'prompt', type: 'string', description: 'What the picture should look like' },
    { name: 'style', type: 'choice', description: 'A preset style', choices: [{ name: 'Oil painting', value: 'oil' }, { name: 'Watercolor', value: 'watercolor' }] },
    { name: 'denoise', type: 'number', description: 'How much to change', min: 0.05, max: 1, default: 0.55 },
    { name: 'steps', type: 'integer', description: 'Sampling steps', min: 1, max: 60, default: 20 },
    { name: 'sampler', type: 'choice', description: 'Sampler', autocomplete: true },
    { name: 'keep_colors', type: 'boolean', description: 'Keep the original colours' },
  ],
};
const blend: CommandSpec = { ...restyle, name: 'blend', images: ['image', 'image2'] };

describe('button ids', () => {
  it('round-trip a job id, an action and an index, and nothing else', () => {
    const id = encodeJobAction({ jobId: 'j_01HZX', action: 'vary', index: 3 });
    expect(id).toBe('easel:vary:j_01HZX:3');
    expect(JOB_ACTION_PATTERN.test(id)).toBe(true);
    expect(decodeJobAction(id)).toEqual({ jobId: 'j_01HZX', action: 'vary', index: 3 });
    expect(decodeJobAction('easel:reroll:abc')).toEqual({ jobId: 'abc', action: 'reroll' });
  });

  it('reject ids that are not ours or malformed', () => {
    expect(decodeJobAction('other:reroll:abc')).toBeUndefined();
    expect(decodeJobAction('easel:explode:abc')).toBeUndefined();
    expect(decodeJobAction('easel:vary:abc:0')).toBeUndefined();
    expect(decodeJobAction('easel:vary:a/b')).toBeUndefined();
    expect(() => encodeJobAction({ jobId: 'has space', action: 'reroll' })).toThrow();
  });
});

describe('command modal', () => {
  const choices = (option: string) => (option === 'sampler' ? [{ name: 'euler', value: 'euler' }, { name: 'dpmpp_2m', value: 'dpmpp_2m' }] : []);

  it('has a file input and one input per option, pre-filled, and passes Slack view checks', () => {
    const view = buildCommandModal({
      spec: restyle,
      context: { command: 'restyle', channelId: 'C1' },
      prefill: { prompt: 'a harbour at dusk', style: 'Watercolor', denoise: 0.6 },
      choices,
      mode: 'new',
    });
    expect(checkView(view)).toEqual([]);
    const blocks = view.blocks as Array<Record<string, any>>;
    const byId = Object.fromEntries(blocks.filter((b) => b.block_id).map((b) => [b.block_id, b]));
    expect(byId['img:0'].element.type).toBe('file_input');
    expect(byId['img:0'].optional).toBe(false);
    expect(byId['opt:prompt'].element.initial_value).toBe('a harbour at dusk');
    expect(byId['opt:style'].element.initial_option.value).toBe('watercolor');
    expect(byId['opt:denoise'].element.initial_value).toBe('0.6');
    expect(byId['opt:steps'].element.initial_value).toBe('20');
    expect(byId['opt:sampler'].element.options.map((o: any) => o.value)).toEqual(['euler', 'dpmpp_2m']);
    expect(byId['opt:keep_colors'].element.type).toBe('checkboxes');
    expect(decodeContext(view.private_metadata as string)).toEqual({ command: 'restyle', channelId: 'C1' });
  });

  it('makes the upload optional when the shortcut brought an image, and offers a command picker', () => {
    const view = buildCommandModal({
      spec: restyle,
      context: { command: 'restyle', channelId: 'C1', threadTs: '1.2', messageImage: { url: 'https://files.slack.com/x.png', name: 'x.png' } },
      prefill: {},
      choices,
      mode: 'new',
      commandPicker: [restyle, blend],
    });
    expect(checkView(view)).toEqual([]);
    const blocks = view.blocks as Array<Record<string, any>>;
    expect(blocks[0].elements[0].action_id).toBe('easel_pick_command');
    expect(blocks.find((b) => b.block_id === 'img:0')?.optional).toBe(true);
  });

  it('reads values back and flags numbers out of range next to the field', () => {
    const file = { id: 'F1', name: 'in.png', mimetype: 'image/png', url_private: 'https://files.slack.com/in.png' };
    const values = {
      'img:0': { v: { type: 'file_input', files: [file] } },
      'opt:prompt': { v: { type: 'plain_text_input', value: 'neon city' } },
      'opt:style': { v: { type: 'static_select', selected_option: { value: 'oil' } } },
      'opt:denoise': { v: { type: 'plain_text_input', value: '1.5' } },
      'opt:steps': { v: { type: 'plain_text_input', value: '12.5' } },
      'opt:sampler': { v: { type: 'static_select', selected_option: null } },
      'opt:keep_colors': { v: { type: 'checkboxes', selected_options: [{ value: 'true' }] } },
    };
    const read = readModalValues(restyle, values, 'new');
    expect(read.options).toEqual({ prompt: 'neon city', style: 'oil', keep_colors: true });
    expect(read.files[0]?.id).toBe('F1');
    expect(read.errors['opt:denoise']).toBe('denoise must be between 0.05 and 1; you gave 1.5');
    expect(read.errors['opt:steps']).toMatch(/whole number/);
    const ok = readModalValues(restyle, { ...values, 'opt:denoise': { v: { type: 'plain_text_input', value: '0.3' } }, 'opt:steps': { v: { type: 'plain_text_input', value: '' } } }, 'new');
    expect(ok.errors).toEqual({});
    expect(ok.options.denoise).toBe(0.3);
    expect('steps' in ok.options).toBe(false);
  });

  it('gives blend two file inputs', () => {
    const view = buildCommandModal({ spec: blend, context: { command: 'blend', channelId: 'C1' }, prefill: {}, choices, mode: 'new' });
    expect((view.blocks as Array<Record<string, any>>).filter((b) => b.element?.type === 'file_input')).toHaveLength(2);
  });
});

describe('mentions', () => {
  it('take the first word after the mention as the command', () => {
    expect(parseMention('<@U0BOT0001> restyle watercolor denoise 0.5', [restyle, blend])).toEqual({ kind: 'command', command: 'restyle', rest: 'watercolor denoise 0.5' });
    expect(parseMention('<@U0BOT0001|easel>   /Blend  ', [restyle, blend])).toEqual({ kind: 'command', command: 'blend', rest: '' });
  });

  it("read Slack's escaped text as typed: &amp; &lt; &gt;, links, channels, special mentions", () => {
    expect(slackPlainText('cats &amp; dogs &lt;3 &gt; birds')).toBe('cats & dogs <3 > birds');
    expect(slackPlainText('like <https://example.com/a|example.com/a> or <https://x.org>')).toBe('like example.com/a or https://x.org');
    expect(slackPlainText('in <#C0CHAN001|general> <!here> now')).toBe('in #general  now');
    expect(slackPlainText('hi <@U0USER001>')).toBe('hi <@U0USER001>');
    expect(parseMention('<@U0BOT0001> restyle fish &amp; chips', [restyle])).toEqual({ kind: 'command', command: 'restyle', rest: 'fish & chips' });
  });

  it('answer anything else with help naming the commands', () => {
    const r = parseMention('<@U0BOT0001> paint me a cat', [restyle, blend]);
    expect(r.kind).toBe('help');
    expect(r.kind === 'help' && r.text).toMatch(/I don't know "paint"[\s\S]*\/restyle[\s\S]*\/blend/);
  });
});

describe('RecentKeys', () => {
  it('lets a key through once per ttl and forgets it afterwards', () => {
    let now = 1000;
    const keys = new RecentKeys(3000, 10, () => now);
    expect(keys.claim('a')).toBe(true);
    expect(keys.claim('a')).toBe(false);
    now += 2999;
    expect(keys.claim('a')).toBe(false);
    now += 1;
    expect(keys.claim('a')).toBe(true);
    keys.release('a');
    expect(keys.claim('a')).toBe(true);
  });

  it('never grows past its size', () => {
    const keys = new RecentKeys(60_000, 3);
    for (const k of ['a', 'b', 'c', 'd']) keys.claim(k);
    expect(keys.has('a')).toBe(false);
    expect(keys.has('d')).toBe(true);
  });
});
