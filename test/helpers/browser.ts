// Debian's chromium for the browser tests, driven by puppeteer-core (no
// browser download). Under CI a missing browser is a failure (the tests run
// and fail naming it), never a silent skip; elsewhere they skip with a note.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer-core';

const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const chromiumPath = CANDIDATES.find((p): p is string => p !== undefined && p !== '' && existsSync(p));

export const skipBrowser = chromiumPath === undefined && !process.env['CI'];

if (skipBrowser) console.warn('browser tests skipped: no chromium (apt-get install -y chromium, or set CHROMIUM_PATH)');

/**
 * Headless Chromium with WebGL2 on the CPU (SwiftShader through ANGLE:
 * float render targets, no GPU needed).
 */
export const launchChromium = (): Promise<Browser> => {
  if (chromiumPath === undefined) throw new Error(`no chromium found (looked for ${CANDIDATES.filter(Boolean).join(', ')}): apt-get install -y chromium, or set CHROMIUM_PATH`);
  return puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--window-size=1200,900'],
    defaultViewport: { width: 1200, height: 900 },
  });
};
