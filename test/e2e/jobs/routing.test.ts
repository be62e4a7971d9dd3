import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeCatalogue } from '../../../src/comfy/node-catalogue.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';
import { startAuthProxy, type AuthProxy } from '../../unit/comfy/auth-proxy.ts';
import { startHarness, type Harness } from './harness.ts';

describe('routing across hosts', () => {
  let h: Harness;
  const ups: Array<{ host: string; nodes: number }> = [];
  beforeAll(async () => {
    h = await startHarness({
      hosts: 2,
      stepMs: 10,
      // gpu-2 cannot run the upscale preset (e.g. it lacks a node the preset needs).
      eligible: (host, preset) => !(host === 'gpu-2' && preset === 'upscale'),
      onPool: (pool) => pool.on('host-up', (host: string, cat: NodeCatalogue) => ups.push({ host, nodes: cat.classTypes.length })),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('announces every host with its node catalogue when it connects', () => {
    expect(ups.map((u) => u.host).sort()).toEqual(['gpu-1', 'gpu-2']);
    expect(ups.every((u) => u.nodes > 10)).toBe(true);
  });

  it('sends jobs only where their preset is valid, and spreads the rest by load', async () => {
    const upscales = [];
    const restyles = [];
    for (let i = 0; i < 3; i++) upscales.push(await h.service.enqueue(h.makeJob(`U${i}`, { command: 'upscale', steps: 4, options: { scale: 1.25, width: undefined, height: undefined } })));
    for (let i = 0; i < 4; i++) restyles.push(await h.service.enqueue(h.makeJob(`R${i}`, { steps: 4 })));
    const ends = await Promise.all([...upscales, ...restyles].map((j) => h.finished(j.id)));
    expect(ends.map((e) => e.type)).toEqual(Array(7).fill('done'));
    const hostOf = async (id: string) => (await h.store.get(id))!.host;
    for (const j of upscales) expect(await hostOf(j.id)).toBe('gpu-1');
    const restyleHosts = await Promise.all(restyles.map((j) => hostOf(j.id)));
    expect(restyleHosts).toContain('gpu-2');
    expect(h.pool.status().map((s) => s.up)).toEqual([true, true]);
  });
});

describe('hosts with their own credentials', () => {
  let h: Harness;
  let sims: Simulator[];
  let proxies: AuthProxy[];
  const basic = `Basic ${Buffer.from('easel:pw-gpu-2').toString('base64')}`;
  beforeAll(async () => {
    sims = await Promise.all([0, 1].map(() => startSimulator({ stepMs: 5, previews: false })));
    // gpu-1 wants a bearer token, gpu-2 basic auth; each refuses the other's credentials.
    proxies = [
      await startAuthProxy(sims[0].url, (hd) => hd.authorization === 'Bearer tok-gpu-1'),
      await startAuthProxy(sims[1].url, (hd) => hd.authorization === basic),
    ];
    h = await startHarness({
      sims,
      hostUrl: (_s, i) => proxies[i].url,
      hostAuth: (i) => (i === 0 ? { kind: 'bearer', token: 'tok-gpu-1' } : { kind: 'basic', username: 'easel', password: 'pw-gpu-2' }),
    });
  });
  afterAll(async () => {
    await h?.close();
    await Promise.all((proxies ?? []).map((p) => p.close()));
    await Promise.all((sims ?? []).map((s) => s.close()));
  });

  it('uses each host with its own auth for every request and socket, and runs jobs on both', async () => {
    expect(h.pool.available().sort()).toEqual(['gpu-1', 'gpu-2']);
    const jobs = [];
    for (let i = 0; i < 4; i++) jobs.push(await h.service.enqueue(h.makeJob(`auth-${i}`, { steps: 3 })));
    const ends = await Promise.all(jobs.map((j) => h.finished(j.id)));
    expect(ends.map((e) => e.type)).toEqual(Array(4).fill('done'));
    const hosts = new Set(await Promise.all(jobs.map(async (j) => (await h.store.get(j.id))!.host)));
    expect(hosts).toEqual(new Set(['gpu-1', 'gpu-2']));
    for (const p of proxies) {
      expect(p.seen.filter((s) => !s.ok)).toEqual([]);
      expect(p.seen.some((s) => s.kind === 'upgrade')).toBe(true);
      expect(p.seen.some((s) => s.path.startsWith('/upload/image'))).toBe(true);
    }
  });
});
