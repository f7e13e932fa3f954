// Whether the native accelerator's tests run: wherever it is built, and always
// under CI, where a missing accelerator is a failure (its tests then fail
// with loadNative's reason), never a silent skip.
import { loadNative } from '../../lib/backend/native/index.ts';

export const native = loadNative();

/** Skip the native tests: only outside CI, where the accelerator is not built. */
export const skipNative = 'reason' in native && !process.env['CI'];

if (skipNative) console.warn(`native accelerator tests skipped: ${(native as { reason: string }).reason}`);
