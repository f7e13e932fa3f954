/**
 * The fused kernels the library's ops use where a backend registers them
 * (today the 'native' backend): their names and attributes. Backends import
 * these names to register kernels; layers and optimisers never import a
 * backend — they call lib/ops, which picks the fused kernel or composed tf ops.
 */
import * as tf from '@tensorflow/tfjs';

/** Batch / instance norm forward: inputs {x, gamma?, beta?}, attrs {eps, perExample}; outputs [y, mean, invstd] (mean, invstd: [A, C]). */
export const NORM_KERNEL = 'Pix2pixNorm';
/** Its backward: inputs {dy, x, gamma?}, attrs {eps, perExample}; outputs [dx] or, with gamma, [dx, dgamma, dbeta]. */
export const NORM_GRAD_KERNEL = 'Pix2pixNormGrad';

/**
 * Adam on any number of tensors in one call: inputs an array [param, grad,
 * m, v] per tensor (float32, one shape per tensor), attrs AdamKernelAttrs
 * (count = t, the step being taken), outputs [param', m', v'] per tensor —
 * exactly the composed arithmetic of lib/ops/adam.ts (float32 constants, one
 * rounding per op), however the tensors are grouped.
 */
export const ADAM_KERNEL = 'Pix2pixAdam';

export interface AdamKernelAttrs {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly count: number;
  /** May overwrite param, m and v (a donated state) instead of allocating new ones. */
  readonly inPlace?: boolean;
}

/**
 * The sum of squares of every element of any number of float32 tensors
 * (inputs: an array, as Concat's), summed in double and returned as a
 * float32 scalar: Infinity when the sum overflows float32, NaN when an
 * element is NaN.
 */
export const SUM_SQUARES_KERNEL = 'Pix2pixSumSquares';

/**
 * MirrorPad's gradient: inputs {dy}, attrs {paddings, mode, xShape}
 * (rank 4, padded in H and W); output [dx], each padded position's gradient
 * added onto the position it copies.
 */
export const MIRROR_PAD_GRAD_KERNEL = 'Pix2pixMirrorPadGrad';

/**
 * The mean sigmoid cross-entropy of logits against a constant target:
 * inputs {logits} (float32, any shape, not empty), attrs {real} (target 1,
 * else 0); output a float32 scalar — the same float as the composed ops of
 * lib/ops/cross-entropy.ts on that backend.
 */
export const SIGMOID_CE_KERNEL = 'Pix2pixSigmoidCrossEntropy';
/** Its gradient: inputs {dy (the scalar loss's gradient), logits}, attrs {real}; output [dlogits], the composed gradient's bits. */
export const SIGMOID_CE_GRAD_KERNEL = 'Pix2pixSigmoidCrossEntropyGrad';

/** Whether the current backend registers every one of these kernels. */
export const hasKernels = (...names: readonly string[]): boolean => {
  const backend = tf.getBackend();
  return names.every((n) => tf.getKernel(n, backend) !== undefined);
};
