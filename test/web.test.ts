// The web page (examples/web) in a real browser: Debian's chromium, headless,
// WebGL2 on SwiftShader. Node's cpu backend is the oracle for its numbers;
// the CLI reads the checkpoint the page saves.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRunArchive, generatorFromRun, makeKey, resizeImage, splitHalves, disposeTree } from '../lib/index.ts';
import { readBytes, readImage, writeImage } from '../lib/data/image.ts';
import { bytesToFloat } from '../lib/data/pixels.ts';
import { serveWeb, type WebServer } from '../examples/web/serve.ts';
import { launchChromium, skipBrowser } from './helpers/browser.ts';
import { drawRectangle } from '../examples/web/chromium.ts';
import { runCli } from './helpers/run-cli.ts';

const DEFAULT_MODEL = 'examples/web/model/facades-unet128.zip';
const VAL_PAIR = 'examples/data/facades-mini/val/41.jpg';

/** The label half of a facades pair at `size`, as the library resizes it (floats in [-1, 1]). */
const labelsAt = async (size: number): Promise<Float32Array> => {
  const [, labels] = splitHalves(bytesToFloat(await readBytes(VAL_PAIR)));
  return resizeImage(labels, size, size).data;
};

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

type PageApi = {
  translateFloat(input: number[], opts: { seed: number; mode: 'paper' | 'eval' }): Promise<number[]>;
  modelName(): string | undefined;
};

describe.skipIf(skipBrowser)('the web page in headless Chromium (WebGL on SwiftShader)', () => {
  let server: WebServer;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  beforeAll(async () => {
    server = await serveWeb();
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('pageerror', (e) => errors.push((e as Error).message));
    await page.goto(server.url);
    await page.waitForFunction(() => document.body.dataset['ready'] === 'true' || /could not start/.test(document.getElementById('status')?.textContent ?? ''), { timeout: 180_000 });
    expect(await page.$eval('#status', (e) => e.textContent)).toBe('ready');
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('?selftest=1 translates with the default model on webgl and trains 3 steps: finite losses, a flat tensor count after warm-up, nothing left behind', async () => {
    const self = await browser.newPage();
    await self.goto(`${server.url}?selftest=1`);
    await self.waitForFunction(() => (document.getElementById('selftest')?.textContent ?? '') !== '', { timeout: 180_000 });
    const r = JSON.parse((await self.$eval('#selftest', (e) => e.textContent))!) as Record<string, unknown>;
    await self.close();
    expect(r['error']).toBeUndefined();
    expect(r['backend']).toBe('webgl');
    // Three steps of G/l1, G/cgan, D/cgan/real, D/cgan/fake.
    expect(r['losses']).toHaveLength(12);
    expect((r['losses'] as number[]).every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    expect(r['finite']).toBe(true);
    expect(r['tensorsAfter']).toBe(r['tensorsBefore']);
    expect(r['tensorsEnd']).toBe(r['tensorsStart']);
    expect(r['translateMs']).toBeGreaterThan(0);
    expect(r['outputChecksum']).toMatch(/^[0-9a-f]{16}$/);
  });

  it("the page's translation with the default model equals Node's cpu backend within 1e-3, in paper mode (dropout on, the image's own statistics) for two seeds", async () => {
    const files = decodeRunArchive(new Uint8Array(await readFile(DEFAULT_MODEL)), DEFAULT_MODEL);
    const g = await generatorFromRun(files, DEFAULT_MODEL);
    const size = g.config.size;
    const input = await labelsAt(size);
    for (const opts of [{ seed: 3, mode: 'paper' as const }, { seed: 0, mode: 'paper' as const }]) {
      const x = tf.tensor4d(input, [1, size, size, 3]);
      const want = tf.tidy(() => g.generator.apply(g.params, g.state, x, { mode: opts.mode, key: makeKey(opts.seed) })[0]).dataSync();
      x.dispose();
      const got = await page.evaluate((inp, o) => (globalThis as unknown as { pix2pixPage: PageApi }).pix2pixPage.translateFloat(inp, o), Array.from(input), opts);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-3);
      // Not a constant image: the comparison means something.
      expect(Math.max(...want) - Math.min(...want)).toBeGreaterThan(0.5);
    }
    disposeTree(g.params);
    disposeTree(g.state);
  });

  it('drawing a rectangle on the label canvas changes the generated photo there', async () => {
    const photo = () => page.$eval('#photo', (c) => Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 256, 256).data));
    const before = await photo();
    await drawRectangle(page, 'door', [0.3, 0.3, 0.6, 0.5]);
    const after = await photo();
    // Mean absolute change inside the rectangle (canvas pixels 77..153 x 77..128) and far outside it (the top rows).
    const change = (x0: number, x1: number, y0: number, y1: number) => {
      let s = 0;
      let k = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) for (let c = 0; c < 3; c++, k++) s += Math.abs(after[(y * 256 + x) * 4 + c]! - before[(y * 256 + x) * 4 + c]!);
      return s / k;
    };
    expect(change(85, 145, 85, 120)).toBeGreaterThan(5);
    // The label canvas now holds the door colour where the rectangle is.
    const centre = await page.$eval('#labels', (c) => Array.from((c as HTMLCanvasElement).getContext('2d')!.getImageData(115, 100, 1, 1).data.slice(0, 3)));
    expect(centre).toEqual([2, 207, 255]);
  });

  it('a checkpoint trained and saved by the page translates with `pix2pix translate --run FILE.zip`, as the page translates it (8-bit outputs within 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'web-ckpt-'));
    try {
      await page.select('#train-size', '32');
      await page.select('#train-ngf', '8');
      await page.$eval('#train-steps', (e) => void ((e as HTMLInputElement).value = '6'));
      await page.$eval('#train-every', (e) => void ((e as HTMLInputElement).value = '3'));
      await page.click('#train-start');
      await page.waitForFunction(() => /training finished at step 6/.test(document.getElementById('status')?.textContent ?? ''), { timeout: 180_000 });
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
      await page.click('#train-save');
      const deadline = Date.now() + 60_000;
      let zips: string[] = [];
      while (Date.now() < deadline && (zips = readdirSync(dir).filter((f) => f.endsWith('.zip'))).length === 0) await new Promise((r) => setTimeout(r, 200));
      expect(zips).toEqual(['pix2pix-browser-step6.zip']);
      const archive = join(dir, zips[0]!);

      const input = await labelsAt(32);
      await writeImage(join(dir, 'in.png'), { height: 32, width: 32, channels: 3, data: input });
      const cli = await runCli('translate', '--run', archive, '--input', join(dir, 'in.png'), '--output', join(dir, 'out.png'), '--backend', 'cpu', '--seed', '2');
      expect(cli.err).toBe('');
      expect(cli.status).toBe(0);
      const fromCli = (await readImage(join(dir, 'out.png'))).data;

      await page.click('#train-use');
      await page.waitForFunction(() => /trained in this page/.test(document.getElementById('model-name')?.textContent ?? ''), { timeout: 60_000 });
      const png = (await readImage(join(dir, 'in.png'))).data; // the 8-bit input the CLI saw
      const fromPage = await page.evaluate((inp) => (globalThis as unknown as { pix2pixPage: PageApi }).pix2pixPage.translateFloat(inp, { seed: 2, mode: 'paper' }), Array.from(png));
      const toByte = (v: number) => Math.min(255, Math.max(0, Math.round((v + 1) * 127.5)));
      expect(maxAbsDiff(Array.from(fromPage, toByte), Array.from(fromCli, toByte))).toBeLessThanOrEqual(1);
      // The saved run names what it is.
      const saved = decodeRunArchive(new Uint8Array(await readFile(archive)));
      expect(JSON.parse(saved.config)).toMatchObject({ format: 'pix2pix-ts/run', generator: 'unet32', ngf: 8, size: 32, steps: 6, direction: 'BtoA' });
      expect(JSON.parse(saved.checkpoint.manifest).meta.step).toBe(6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(errors).toEqual([]);
  });
});
