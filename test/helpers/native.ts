// Whether the native accelerator's tests run: wherever it is built, and always
// under CI, where a missing accelerator is a failure (its tests then fail
// with loadNative's reason), never a silent skip.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll } from 'vitest';
import { useBackend } from '../../lib/backend/index.ts';
import { loadNative } from '../../lib/backend/native/index.ts';

export const native = loadNative();

/** Skip the native tests: only outside CI, where the accelerator is not built. */
export const skipNative = 'reason' in native && !process.env['CI'];

if (skipNative) console.warn(`native accelerator tests skipped: ${(native as { reason: string }).reason}`);

/** Inside a describe block: its tests run on the native backend, and the backend before it is restored after them. */
export const onNativeBackend = (): void => {
  let previous = '';
  beforeAll(async () => {
    previous = tf.getBackend();
    await useBackend('native', { quiet: true });
  });
  afterAll(async () => {
    await tf.setBackend(previous);
  });
};
