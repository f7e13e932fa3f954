/**
 * Adam updates: the fused kernel where the backend has it (one call for a
 * whole network instead of thirteen ops per tensor, the same float32
 * arithmetic op for op, so the same bits; it may write in place), composed
 * tf ops elsewhere:
 * PyTorch's p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_KERNEL, hasKernels, type AdamKernelAttrs } from './kernels.ts';

export interface AdamTensors {
  readonly p: tf.Tensor;
  readonly m: tf.Tensor;
  readonly v: tf.Tensor;
}

/** Whether `adamTensors` will take the fused kernel for tensors like these ([p, g, m, v] of one tensor). */
export const fusedAdam = (ts: readonly tf.Tensor[]): boolean =>
  hasKernels(ADAM_KERNEL) && ts.every((t) => t.dtype === 'float32' && t.size === ts[0]!.size);

/**
 * Adam on every tensor of a network: one fused call for all of them where
 * the backend has the kernel (one wake-up of its threads, the small tensors
 * split between them too), the composed ops per tensor elsewhere. Each
 * tensor's update is the same whichever path runs it.
 */
export const adamTensors = (ps: readonly tf.Tensor[], gs: readonly tf.Tensor[], ms: readonly tf.Tensor[], vs: readonly tf.Tensor[], attrs: AdamKernelAttrs): AdamTensors[] => {
  if (ps.length > 0 && ps.every((p, i) => fusedAdam([p, gs[i]!, ms[i]!, vs[i]!]))) {
    const outs = tf.engine().runKernel(ADAM_KERNEL, ps.flatMap((p, i) => [p, gs[i]!, ms[i]!, vs[i]!]) as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
    return ps.map((_, i) => ({ p: outs[3 * i]!, m: outs[3 * i + 1]!, v: outs[3 * i + 2]! }));
  }
  // One tidy per tensor: the intermediates of a 57M-parameter update would
  // otherwise all live until the caller's scope ends.
  return ps.map((p, i) => tf.tidy(() => ({ ...adamTensor(p, gs[i]!, ms[i]!, vs[i]!, attrs) })));
};

/** Adam on one tensor (the fused kernel where the backend has it). */
export const adamTensor = (p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, attrs: AdamKernelAttrs): AdamTensors => {
  if (fusedAdam([p, g, m, v])) return adamTensors([p], [g], [m], [v], attrs)[0]!;
  const { lr, beta1, beta2, eps, count } = attrs;
  const stepSize = lr / (1 - beta1 ** count);
  const sqrtBias2 = Math.sqrt(1 - beta2 ** count);
  const nm = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
  const nv = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
  const denom = tf.add(tf.div(tf.sqrt(nv), sqrtBias2), eps);
  return { p: tf.sub(p, tf.mul(tf.div(nm, denom), stepSize)), m: nm, v: nv };
};
