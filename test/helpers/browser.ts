// The browser tests' Chromium (examples/web/chromium.ts). Under CI a missing
// browser is a failure (the tests run and fail naming it), never a silent
// skip; elsewhere they skip with a note.
import { chromiumPath } from '../../examples/web/chromium.ts';

export { launchChromium } from '../../examples/web/chromium.ts';

export const skipBrowser = chromiumPath === undefined && !process.env['CI'];

if (skipBrowser) console.warn('browser tests skipped: no chromium (apt-get install -y chromium, or set CHROMIUM_PATH)');
