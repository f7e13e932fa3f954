/**
 * The mean sigmoid cross-entropy of logits against a constant target (the
 * paper's GAN loss) as one op: the fused kernels where the backend has them
 * — one kernel forward, one backward, where the composed ops take about
 * forty dispatches and a dozen tape entries for a patch of logits — composed
 * tf ops elsewhere. The fused kernels repeat the composed arithmetic op for
 * op (each rounded to float32, the gradients' contributions added in the
 * tape's order), so both give the same bits on a backend.
 */
import * as tf from '@tensorflow/tfjs';
import { hasKernels, SIGMOID_CE_GRAD_KERNEL, SIGMOID_CE_KERNEL } from './kernels.ts';

/**
 * mean(-log sigmoid(l)) for `real`, mean(-log(1 - sigmoid(l))) otherwise,
 * written so it never overflows: max(l, 0) - l * t + log(1 + exp(-|l|)).
 */
export const composedSigmoidCrossEntropy = (logits: tf.Tensor, real: boolean): tf.Scalar =>
  tf.tidy(() => {
    const crossEntropy = tf.add(tf.sub(tf.relu(logits), real ? logits : tf.zerosLike(logits)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(crossEntropy) as tf.Scalar;
  });

const fused = (logits: tf.Tensor, real: boolean): tf.Scalar => {
  const attrs = { real } as unknown as tf.NamedAttrMap;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const l = args[0] as tf.Tensor;
    const value = tf.engine().runKernel(SIGMOID_CE_KERNEL, { logits: l }, attrs) as tf.Scalar;
    save([l]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.engine().runKernel(SIGMOID_CE_GRAD_KERNEL, { dy, logits: saved[0]! }, attrs) as tf.Tensor,
    };
  });
  return op(logits) as tf.Scalar;
};

/** The mean sigmoid cross-entropy of `logits` against 1 (`real`) or 0; differentiable in the logits. */
export const sigmoidCrossEntropy = (logits: tf.Tensor, real: boolean): tf.Scalar =>
  logits.dtype === 'float32' && logits.size > 0 && hasKernels(SIGMOID_CE_KERNEL, SIGMOID_CE_GRAD_KERNEL) ? fused(logits, real) : composedSigmoidCrossEntropy(logits, real);

/** The fused path on its own (tests compare it with the composed one); throws where the backend lacks the kernels. */
export const fusedSigmoidCrossEntropy = (logits: tf.Tensor, real: boolean): tf.Scalar => {
  if (!hasKernels(SIGMOID_CE_KERNEL, SIGMOID_CE_GRAD_KERNEL)) throw new Error(`fusedSigmoidCrossEntropy: backend '${tf.getBackend()}' has no ${SIGMOID_CE_KERNEL} kernel`);
  return fused(logits, real);
};
