/**
 * Issue 10, finding 2, at the core (the Easel facade on the simulator): limits are checked before any
 * decode or disk write, and admission holds its place, so one user flooding cannot get past them.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EaselApp } from '../../src/app/create-app.ts';
import { UserError } from '../../src/commands/errors.ts';
import type { Actor } from '../../src/jobs/types.ts';
import { alice, bob, failOnUnhandledRejections, removeDir, startApp, tempDir, testPicture } from '../e2e/app/app-harness.ts';

failOnUnhandledRejections();

let app: EaselApp | undefined;
let dir: string | undefined;

afterEach(async () => {
  app?.simulator?.release();
  await app?.close();
  removeDir(dir);
  app = undefined;
  dir = undefined;
});

function filesIn(folder: string): string[] {
  try {
    return readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => d.name);
  } catch {
    return [];
  }
}

const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'rejected' ? (r.reason as UserError).code : 'queued');

describe('one user flooding the core', () => {
  it('refused submissions decode nothing and write nothing to disk', async () => {
    dir = tempDir('easel-abuse-flood-');
    // Long steps: the first job keeps running, so everything else waits and counts against the limit.
    app = await startApp(dir, { simulator: { stepMs: 500 }, limits: { perUserWaiting: 2, concurrentUploads: 100, perUserUploads: 100 } });
    // 30 different pictures: every one that reached the image store would be a file of its own.
    const pictures = await Promise.all(Array.from({ length: 30 }, (_, i) => testPicture(64, 48, i * 7)));
    const results = await Promise.allSettled(pictures.map((image) => app!.submit({ command: 'restyle', options: { steps: 60 }, images: [image], actor: alice })));
    const queued = results.filter((r) => r.status === 'fulfilled');
    // Two waiting, plus at most two already on the host (one running, one queued behind it).
    expect(queued.length).toBeLessThanOrEqual(4);
    expect(new Set(results.map(codeOf))).toEqual(new Set(['queued', 'too_many_jobs']));
    // Only the queued jobs' inputs are stored; the 27+ refused ones left nothing behind.
    expect(filesIn(join(dir, 'images')).length).toBe(queued.length);
  });

  it('admission holds its place: 20 parallel admits of one user pass only as often as the limit allows', async () => {
    dir = tempDir('easel-abuse-admit-');
    app = await startApp(dir, { limits: { perUserWaiting: 3, concurrentUploads: 100, perUserUploads: 100 } });
    const tickets = await Promise.allSettled(Array.from({ length: 20 }, () => app!.admit({ command: 'restyle', actor: alice })));
    expect(tickets.filter((t) => t.status === 'fulfilled')).toHaveLength(3);
    expect(tickets.filter((t) => t.status === 'rejected').map(codeOf)).toEqual(Array(17).fill('too_many_jobs'));
    // Another user is not affected.
    const other = await app.admit({ command: 'restyle', actor: bob });
    other.release();
    // Released tickets give the places back.
    for (const t of tickets) if (t.status === 'fulfilled') t.value.release();
    (await app.admit({ command: 'restyle', actor: alice })).release();
  });

  it('the queue cap counts admitted submissions still being uploaded', async () => {
    dir = tempDir('easel-abuse-cap-');
    app = await startApp(dir, { limits: { queueCap: 2, concurrentUploads: 100, perUserUploads: 100 } });
    const users: Actor[] = Array.from({ length: 5 }, (_, i) => ({ ...alice, userId: `u${i}` }));
    const results = await Promise.allSettled(users.map((actor) => app!.admit({ command: 'restyle', actor })));
    expect(results.map(codeOf)).toEqual(['queued', 'queued', 'queue_full', 'queue_full', 'queue_full']);
  });

  it('a command that is off, or not for this channel, is refused at admission', async () => {
    dir = tempDir('easel-abuse-policy-');
    app = await startApp(dir, { policy: { commands: { upscale: { enabled: false }, restyle: { channels: ['art'] } } } });
    await expect(app.admit({ command: 'upscale', actor: alice })).rejects.toMatchObject({ code: 'not_allowed' });
    await expect(app.admit({ command: 'restyle', actor: alice })).rejects.toMatchObject({ code: 'not_allowed' });
    (await app.admit({ command: 'restyle', actor: { ...alice, channelId: 'art' } })).release();
    // Submitting without a ticket goes through the same desk before any decode.
    await expect(app.submit({ command: 'upscale', options: {}, images: [Buffer.from('not even an image')], actor: alice })).rejects.toMatchObject({ code: 'not_allowed' });
  });

  it('caps concurrent uploads globally and per user with a clear "busy, try again" answer', async () => {
    dir = tempDir('easel-abuse-busy-');
    app = await startApp(dir, { limits: { concurrentUploads: 3, perUserUploads: 2 } });
    const a1 = await app.admit({ command: 'restyle', actor: alice });
    const a2 = await app.admit({ command: 'restyle', actor: alice });
    const third = app.admit({ command: 'restyle', actor: alice });
    await expect(third).rejects.toMatchObject({ code: 'busy' });
    await expect(third).rejects.toThrow(/busy.*try again in a moment/i);
    const b1 = await app.admit({ command: 'restyle', actor: bob });
    await expect(app.admit({ command: 'restyle', actor: { ...bob, userId: 'carol' } })).rejects.toMatchObject({ code: 'busy' });
    // A ticket consumed by submit frees its slot once the image is stored.
    await app.submit({ command: 'restyle', options: { steps: 4 }, images: [await testPicture(64, 48)], actor: alice, ticket: a1 });
    (await app.admit({ command: 'restyle', actor: { ...bob, userId: 'carol' } })).release();
    a2.release();
    b1.release();
  });

  it('a ticket is single-use, and a refused upload gives back its cooldown', async () => {
    dir = tempDir('easel-abuse-ticket-');
    app = await startApp(dir, { limits: { cooldownSeconds: 60 } });
    const ticket = await app.admit({ command: 'restyle', actor: alice });
    await expect(app.submit({ command: 'restyle', options: {}, images: [Buffer.from('hello, I am text')], actor: alice, ticket })).rejects.toMatchObject({
      code: 'bad_image',
    });
    await expect(app.submit({ command: 'restyle', options: {}, images: [await testPicture(64, 48)], actor: alice, ticket })).rejects.toMatchObject({
      code: 'expired',
    });
    // Nothing was queued, so no cooldown: the user may try again at once, and then the cooldown holds.
    const again = await app.admit({ command: 'restyle', actor: alice });
    await app.submit({ command: 'restyle', options: { steps: 4 }, images: [await testPicture(64, 48)], actor: alice, ticket: again });
    await expect(app.admit({ command: 'restyle', actor: alice })).rejects.toMatchObject({ code: 'cooldown' });
  });

  it('a blend whose second image is bad stores neither', async () => {
    dir = tempDir('easel-abuse-blend-');
    app = await startApp(dir);
    await expect(
      app.submit({ command: 'blend', options: {}, images: [await testPicture(64, 48), Buffer.from('GIF89a broken')], actor: alice }),
    ).rejects.toMatchObject({ code: 'bad_image' });
    expect(filesIn(join(dir, 'images'))).toEqual([]);
  });
});
