import { describe, expect, it } from 'vitest';
import { decodeCustomId, decodeJobActionId, encodeCustomId, jobActionId, MAX_CUSTOM_ID_LENGTH } from '../../../../src/bot/shared/custom-id.ts';

describe('custom ids', () => {
  const jobId = '0f8fad5b-d9cb-469f-a165-70867728950e';

  it('round-trips a job action with and without an index', () => {
    expect(jobActionId(jobId, 'reroll')).toBe(`easel:reroll:${jobId}`);
    expect(decodeJobActionId(jobActionId(jobId, 'vary', 3))).toEqual({ jobId, action: 'vary', index: 3 });
    expect(decodeJobActionId(jobActionId(jobId, 'delete'))).toEqual({ jobId, action: 'delete', index: undefined });
  });

  it('stays within Discord’s 100 characters', () => {
    expect(jobActionId(jobId, 'upscale', 4).length).toBeLessThanOrEqual(MAX_CUSTOM_ID_LENGTH);
    expect(() => encodeCustomId({ action: 'reroll', id: 'x'.repeat(80), index: 1 }, 50)).toThrow(/longer than 50/);
  });

  it('refuses ids that could smuggle extra fields', () => {
    expect(() => jobActionId('a:b', 'reroll')).toThrow();
    expect(() => encodeCustomId({ action: 'Re:roll', id: 'x' })).toThrow();
    expect(() => jobActionId(jobId, 'vary', 0)).toThrow();
  });

  it('ignores ids that are not ours or are malformed', () => {
    expect(decodeCustomId('other:reroll:abc')).toBeUndefined();
    expect(decodeCustomId('easel:reroll')).toBeUndefined();
    expect(decodeCustomId('easel:vary:abc:0')).toBeUndefined();
    expect(decodeCustomId('easel:vary:abc:1:2')).toBeUndefined();
    expect(decodeJobActionId('easel:ctx-restyle:123')).toBeUndefined();
    expect(decodeCustomId('easel:ctx-restyle:123')).toEqual({ action: 'ctx-restyle', id: '123' });
  });
});
