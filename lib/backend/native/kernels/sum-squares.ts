/**
 * 'Pix2pixSumSquares' for the 'native' backend: the sum of every element's
 * square over a list of tensors, in double, as a float32 scalar (the
 * training step's divergence check over a network's gradients; see
 * lib/ops/sum-squares.ts). Gradients the worker thread wrote come with
 * their sums (kernels/async.ts: each job summed its output while it was in
 * cache); the rest are read and summed here, in one parallel pass. Every
 * array's sum is the same double wherever it was taken (src/ew_kernels.h)
 * and the sums are added in the inputs' order, so the total does not
 * depend on which gradients were queued (which depends on how busy the
 * worker was: the backlog rule): a clipped global norm, say, keeps its bits.
 */
import type * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { SUM_SQUARES_KERNEL } from '../../../ops/kernels.ts';
import { nativePending } from '../pending.ts';
import type { NativeBackend } from '../register.ts';
import { convAsync } from './async.ts';

export interface SumSquaresAddon {
  /**
   * The sum of the squares of every element of the arrays, in double (one
   * parallel pass over all); `each` gets each array's own sum, the same
   * double a job or a kernel that wrote the array reports for it.
   */
  sumSquares(xs: Float32Array[], each?: Float64Array): number;
}

export const sumSquaresKernel = (
  ew: SumSquaresAddon,
  values: (backend: MathBackendCPU, t: tf.TensorInfo) => Float32Array | undefined,
): tf.KernelConfig => ({
  kernelName: SUM_SQUARES_KERNEL,
  backendName: 'native',
  kernelFunc: (args) => {
    const backend = args.backend as NativeBackend;
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    // Each input's sum, a job's or read here, added in the inputs' order.
    const sums = new Float64Array(inputs.length);
    const arrays: Float32Array[] = [];
    const at: number[] = [];
    inputs.forEach((t, i) => {
      const raw = t.dtype === 'float32' && convAsync.sums ? backend.peek(t.dataId)?.values : undefined;
      const s = raw instanceof Float32Array ? nativePending.sumOfSquares(raw) : undefined;
      if (s !== undefined) {
        sums[i] = s;
        return;
      }
      const v = values(backend, t);
      if (!v) throw new Error(`${SUM_SQUARES_KERNEL}: every input must be a float32 tensor`);
      arrays.push(v);
      at.push(i);
    });
    if (arrays.length > 0) {
      const each = new Float64Array(arrays.length);
      ew.sumSquares(arrays, each);
      at.forEach((i, k) => (sums[i] = each[k]!));
    }
    let total = 0;
    for (const s of sums) total += s;
    return backend.makeTensorInfo([], 'float32', Float32Array.of(total));
  },
});
