import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCanvas, loadImage } from 'canvas';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markdownToHtml } from '../src/report/html.js';
import { runCli, runDirOf, tempDir } from './helpers/cli.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
/** Debian's chromium, which .ci/run installs; the flags keep it off the network this machine does not have. */
const CHROMIUM = '/usr/bin/chromium';

let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}, 60_000);
afterAll(async () => browser?.close());

/** Opens report.html from the file system as a reader would, and checks that everything in it is drawn. */
async function openReport(dir: string): Promise<{ tables: number; charts: number; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  // Nothing may come from the network: the file is self-contained.
  await page.route(/^https?:/, (route) => {
    errors.push(`network request: ${route.request().url()}`);
    return route.abort();
  });
  await page.goto(`file://${join(dir, 'report.html')}`);
  await page.waitForFunction(() => document.body.hasAttribute('data-charts-drawn'), null, { timeout: 15_000 });
  const charts = Number(await page.getAttribute('body', 'data-charts-drawn'));
  for (let i = 0; i < charts; i++) {
    const canvas = page.locator('canvas').nth(i);
    await canvas.scrollIntoViewIfNeeded();
    const image = await loadImage(await canvas.screenshot());
    const ctx = createCanvas(image.width, image.height).getContext('2d');
    ctx.drawImage(image, 0, 0);
    const pixels = ctx.getImageData(0, 0, image.width, image.height).data;
    const colours = new Set<number>();
    for (let p = 0; p < pixels.length; p += 4 * 53) colours.add((pixels[p]! << 16) | (pixels[p + 1]! << 8) | pixels[p + 2]!);
    expect(colours.size, `chart ${i} is blank`).toBeGreaterThan(5);
  }
  // The run's JSON is there to download, whole.
  const href = await page.getAttribute('a[download="run.json"]', 'href');
  expect(JSON.parse(decodeURIComponent(href!.replace(/^data:application\/json;charset=utf-8,/, ''))).runId).toBeTruthy();
  const tables = await page.locator('table').count();
  await page.close();
  return { tables, charts, errors };
}

describe('report.html in a real browser (headless chromium)', () => {
  it('a scale run with the 2015 reference: its tables and every chart drawn, no console error, nothing fetched', async () => {
    const dir = join(tempDir('html'), 'run');
    cpSync(join(FIXTURES, 'run-rsa2048'), dir, { recursive: true });
    const r = runCli(['report', dir, '--format', 'html', '--reference', join(FIXTURES, 'smartcard-hsm-ea-2015.json')]);
    expect(r.status).toBe(0);
    const page = await openReport(dir);
    expect(page.errors).toEqual([]);
    // throughput, efficiency, per-token, latency, throughput over time
    expect(page.charts).toBe(5);
    expect(page.tables).toBeGreaterThanOrEqual(4);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('SmartCard-HSM EA+');
  }, 90_000);

  it('a burn-in: its burn-in table, verdict and charts', async () => {
    const out = tempDir('html-burnin');
    const r = runCli(['burn-in', '--alg', 'p256', '--tokens', '2', '--duration', '2s', '--out', out], { HSM_BENCH_WORKSPACE: tempDir('html-ws') });
    expect(r.status).toBe(0);
    const dir = runDirOf(r);
    const page = await openReport(dir);
    expect(page.errors).toEqual([]);
    // per-token, latency, throughput over time, availability
    expect(page.charts).toBe(4);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<h2>Burn-in</h2>');
    expect(html).toMatch(/Verdict: PASSED/);
  }, 90_000);
});

describe('markdownToHtml', () => {
  it('keeps the alignment of report.md tables (numbers right) and pipes inside cells', () => {
    const html = markdownToHtml('| Token | Signatures |\n|---|---:|\n| a \\| b | 12 |', []);
    expect(html).toBe('<table><thead><tr><th>Token</th><th class="num">Signatures</th></tr></thead><tbody><tr><td>a | b</td><td class="num">12</td></tr></tbody></table>');
  });
});
