/**
 * The squared global norm of a list of tensors (all of a network's
 * gradients, say): the sum of every element's square, as a float32 scalar.
 * It is Infinity when the sum overflows float32 (an update with such a
 * gradient would put Inf into Adam's second moment) and NaN when an element
 * is NaN — which is how the training step tells a diverged gradient.
 *
 * On a backend with the fused kernel (the 'native' backend's
 * 'Pix2pixSumSquares', one pass over the data, summed in double) one kernel
 * call; elsewhere tf ops (square and sum per tensor, in float32). The two
 * agree to float32 rounding, and on what overflows.
 */
import * as tf from '@tensorflow/tfjs';
import { SUM_SQUARES_KERNEL } from '../backend/native/kernels/elementwise.ts';

export const sumOfSquares = (tensors: readonly tf.Tensor[]): tf.Scalar => {
  if (tensors.length === 0) return tf.scalar(0);
  const fused = tf.getKernel(SUM_SQUARES_KERNEL, tf.getBackend()) !== undefined && tensors.every((t) => t.dtype === 'float32');
  if (fused) return tf.engine().runKernel(SUM_SQUARES_KERNEL, tensors as unknown as tf.NamedTensorMap, {}) as tf.Scalar;
  return tf.tidy(() => tf.addN(tensors.map((t) => tf.sum(tf.square(t.toFloat())))) as tf.Scalar);
};

/** The global L2 norm: sqrt of `sumOfSquares`. */
export const globalNorm = (tensors: readonly tf.Tensor[]): tf.Scalar => tf.tidy(() => tf.sqrt(sumOfSquares(tensors)));
