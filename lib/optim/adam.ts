/**
 * Adam as a pure pair, in the style of optax:
 *   init(params) -> state
 *   update(grads, state, params) -> [newParams, newState]
 * written in tf ops over parameter trees (tf.train.adam mutates Variables).
 * The arithmetic is PyTorch's: p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 *
 * On a backend with the fused kernel (the 'native' backend's 'Pix2pixAdam')
 * each parameter takes one kernel call instead of thirteen, with the same
 * float32 arithmetic op for op (so the same bits); elsewhere, tf ops.
 *
 * `donate` (as JAX's donate_argnums): the caller gives up `params` and
 * `state`, so the fused kernel may write the new values over the old ones
 * instead of allocating a second copy of every parameter and moment (690 MB
 * at 256x256). Afterwards the old tensors must only be disposed. Backends
 * without the kernel ignore it.
 */
import * as tf from '@tensorflow/tfjs';
import { ADAM_KERNEL, type AdamKernelAttrs } from '../backend/native/kernels/elementwise.ts';
import { leaves, mapTree, withLeaves, type Tree } from '../core/tree.ts';

export interface AdamConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/** The paper's settings. */
export const adamDefaults: AdamConfig = { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 };

export interface AdamState {
  /** First and second moment estimates, trees shaped like the parameters. */
  readonly m: Tree;
  readonly v: Tree;
  /** Updates taken so far (t in the bias corrections). */
  readonly count: number;
}

export const adamInit = (params: Tree): AdamState => ({
  m: mapTree(params, (p) => tf.zerosLike(p)),
  v: mapTree(params, (p) => tf.zerosLike(p)),
  count: 0,
});

/** One Adam step at learning rate `lr` (the schedule's value for this step). */
export const adamUpdate = (
  config: AdamConfig,
  grads: readonly tf.Tensor[],
  state: AdamState,
  params: Tree,
  lr = config.lr,
  donate = false,
): [Tree, AdamState] => {
  const { beta1, beta2, eps } = config;
  const count = state.count + 1;
  const stepSize = lr / (1 - beta1 ** count);
  const sqrtBias2 = Math.sqrt(1 - beta2 ** count);
  const ps = leaves(params);
  const ms = leaves(state.m);
  const vs = leaves(state.v);
  if (grads.length !== ps.length) throw new Error(`adam: ${grads.length} gradients for ${ps.length} parameters`);
  const fused = tf.getKernel(ADAM_KERNEL, tf.getBackend()) !== undefined;
  const attrs: AdamKernelAttrs = { lr, beta1, beta2, eps, count, inPlace: donate };
  const fusable = (ts: tf.Tensor[]) => fused && ts.every((t) => t.dtype === 'float32' && t.size === ts[0]!.size);
  // One tidy per tensor: the intermediates of a 57M-parameter update would
  // otherwise all live until the caller's scope ends.
  const next = ps.map((p, i) =>
    tf.tidy(() => {
      const g = grads[i]!;
      if (fusable([p, g, ms[i]!, vs[i]!])) {
        const inputs = { param: p, grad: g, m: ms[i]!, v: vs[i]! };
        const [np, m, v] = tf.engine().runKernel(ADAM_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
        return { p: np!, m: m!, v: v! };
      }
      const m = tf.add(tf.mul(ms[i]!, beta1), tf.mul(g, 1 - beta1));
      const v = tf.add(tf.mul(vs[i]!, beta2), tf.mul(tf.square(g), 1 - beta2));
      const denom = tf.add(tf.div(tf.sqrt(v), sqrtBias2), eps);
      return { p: tf.sub(p, tf.mul(tf.div(m, denom), stepSize)), m, v };
    }),
  );
  return [
    withLeaves(params, next.map((n) => n.p)),
    { m: withLeaves(state.m, next.map((n) => n.m)), v: withLeaves(state.v, next.map((n) => n.v)), count },
  ];
};
