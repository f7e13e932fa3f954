/**
 * Screenshots of the page's three panels for docs/web.md, taken in headless
 * Chromium (WebGL on SwiftShader): a drawn facade and its photo, the
 * default model's summary, and a short training run at 64x64.
 *
 *   node --conditions=source --import tsx examples/web/screenshots.ts [--out docs/web] [--steps 150]
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { drawRectangle, launchChromium } from './chromium.ts';
import { serveWeb } from './serve.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/web' }, steps: { type: 'string', default: '150' } } });
const out = values.out!;
const steps = Number(values.steps);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps: expected a positive integer, got "${values.steps}"`);
await mkdir(out, { recursive: true });

const server = await serveWeb();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', (e as Error).message));
  await page.goto(server.url);
  await page.waitForFunction(() => document.body.dataset['ready'] === 'true', { timeout: 180_000 });
  console.log(`backend: ${await page.$eval('#backend', (e) => e.textContent)}; ${await page.$eval('#translate-ms', (e) => e.textContent)}`);
  // Panel 1: the starter facade with a shop drawn across the ground floor.
  await drawRectangle(page, 'shop', [0.1, 0.8, 0.9, 0.98]);
  await (await page.$('#panel-draw'))!.screenshot({ path: join(out, 'draw.png') });
  await (await page.$('#panel-model'))!.screenshot({ path: join(out, 'model.png') });
  // Panel 3: the paper's recipe at 64x64, ngf 16, on the bundled pairs.
  await page.$eval('#train-steps', (e, s) => void ((e as HTMLInputElement).value = String(s)), steps);
  await page.$eval('#train-every', (e) => void ((e as HTMLInputElement).value = '25'));
  const t0 = Date.now();
  await page.click('#train-start');
  await page.waitForFunction((s) => new RegExp(`training finished at step ${s}`).test(document.getElementById('status')?.textContent ?? ''), { timeout: 1_800_000 }, steps);
  console.log(`${steps} steps at 64x64 in ${((Date.now() - t0) / 1000).toFixed(0)} s; ${await page.$eval('#train-info', (e) => e.textContent)}`);
  await (await page.$('#panel-train'))!.screenshot({ path: join(out, 'train.png') });
  console.log(`screenshots: ${out}/draw.png, model.png, train.png`);
} finally {
  await browser.close();
  await server.stop();
}
