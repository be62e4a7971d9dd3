/**
 * The playground in headless Chromium against the real app on the built-in simulator: the page says
 * "simulated", a person attaches an image, runs /restyle, sees progress and the gallery, presses
 * reroll and sees the second result. A screenshot is written for a human look
 * (EASEL_SCREENSHOT_DIR, default the system temp folder).
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../src/app/create-app.ts';
import { startPlayground, type Playground } from '../../../src/bot/playground/playground-server.ts';
import { defaultConfig } from '../../../src/config/load-config.ts';
import { startSimulator } from '../../../src/simulator/index.ts';
import type { Simulator } from '../../../src/simulator/types.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const tmp = mkdtempSync(path.join(tmpdir(), 'easel-pg-browser-'));
const shotDir = process.env.EASEL_SCREENSHOT_DIR ?? tmpdir();
let app: Awaited<ReturnType<typeof createApp>>;
let pg: Playground;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const photoPath = path.join(tmp, 'harbour.png');
const textPath = path.join(tmp, 'notes.png');

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: run \`apt-get install chromium\` (or set CHROMIUM_PATH)`);
  const config = defaultConfig({ dataDir: tmp, simulator: { stepMs: 8, previews: true }, playground: { port: 0 } });
  app = await createApp(config);
  pg = await startPlayground(app, config.playground);
  // A small picture with some structure: sky, sea, a sun.
  const sky = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#7fb8e6' } })
    .composite([
      { input: await sharp({ create: { width: 320, height: 100, channels: 3, background: '#1f5f8b' } }).png().toBuffer(), left: 0, top: 140 },
      { input: await sharp({ create: { width: 50, height: 50, channels: 3, background: '#ffd23f' } }).png().toBuffer(), left: 230, top: 30 },
    ])
    .png()
    .toBuffer();
  writeFileSync(photoPath, sky);
  writeFileSync(textPath, 'not really a picture');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterAll(async () => {
  await browser?.close();
  await pg?.close();
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** Wait for a job's gallery image to be loaded; fail at once with the page's words if Easel reports an error. */
async function galleryOf(job: ReturnType<Page['locator']>) {
  const gallery = job.getByTestId('gallery');
  const deadline = Date.now() + 25_000;
  const before = await page.getByTestId('ephemeral').count();
  while (Date.now() < deadline) {
    const errors = await page.getByTestId('ephemeral').allTextContents();
    if (errors.length > before) throw new Error(`the page reported: ${errors.slice(before).join(' | ')}`);
    if (await job.locator('.status-lines.bad').count()) throw new Error(`the job failed: ${await job.locator('.status-lines.bad').textContent()}`);
    if ((await gallery.count()) && (await gallery.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0))) return gallery;
    await page.waitForTimeout(100);
  }
  throw new Error(`no gallery after 25 s; job shows: ${await job.textContent()}`);
}

/** Wait until the channel shows `n` jobs; fail at once with the page's words if Easel refuses. */
async function waitForJobs(n: number, errorsBefore: number) {
  await expect
    .poll(async () => {
      const errors = await page.getByTestId('ephemeral').allTextContents();
      if (errors.length > errorsBefore) return `error: ${errors.slice(errorsBefore).join(' | ')}`;
      return page.locator('[data-testid=job]').count();
    }, { timeout: 10_000 })
    .toBe(n);
}

describe('playground in a browser', () => {
  it('shows that it runs on the simulator and offers the commands', async () => {
    await page.goto(pg.url);
    await expect.poll(() => page.getByTestId('mode-badge').textContent()).toBe('simulated');
    await page.getByTestId('command-restyle').waitFor();
    const commands = await page.locator('[data-testid^=command-]').allTextContents();
    expect(commands).toEqual(expect.arrayContaining(['/restyle', '/upscale', '/variations']));
  });

  it('asks for an image before sending, and explains a file that is not one', async () => {
    await page.getByTestId('command-restyle').click();
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('composer-error').textContent()).toMatch(/needs an image/);
    await page.getByTestId('file-image').setInputFiles(textPath);
    await page.getByTestId('send').click();
    await expect.poll(() => page.getByTestId('composer-error').textContent()).toMatch(/\S/);
    expect(await page.getByTestId('composer-error').textContent()).not.toMatch(/needs an image/);
    expect(await page.locator('[data-testid=job]').count()).toBe(0);
  });

  it('runs /restyle, shows progress and the gallery, then a reroll gives a second result', async () => {
    await page.getByTestId('file-image').setInputFiles(photoPath);
    await page.getByTestId('text').fill('a harbour at sunset');
    await page.locator('#options-panel summary').click();
    await page.locator('[data-option=steps]').fill('24');
    await page.getByTestId('send').click();

    const first = page.locator('[data-testid=job]').first();
    await first.waitFor();
    expect(await first.locator('.command-text').textContent()).toContain('a harbour at sunset');
    // Progress is shown while it runs (step counter), then the gallery.
    await first.locator('[data-testid=progress-text]').filter({ hasText: /step \d+ of \d+|Queued|Starting|Sending/ }).waitFor({ timeout: 15_000 });
    await galleryOf(first);
    expect(await first.getAttribute('data-state')).toBe('done');
    const summary = await first.getByTestId('summary').textContent();
    expect(summary).toMatch(/seed/i);
    expect(summary).toMatch(/simulat/i);
    for (const action of ['reroll', 'subtle', 'strong', 'ladder', 'edit', 'delete']) {
      expect(await first.getByTestId(`action-${action}`).count(), action).toBe(1);
    }

    const errorsBefore = await page.getByTestId('ephemeral').count();
    await first.getByTestId('action-reroll').click();
    await waitForJobs(2, errorsBefore);
    const second = page.locator('[data-testid=job]').nth(1);
    expect(await second.locator('.command-text').textContent()).toMatch(/reroll/);
    await galleryOf(second);
    const seedOf = async (job: typeof first) => /seed\D*(\d+)/i.exec((await job.getByTestId('summary').textContent()) ?? '')?.[1];
    expect(await seedOf(second)).toBeDefined();
    expect(await seedOf(second)).not.toBe(await seedOf(first));

    await page.locator('#options-panel summary').click();
    const shot = path.join(shotDir, 'easel-playground.png');
    await page.screenshot({ path: shot });
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('edit reruns with a changed prompt, and the author can delete a result', async () => {
    const second = page.locator('[data-testid=job]').nth(1);
    await second.getByTestId('action-edit').click();
    const form = second.getByTestId('edit-form');
    await form.waitFor();
    const prompt = form.locator('[data-option=prompt]');
    expect(await prompt.inputValue()).toContain('a harbour at sunset');
    await prompt.fill('a harbour at night');
    const errorsBefore = await page.getByTestId('ephemeral').count();
    await form.getByRole('button', { name: 'Run with changes' }).click();
    await waitForJobs(3, errorsBefore);
    const third = page.locator('[data-testid=job]').nth(2);
    expect(await third.locator('.command-text').textContent()).toContain('a harbour at night');
    await galleryOf(third);
    expect(await third.getByTestId('summary').textContent()).toContain('a harbour at night');

    page.once('dialog', (d) => void d.accept());
    await third.getByTestId('action-delete').click();
    await expect.poll(() => third.getAttribute('data-state')).toBe('deleted');
    expect(await third.textContent()).toContain('Result deleted');
    expect(await third.getByTestId('gallery').count()).toBe(0);
  }, 60_000);

  it('keeps the channel after a reload (results stay visible, deleted ones gone)', async () => {
    await page.reload();
    await expect.poll(() => page.locator('[data-testid=gallery]').count()).toBe(2);
    expect(await page.locator('[data-testid=job]').count()).toBe(2);
  });
});

describe('playground composer and results (issue 12)', () => {
  let p: Page;
  beforeAll(async () => {
    p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    p.on('pageerror', (e) => pageErrors.push(e.message));
    await p.goto(pg.url);
    await p.getByTestId('command-restyle').waitFor();
  });
  afterAll(async () => {
    await p?.close();
  });

  it('the text box placeholder fits the chosen command', async () => {
    await p.getByTestId('command-restyle').click();
    const restyle = await p.getByTestId('text').getAttribute('placeholder');
    await p.getByTestId('command-upscale').click();
    const upscale = await p.getByTestId('text').getAttribute('placeholder');
    await p.getByTestId('command-variations').click();
    const variations = await p.getByTestId('text').getAttribute('placeholder');
    expect(restyle).toMatch(/^\/restyle: e\.g\. watercolor .*denoise 0\.6/);
    expect(upscale).toMatch(/^\/upscale: e\.g\. .*scale 2/);
    expect(variations).toMatch(/^\/variations: e\.g\. .*count 4/);
    expect(new Set([restyle, upscale, variations]).size).toBe(3);
  });

  it('the "needs an image" error goes away once an image is attached', async () => {
    await p.getByTestId('command-restyle').click();
    await p.getByTestId('send').click();
    await expect.poll(() => p.getByTestId('composer-error').textContent()).toMatch(/needs an image/);
    await p.getByTestId('file-image').setInputFiles(photoPath);
    await expect.poll(() => p.getByTestId('composer-error').textContent()).toBe('');
  });

  it('a misspelt style typed in the text box shows the did-you-mean error and sends nothing', async () => {
    const jobsBefore = await p.locator('[data-testid=job]').count();
    await p.getByTestId('text').fill('style watercolr');
    await p.getByTestId('send').click();
    await expect.poll(() => p.getByTestId('composer-error').textContent()).toMatch(/you gave "watercolr" \(did you mean watercolor\?\)/);
    await p.waitForTimeout(300);
    expect(await p.locator('[data-testid=job]').count()).toBe(jobsBefore);
    expect(await p.getByTestId('text').inputValue()).toBe('style watercolr'); // nothing typed is lost
  });

  it('a result folds its details, states its size, and can show itself at the input size', async () => {
    const jobsBefore = await p.locator('[data-testid=job]').count();
    await p.getByTestId('text').fill('watercolor steps 3');
    await p.getByTestId('send').click();
    await expect.poll(() => p.locator('[data-testid=job]').count(), { timeout: 10_000 }).toBe(jobsBefore + 1);
    const job = p.locator('[data-testid=job]').last();
    await job.getByTestId('gallery').waitFor({ timeout: 25_000 });

    const summary = job.getByTestId('summary');
    expect(await summary.evaluate((d: HTMLDetailsElement) => d.tagName === 'DETAILS' && !d.open)).toBe(true);
    expect(await job.getByTestId('summary-line').isVisible()).toBe(true);
    expect(await job.getByText(/^Seed: \d+$/).isVisible()).toBe(false); // folded away
    await job.getByTestId('summary-line').click();
    expect(await job.getByText(/^Seed: \d+$/).isVisible()).toBe(true);
    expect(await summary.textContent()).toMatch(/Output: \d+×\d+, the model's working size \(your image: 320×240\)/);

    expect(await job.getByTestId('matched-downloads').textContent()).toMatch(/At your image's size \(320×240\)/);
    const size = async () =>
      job.getByTestId('gallery').evaluate((img: HTMLImageElement) => (img.complete && img.naturalWidth ? `${img.dataset.size} ${img.naturalWidth}×${img.naturalHeight}` : 'loading'));
    expect(await size()).not.toMatch(/320×240/);
    await p.getByTestId('match-size').check();
    await expect.poll(size, { timeout: 10_000 }).toBe('input 320×240');
  }, 60_000);

  it('a ladder result has V1–V4 and U1–U4', async () => {
    const job = p.locator('[data-testid=job]').last();
    const jobsBefore = await p.locator('[data-testid=job]').count();
    await job.getByTestId('action-ladder').click();
    await expect.poll(() => p.locator('[data-testid=job]').count(), { timeout: 10_000 }).toBe(jobsBefore + 1);
    const ladder = p.locator('[data-testid=job]').last();
    await ladder.getByTestId('gallery').waitFor({ timeout: 30_000 });
    for (const i of [1, 2, 3, 4]) {
      expect(await ladder.getByTestId(`action-vary-${i}`).count(), `V${i}`).toBe(1);
      expect(await ladder.getByTestId(`action-upscale-${i}`).count(), `U${i}`).toBe(1);
    }
    expect(pageErrors).toEqual([]);
  }, 60_000);
});

describe('playground with a ComfyUI host configured', () => {
  let host: Simulator;
  let hostApp: Awaited<ReturnType<typeof createApp>>;
  let hostPg: Playground;
  const hostData = mkdtempSync(path.join(tmpdir(), 'easel-pg-host-'));

  beforeAll(async () => {
    // A separately started server speaking ComfyUI's protocol, configured like any GPU host.
    host = await startSimulator({ stepMs: 5 });
    const config = defaultConfig({ dataDir: hostData, hosts: [{ name: 'gpu-box', url: host.url }], playground: { port: 0 } });
    hostApp = await createApp(config);
    hostPg = await startPlayground(hostApp, config.playground);
  });

  afterAll(async () => {
    await hostPg?.close();
    await hostApp?.close();
    await host?.close();
    rmSync(hostData, { recursive: true, force: true });
  });

  // The host here is Easel's simulator started on its own: it says so in /system_stats, so the page
  // truthfully calls it simulated while naming the configured host and running the job there.
  it('uses that host, names it, and labels it from what the host itself reports', async () => {
    const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await p.goto(hostPg.url);
      await expect.poll(() => p.locator('#hosts').textContent()).toContain('gpu-box');
      expect(await p.getByTestId('mode-badge').textContent()).toMatch(/simulat/i);
      await p.getByTestId('command-restyle').click();
      await p.getByTestId('file-image').setInputFiles(photoPath);
      await p.getByTestId('send').click();
      const job = p.locator('[data-testid=job]').first();
      await job.getByTestId('gallery').waitFor({ timeout: 25_000 });
      const summary = (await job.getByTestId('summary').textContent()) ?? '';
      expect(summary).toContain('gpu-box');
      expect(summary).toMatch(/simulated/i);
      expect(host.submittedPromptIds().length).toBe(1);
    } finally {
      await p.close();
    }
  }, 40_000);
});
