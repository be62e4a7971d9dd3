import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeCatalogue } from '../../../src/comfy/node-catalogue.ts';
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
