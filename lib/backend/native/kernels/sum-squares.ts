/**
 * 'Pix2pixSumSquares' for the 'native' backend: the sum of every element's
 * square over a list of tensors, in double, as a float32 scalar (the
 * training step's divergence check over a network's gradients; see
 * lib/ops/sum-squares.ts). Gradients the worker thread wrote come with
 * their sums (kernels/async.ts: each job summed its output while it was in
 * cache); the rest are read and summed here, in one parallel pass.
 */
import type * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { SUM_SQUARES_KERNEL } from '../../../ops/kernels.ts';
import { nativePending } from '../pending.ts';
import type { NativeBackend } from '../register.ts';
import { convAsync } from './async.ts';

export interface SumSquaresAddon {
  /** The sum of the squares of every element of the arrays, in double (one parallel pass over all). */
  sumSquares(xs: Float32Array[]): number;
}

export const sumSquaresKernel = (
  ew: SumSquaresAddon,
  values: (backend: MathBackendCPU, t: tf.TensorInfo) => Float32Array | undefined,
): tf.KernelConfig => ({
  kernelName: SUM_SQUARES_KERNEL,
  backendName: 'native',
  kernelFunc: (args) => {
    const backend = args.backend as NativeBackend;
    let known = 0;
    const arrays: Float32Array[] = [];
    for (const t of args.inputs as unknown as tf.TensorInfo[]) {
      const raw = t.dtype === 'float32' && convAsync.sums ? backend.peek(t.dataId)?.values : undefined;
      const s = raw instanceof Float32Array ? nativePending.sumOfSquares(raw) : undefined;
      if (s !== undefined) {
        known += s;
        continue;
      }
      const v = values(backend, t);
      if (!v) throw new Error(`${SUM_SQUARES_KERNEL}: every input must be a float32 tensor`);
      arrays.push(v);
    }
    return backend.makeTensorInfo([], 'float32', Float32Array.of(known + (arrays.length > 0 ? ew.sumSquares(arrays) : 0)));
  },
});
