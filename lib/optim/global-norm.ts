/**
 * The squared global norm of a list of tensors (all of a network's
 * gradients, say): the sum of every element's square, as a float32 scalar.
 * It is Infinity when the sum overflows float32 (an update with such a
 * gradient would put Inf into Adam's second moment) and NaN when an element
 * is NaN — which is how the training step tells a diverged gradient.
 *
 * lib/ops/sum-squares.ts picks the fused kernel (one pass, summed in
 * double) or tf ops (square and sum per tensor, in float32).
 */
import * as tf from '@tensorflow/tfjs';
import { sumOfSquares } from '../ops/sum-squares.ts';

export { sumOfSquares };

/** The global L2 norm: sqrt of `sumOfSquares`. */
export const globalNorm = (tensors: readonly tf.Tensor[]): tf.Scalar => tf.tidy(() => tf.sqrt(sumOfSquares(tensors)));
