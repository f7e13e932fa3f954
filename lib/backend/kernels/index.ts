/**
 * Training kernels for the CPU-side backends (see each module for the why).
 *
 *   wasm: Conv2DBackpropFilter (missing from stock wasm: it cannot train
 *         without it), Conv2DBackpropInput (stock is ~10x slower than Conv2D),
 *         Slice and SplitV (stock copies the whole input per slice).
 *   cpu:  Conv2DBackpropFilter (stock runs at ~0.01 GFLOP/s). Its stock
 *         Conv2DBackpropInput is kept: measured as fast as the composed one.
 *
 * Nothing is ever registered for 'tensorflow' (tfjs-node has native kernels).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter.ts';
import { conv2dBackpropInputKernel } from './conv2d-backprop-input.ts';
import { override } from './registry.ts';
import { sliceKernel, splitVKernel } from './slice.ts';

export { stockKernel } from './registry.ts';

/** Installs the kernels for `backendName`; safe to call any number of times. */
export function registerTrainingKernels(backendName: 'wasm' | 'cpu'): void {
  // Importing a backend package registers its stock kernels, overwriting ours:
  // the package must come first.
  if (tf.findBackendFactory(backendName) == null) {
    throw new Error(`import the '${backendName}' backend package before registering its training kernels`);
  }
  override('Conv2DBackpropFilter', backendName, (stock) => conv2dBackpropFilterKernel(backendName, stock));
  if (backendName === 'wasm') {
    override('Conv2DBackpropInput', 'wasm', (stock) => conv2dBackpropInputKernel('wasm', stock));
    override('Slice', 'wasm', (stock) => sliceKernel(stock));
    override('SplitV', 'wasm', () => splitVKernel('wasm'));
  }
}
