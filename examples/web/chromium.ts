/**
 * Headless Chromium for the page's tests and screenshots: Debian's
 * `chromium` (or CHROMIUM_PATH) driven by puppeteer-core, with WebGL2 on
 * the CPU (SwiftShader through ANGLE: float render targets, no GPU).
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => p !== undefined && p !== '');

/** The browser found, if any. */
export const chromiumPath: string | undefined = CANDIDATES.find((p) => existsSync(p));

export const launchChromium = (): Promise<Browser> => {
  if (chromiumPath === undefined) throw new Error(`no chromium found (looked for ${CANDIDATES.join(', ')}): apt-get install -y chromium, or set CHROMIUM_PATH`);
  return puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--window-size=1200,900'],
    defaultViewport: { width: 1200, height: 900 },
  });
};

/**
 * Drag a rectangle of label class `cls` on the page's label canvas, from
 * (x0, y0) to (x1, y1) in fractions of its size, and wait until the photo
 * has been translated again and the translations the drag queued settle.
 */
export const drawRectangle = async (page: Page, cls: string, [x0, y0, x1, y1]: readonly [number, number, number, number]): Promise<void> => {
  const translations = () => page.$eval('#photo', (c) => Number((c as HTMLElement).dataset['translations'] ?? 0));
  const n = await translations();
  await page.click(`#palette button[data-class="${cls}"]`);
  const box = (await (await page.$('#labels'))!.boundingBox())!;
  await page.mouse.move(box.x + box.width * x0, box.y + box.height * y0);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * x1, box.y + box.height * y1, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((k) => Number(document.getElementById('photo')!.dataset['translations'] ?? 0) > k, { timeout: 60_000 }, n);
  await new Promise((r) => setTimeout(r, 2000));
};
