/**
 * One Adam update of one tensor: the fused kernel where the backend has it
 * (one call instead of thirteen, the same float32 arithmetic op for op, so
 * the same bits; it may write in place), composed tf ops elsewhere:
 * PyTorch's p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_KERNEL, hasKernels, type AdamKernelAttrs } from './kernels.ts';

export interface AdamTensors {
  readonly p: tf.Tensor;
  readonly m: tf.Tensor;
  readonly v: tf.Tensor;
}

/** Whether `adamTensor` will take the fused kernel for tensors like these. */
export const fusedAdam = (ts: readonly tf.Tensor[]): boolean =>
  hasKernels(ADAM_KERNEL) && ts.every((t) => t.dtype === 'float32' && t.size === ts[0]!.size);

export const adamTensor = (p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamKernelAttrs): AdamTensors => {
  if (fusedAdam([p, g, m, v])) {
    const [np, nm, nv] = tf.engine().runKernel(ADAM_KERNEL, { param: p, grad: g, m, v }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return { p: np!, m: nm!, v: nv! };
  }
  const { lr, beta1, beta2, eps, count } = attrs;
  const stepSize = lr / (1 - beta1 ** count);
  const sqrtBias2 = Math.sqrt(1 - beta2 ** count);
  const nm = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
  const nv = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
  const denom = tf.add(tf.div(tf.sqrt(nv), sqrtBias2), eps);
  return { p: tf.sub(p, tf.mul(tf.div(nm, denom), stepSize)), m: nm, v: nv };
};
