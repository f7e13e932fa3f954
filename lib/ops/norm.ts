/**
 * Normalisation as one op: the fused kernels where the backend has them
 * (one kernel forward, one backward, where tf ops take about ten and thirty,
 * most over the whole activation), composed tf ops elsewhere. The fused
 * path computes statistics in double (one pass: sum and sum of squares) and
 * the rest in float32 — within a few float32 ulps of the composed path, not
 * bit-identical to it.
 */
import * as tf from '@tensorflow/tfjs';
import { hasKernels, NORM_GRAD_KERNEL, NORM_KERNEL } from './kernels.ts';

/** The composed arithmetic: (x - mean) * rsqrt(variance + eps), with the given statistics. */
export const normaliseWith = (x: tf.Tensor4D, eps: number, stats: { mean: tf.Tensor; variance: tf.Tensor }): tf.Tensor4D =>
  tf.mul(tf.sub(x, stats.mean), tf.rsqrt(tf.add(stats.variance, eps))) as tf.Tensor4D;

export const affine = (y: tf.Tensor4D, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined): tf.Tensor4D =>
  gamma && beta ? (tf.add(tf.mul(y, gamma), beta) as tf.Tensor4D) : y;

const fused = (x: tf.Tensor4D, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined, eps: number, perExample: boolean): tf.Tensor4D => {
  const attrs = { eps, perExample } as unknown as tf.NamedAttrMap;
  const withAffine = gamma !== undefined && beta !== undefined;
  // Only inputs are saved (the backward kernel recomputes the statistics from
  // x, in the same pass as its other sums): nothing else outlives the op.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, g, b] = args as tf.Tensor[];
    const inputs: tf.NamedTensorMap = withAffine ? { x: xi!, gamma: g!, beta: b! } : { x: xi! };
    const [y] = tf.engine().runKernel(NORM_KERNEL, inputs, attrs) as tf.Tensor[];
    save(withAffine ? [xi!, g!] : [xi!]);
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sg] = saved;
        const gin: tf.NamedTensorMap = sg ? { dy, x: sx!, gamma: sg } : { dy, x: sx! };
        return tf.engine().runKernel(NORM_GRAD_KERNEL, gin, attrs) as tf.Tensor[];
      },
    };
  });
  return (withAffine ? op(x, gamma!, beta!) : op(x)) as tf.Tensor4D;
};

/**
 * (x - mean) / sqrt(var + eps) * gamma + beta with biased statistics over
 * (N, H, W) per channel, or over (H, W) per example and channel when
 * `perExample` (instance norm); gamma and beta ([C]) both or neither.
 * Differentiable in x, gamma and beta.
 */
export const normalize = (x: tf.Tensor4D, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined, eps: number, perExample: boolean): tf.Tensor4D => {
  if (x.rank === 4 && x.dtype === 'float32' && hasKernels(NORM_KERNEL, NORM_GRAD_KERNEL)) return fused(x, gamma, beta, eps, perExample);
  return affine(normaliseWith(x, eps, tf.moments(x, perExample ? [1, 2] : [0, 1, 2], true)), gamma, beta);
};

/** The fused path on its own (tests compare it with the composed one); throws where the backend lacks the kernels. */
export const fusedNormalize = (x: tf.Tensor4D, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined, eps: number, perExample: boolean): tf.Tensor4D => {
  if (!hasKernels(NORM_KERNEL, NORM_GRAD_KERNEL)) throw new Error(`fusedNormalize: backend '${tf.getBackend()}' has no ${NORM_KERNEL} kernel`);
  return fused(x, gamma, beta, eps, perExample);
};
