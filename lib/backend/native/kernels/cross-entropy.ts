/**
 * The fused sigmoid cross-entropy for the 'native' backend
 * (src/ew_loss.cc): the vanilla GAN loss on a patch of logits in one kernel
 * forward and one backward, where the composed ops take about forty
 * dispatches and a dozen tape entries — at 64x64 three such losses were a
 * fifth of a training step's kernels. Same bits as the composed ops on this
 * backend, values and gradients (test/native-cross-entropy.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { SIGMOID_CE_GRAD_KERNEL, SIGMOID_CE_KERNEL } from '../../../ops/kernels.ts';

export interface CrossEntropyAddon {
  sigmoidCrossEntropy(logits: Float32Array, real: boolean): number;
  sigmoidCrossEntropyGrad(logits: Float32Array, real: boolean, dy: number, dlogits: Float32Array): void;
}

type Info = tf.TensorInfo;

export const crossEntropyKernels = (
  ew: CrossEntropyAddon,
  values: (backend: MathBackendCPU, t: Info) => Float32Array | undefined,
  outputArray: (n: number) => Float32Array,
): tf.KernelConfig[] => [
  {
    kernelName: SIGMOID_CE_KERNEL,
    backendName: 'native',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as MathBackendCPU;
      const lv = values(b, (inputs as { logits: Info }).logits);
      if (!lv || lv.length === 0) throw new Error(`${SIGMOID_CE_KERNEL}: logits must be a non-empty float32 tensor`);
      const real = (attrs as unknown as { real: boolean }).real === true;
      return b.makeTensorInfo([], 'float32', Float32Array.of(ew.sigmoidCrossEntropy(lv, real)));
    },
  },
  {
    kernelName: SIGMOID_CE_GRAD_KERNEL,
    backendName: 'native',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as MathBackendCPU;
      const { dy, logits } = inputs as { dy: Info; logits: Info };
      const dv = values(b, dy);
      const lv = values(b, logits);
      if (!dv || dv.length !== 1 || !lv || lv.length === 0) throw new Error(`${SIGMOID_CE_GRAD_KERNEL}: a float32 scalar dy and non-empty float32 logits expected`);
      const real = (attrs as unknown as { real: boolean }).real === true;
      const out = outputArray(lv.length);
      ew.sigmoidCrossEntropyGrad(lv, real, dv[0]!, out);
      return b.makeTensorInfo(logits.shape, 'float32', out);
    },
  },
];
