/** Native element-wise, reduction, copy and optimiser kernels for the 'native' backend. */
import type * as tf from '@tensorflow/tfjs';
import type { NativeAddon } from '../index.ts';

export const elementwiseKernels = (addon: NativeAddon): tf.KernelConfig[] => {
  void addon;
  return [];
};
