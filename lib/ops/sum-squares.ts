/**
 * The sum of every element's square over a list of tensors, as a float32
 * scalar: the fused kernel where the backend has it (one pass, summed in
 * double), square and sum per tensor in float32 elsewhere. The two agree to
 * float32 rounding, and on what overflows (Infinity) and what is NaN.
 */
import * as tf from '@tensorflow/tfjs';
import { addN } from './add-n.ts';
import { hasKernels, SUM_SQUARES_KERNEL } from './kernels.ts';

export const sumOfSquares = (tensors: readonly tf.Tensor[]): tf.Scalar => {
  if (tensors.length === 0) return tf.scalar(0);
  if (hasKernels(SUM_SQUARES_KERNEL) && tensors.every((t) => t.dtype === 'float32'))
    return tf.engine().runKernel(SUM_SQUARES_KERNEL, tensors as unknown as tf.NamedTensorMap, {}) as tf.Scalar;
  return tf.tidy(() => addN(tensors.map((t) => tf.sum(tf.square(t.toFloat())))) as tf.Scalar);
};
