/**
 * The 'native' backend: tf.js's cpu backend (its tensors are plain
 * Float32Arrays in JavaScript memory, so native code reads and writes them
 * without copies and without wasm's 4 GiB heap), with the hot kernels
 * replaced by the native accelerator's multi-threaded ones. Every kernel the
 * accelerator does not provide is the cpu backend's own.
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './index.ts';
import { convKernels } from './kernels/conv.ts';
import { elementwiseKernels } from './kernels/elementwise.ts';

export const NATIVE_BACKEND = 'native';

/** The kernels the accelerator replaces (for docs and tests). */
export const nativeKernelNames = (addon: NativeAddon): string[] => [...convKernels(addon), ...elementwiseKernels(addon)].map((k) => k.kernelName);

export const registerNativeBackend = (addon: NativeAddon): void => {
  if (tf.findBackendFactory(NATIVE_BACKEND) != null) return;
  // Low priority: never picked unless asked for (useBackend picks explicitly).
  tf.registerBackend(NATIVE_BACKEND, () => new MathBackendCPU(), -1);
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  for (const k of [...convKernels(addon), ...elementwiseKernels(addon)]) {
    // Replace the cpu copy where there is one; new kernels (the fused ones) are simply added.
    if (tf.getKernel(k.kernelName, NATIVE_BACKEND)) tf.unregisterKernel(k.kernelName, NATIVE_BACKEND);
    tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  }
};
