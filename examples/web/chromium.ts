/**
 * Headless Chromium for the page's tests and screenshots: Debian's
 * `chromium` (or CHROMIUM_PATH) driven by puppeteer-core, with WebGL2 on
 * the CPU (SwiftShader through ANGLE: float render targets, no GPU).
 */
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

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
