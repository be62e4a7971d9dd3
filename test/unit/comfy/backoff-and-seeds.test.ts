import { describe, expect, it } from 'vitest';
import { authFailureDelay, backoffDelay } from '../../../src/comfy/backoff.ts';
import { clampSeed, withSafeSeeds } from '../../../src/comfy/client.ts';
import { MAX_SEED } from '../../../src/comfy/types.ts';
import { parseQueue, parseHistory, parseSystemStats } from '../../../src/comfy/wire.ts';
import { authHeaders, normaliseHost, redactSecrets, secretsOf } from '../../../src/comfy/auth-headers.ts';

describe('reconnect backoff', () => {
  const opts = { initialMs: 500, maxMs: 15_000 };
  it('doubles from the first delay up to the cap', () => {
    const top = () => 1;
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a, opts, top))).toEqual([
      500, 1000, 2000, 4000, 8000, 15000, 15000, 15000,
    ]);
  });
  it('jitters within the upper half of the nominal delay', () => {
    expect(backoffDelay(3, opts, () => 0)).toBe(2000);
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(3, opts);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
      seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(5);
  });
  it('never retries quickly after an auth failure', () => {
    expect(authFailureDelay(opts, () => 0)).toBeGreaterThanOrEqual(27_000);
    expect(authFailureDelay({ initialMs: 10, maxMs: 60_000 }, () => 0.5)).toBe(60_000);
  });
});

describe('seeds', () => {
  it('stay integers within 0..2^53-1', () => {
    expect(clampSeed(42)).toBe(42);
    expect(clampSeed(-5)).toBe(0);
    expect(clampSeed(7.9)).toBe(7);
    expect(clampSeed(2 ** 64)).toBe(MAX_SEED);
    expect(clampSeed(Number.NaN)).toBe(0);
    expect(clampSeed(Infinity)).toBe(MAX_SEED);
    expect(Number.isSafeInteger(clampSeed(18446744073709551615))).toBe(true);
  });
  it('are clamped in a submitted workflow without touching the original', () => {
    const wf = { '3': { class_type: 'KSampler', inputs: { seed: 2 ** 60, steps: 8 } }, '5': { class_type: 'KSamplerAdvanced', inputs: { noise_seed: -1 } } };
    const safe = withSafeSeeds(wf);
    expect(safe['3'].inputs.seed).toBe(MAX_SEED);
    expect(safe['5'].inputs.noise_seed).toBe(0);
    expect(wf['3'].inputs.seed).toBe(2 ** 60);
  });
});

describe('wire parsing', () => {
  it('sorts pending queue items by number (the server sends a heap)', () => {
    const q = parseQueue({
      queue_running: [[20, 'a', {}, {}, ['9']]],
      queue_pending: [[23, 'd', {}, {}, ['9']], [21, 'b', {}, {}, ['9']], [22, 'c', {}, {}, ['9']], [-1, 'front', {}, {}, ['9']]],
    });
    expect(q.running).toEqual([{ number: 20, promptId: 'a' }]);
    expect(q.pending.map((p) => p.promptId)).toEqual(['front', 'b', 'c', 'd']);
  });
  it('reads history entries, {} meaning unknown', () => {
    expect(parseHistory('x', {})).toBeNull();
    const h = parseHistory('p', {
      p: {
        prompt: [13, 'p', {}, {}, ['9']],
        outputs: { '9': { images: [{ filename: 'img2img_00001_.png', subfolder: 'comfy-real', type: 'output' }] }, '12': { text: ['hi'] } },
        status: { status_str: 'success', completed: true, messages: [['execution_start', { prompt_id: 'p' }]] },
      },
    });
    expect(h).toMatchObject({
      promptId: 'p',
      status: 'success',
      completed: true,
      number: 13,
      outputs: { '9': [{ filename: 'img2img_00001_.png', subfolder: 'comfy-real', type: 'output' }] },
    });
  });
  it('reads system stats (version and VRAM)', () => {
    const s = parseSystemStats({
      system: { os: 'posix', comfyui_version: '0.3.64' },
      devices: [{ name: 'cuda:0 RTX 4090', type: 'cuda', index: 0, vram_total: 25393692672, vram_free: 23000000000 }],
    });
    expect(s).toEqual({
      comfyuiVersion: '0.3.64',
      os: 'posix',
      devices: [{ name: 'cuda:0 RTX 4090', type: 'cuda', vramTotal: 25393692672, vramFree: 23000000000 }],
    });
  });
});

describe('auth headers', () => {
  it('bearer, basic and custom header', () => {
    expect(authHeaders({ kind: 'bearer', token: 't0ken' })).toEqual({ authorization: 'Bearer t0ken' });
    expect(authHeaders({ kind: 'basic', username: 'u', password: 'p@ss' })).toEqual({
      authorization: `Basic ${Buffer.from('u:p@ss').toString('base64')}`,
    });
    expect(authHeaders({ kind: 'header', name: 'X-API-Key', value: 'k123' })).toEqual({ 'x-api-key': 'k123' });
    expect(authHeaders(undefined)).toEqual({});
  });
  it('credentials in the URL become basic auth and leave the URL', () => {
    const n = normaliseHost({ name: 'h', url: 'http://bob:s3cret@10.0.0.5:8188/comfy/' });
    expect(n).toEqual({ baseUrl: 'http://10.0.0.5:8188/comfy', auth: { kind: 'basic', username: 'bob', password: 's3cret' } });
  });
  it('redacts every form of the secret', () => {
    const host = { url: 'http://x', auth: { kind: 'basic' as const, username: 'bob', password: 's3cret' } };
    const b64 = Buffer.from('bob:s3cret').toString('base64');
    expect(redactSecrets(`pw s3cret hdr Basic ${b64}`, secretsOf(host))).toBe('pw *** hdr Basic ***');
  });
});
