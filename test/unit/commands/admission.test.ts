import { describe, expect, it } from 'vitest';
import { admit, compileBlockedPatterns } from '../../../src/commands/admission.ts';
import { UserError } from '../../../src/commands/errors.ts';
import type { PolicyConfig } from '../../../src/config/types.ts';
import type { Actor } from '../../../src/jobs/types.ts';

const actor: Actor = { platform: 'discord', userId: 'u1', channelId: 'c1', serverId: 'g1', roles: ['Artist'] };
const params = { prompt: 'a cat on a roof', negative: 'blurry', denoise: 0.6, seed: 1 };

function policy(p: Partial<PolicyConfig> = {}): PolicyConfig {
  return { commands: {}, blockedWords: [], blockedPatterns: [], channels: {}, buttons: { rerun: 'anyone', delete: 'author', cancel: 'author' }, ...p };
}

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    return { code: (err as UserError).code, message: (err as Error).message };
  }
  throw new Error('expected a refusal');
}

describe('admit', () => {
  it('lets everything through with an empty policy, params copied not changed', () => {
    const out = admit('restyle', params, actor, policy());
    expect(out).toEqual({ params, spoiler: false });
    expect(out.params).not.toBe(params);
  });

  it('channels: only the listed channels may use a command', () => {
    const p = policy({ commands: { restyle: { channels: ['c2', 'c3'] } } });
    expect(refusal(() => admit('restyle', params, actor, p))).toEqual({ code: 'not_allowed', message: "/restyle can't be used in this channel. Ask an admin where it is allowed." });
    expect(() => admit('restyle', params, { ...actor, channelId: 'c3' }, p)).not.toThrow();
    expect(() => admit('upscale', params, actor, p)).not.toThrow();
  });

  it('roles: one of the roles is needed (case-insensitive)', () => {
    const p = policy({ commands: { blend: { roles: ['artist', 'mod'] }, hires: { roles: ['mod'] } } });
    expect(() => admit('blend', params, actor, p)).not.toThrow();
    expect(refusal(() => admit('hires', params, actor, p))).toEqual({ code: 'not_allowed', message: '/hires needs one of these roles: mod.' });
    expect(refusal(() => admit('blend', params, { ...actor, roles: undefined }, p)).code).toBe('not_allowed');
  });

  it('a disabled command is refused', () => {
    expect(refusal(() => admit('sketch', params, actor, policy({ commands: { sketch: { enabled: false } } })))).toEqual({ code: 'not_allowed', message: '/sketch is turned off on this bot.' });
  });

  it('blocked words: whole words, any case, in prompt and negative', () => {
    const p = policy({ blockedWords: ['gore', 'bad word'] });
    expect(refusal(() => admit('restyle', { ...params, prompt: 'lots of GORE here' }, actor, p))).toEqual({
      code: 'blocked_prompt',
      message: 'Your prompt contains a blocked word ("gore"). Please rephrase it.',
    });
    expect(refusal(() => admit('restyle', { ...params, negative: 'gore!' }, actor, p)).message).toContain('negative prompt');
    expect(refusal(() => admit('restyle', { ...params, prompt: 'a Bad  Word' }, actor, p)).code).toBe('blocked_prompt');
    expect(() => admit('restyle', { ...params, prompt: 'Gorey details, goregeous' }, actor, p)).not.toThrow();
    expect(() => admit('restyle', { ...params, prompt: 'a badword' }, actor, p)).not.toThrow();
  });

  it('blocked words hidden with zero-width characters, soft hyphens or fullwidth letters are still found', () => {
    const p = policy({ blockedWords: ['gore'], blockedPatterns: ['nud(e|ity)'] });
    for (const prompt of ['go\u200bre', 'g\u00adore', '\uff27\uff2f\uff32\uff25 scene', 'a go\u200dre\u2060 scene']) {
      expect(refusal(() => admit('restyle', { ...params, prompt }, actor, p)).code, JSON.stringify(prompt)).toBe('blocked_prompt');
    }
    expect(refusal(() => admit('restyle', { ...params, prompt: 'nu\u200bdity' }, actor, p)).code).toBe('blocked_prompt');
    // the admitted prompt is passed on unchanged, and ordinary accented or CJK text is not affected
    const ok = admit('restyle', { ...params, prompt: 'café ｓｔｙｌｅ, 港の夜景' }, actor, p);
    expect(ok.params.prompt).toBe('café ｓｔｙｌｅ, 港の夜景');
  });

  it('blocked patterns: regular expressions, case-insensitive', () => {
    const p = policy({ blockedPatterns: ['nud(e|ity)', '\\bcelebrit(y|ies)\\b'] });
    expect(refusal(() => admit('restyle', { ...params, prompt: 'NUDITY' }, actor, p))).toEqual({
      code: 'blocked_prompt',
      message: 'Your prompt contains something this server does not allow. Please rephrase it.',
    });
    expect(refusal(() => admit('restyle', { ...params, negative: 'no celebrities' }, actor, p)).code).toBe('blocked_prompt');
    expect(() => admit('restyle', { ...params, prompt: 'a nude-colored vase'.replace('nude', 'beige') }, actor, p)).not.toThrow();
    // an invalid pattern never blocks everyone; config validation reports it
    expect(() => admit('restyle', params, actor, policy({ blockedPatterns: ['(unclosed'] }))).not.toThrow();
    expect(() => compileBlockedPatterns(['ok', '(unclosed'])).toThrow(/"\(unclosed" is not a valid regular expression/);
  });

  it('channel defaults: negative prompt appended once, spoiler flag; "*" applies everywhere', () => {
    const p = policy({ channels: { '*': { negativePrompt: 'nsfw' }, c1: { negativePrompt: 'gore, nsfw', spoiler: true } } });
    const out = admit('restyle', params, actor, p);
    expect(out).toEqual({ params: { ...params, negative: 'blurry, nsfw, gore' }, spoiler: true });
    // applying twice (a rerun of an admitted job) does not repeat it
    expect(admit('restyle', out.params, actor, p).params.negative).toBe('blurry, nsfw, gore');
    const elsewhere = admit('restyle', { ...params, negative: '' }, { ...actor, channelId: 'c9' }, p);
    expect(elsewhere).toEqual({ params: { ...params, negative: 'nsfw' }, spoiler: false });
  });
});
