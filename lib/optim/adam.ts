/**
 * Adam as a pure pair, in the style of optax:
 *   init(params) -> state
 *   update(grads, state, params) -> [newParams, newState]
 * written in tf ops over parameter trees (tf.train.adam mutates Variables).
 * The arithmetic is PyTorch's: p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
 *
 * Each tensor's update is lib/ops/adam.ts's: the fused kernel where the
 * backend has one (one call instead of thirteen, the same float32
 * arithmetic op for op, so the same bits), tf ops elsewhere.
 *
 * `donate` (as JAX's donate_argnums): the caller gives up `params` and
 * `state`, so the fused kernel may write the new values over the old ones
 * instead of allocating a second copy of every parameter and moment (690 MB
 * at 256x256). Afterwards the old tensors must only be disposed. Backends
 * without the kernel ignore it.
 */
import * as tf from '@tensorflow/tfjs';
import { adamTensors } from '../ops/adam.ts';
import type { AdamKernelAttrs } from '../ops/kernels.ts';
import { withDefaults } from '../core/options.ts';
import { leaves, mapTree, withLeaves, type Tree } from '../core/tree.ts';
import type { GradientTransformation, OptState, Progress, Schedule } from './transform.ts';

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
  const ps = leaves(params);
  const ms = leaves(state.m);
  const vs = leaves(state.v);
  if (grads.length !== ps.length) throw new Error(`adam: ${grads.length} gradients for ${ps.length} parameters`);
  const attrs: AdamKernelAttrs = { lr, beta1, beta2, eps, count, inPlace: donate };
  const next = adamTensors(ps, grads, ms, vs, attrs);
  return [
    withLeaves(params, next.map((n) => n.p)),
    { m: withLeaves(state.m, next.map((n) => n.m)), v: withLeaves(state.v, next.map((n) => n.v)), count },
  ];
};

export interface AdamOptions extends Partial<AdamConfig> {
  /** The multiplier of `lr` at each point of training (e.g. `linearDecay`); constant 1 by default. */
  readonly schedule?: Schedule;
}

/**
 * Adam as a gradient transformation (defaults: the paper's 2e-4, 0.5,
 * 0.999, 1e-8). Its state is `{ m, v, count }`. Its `apply` is
 * `adamUpdate`: the fused kernel where the backend has it, donation
 * included, so the paper's optimiser runs as fast as before it was a value.
 */
export const adam = (options: AdamOptions = {}): GradientTransformation => {
  const { schedule, ...rest } = options;
  const config = withDefaults(adamDefaults, rest);
  for (const [what, v, ok] of [
    ['lr', config.lr, config.lr > 0 && config.lr <= 1],
    ['beta1', config.beta1, config.beta1 >= 0 && config.beta1 < 1],
    ['beta2', config.beta2, config.beta2 >= 0 && config.beta2 < 1],
    ['eps', config.eps, config.eps > 0],
  ] as const)
    if (!ok || !Number.isFinite(v)) throw new RangeError(`adam: ${what} ${v} is out of range (lr in (0, 1], betas in [0, 1), eps > 0)`);
  const rate = (at: Progress) => config.lr * (schedule?.(at.epoch, at.step) ?? 1);
  return {
    name: `adam(${config.lr}, ${config.beta1}, ${config.beta2})`,
    init: (params) => adamInit(params) as unknown as OptState,
    update: (grads, state, params, at) => {
      const s = state as unknown as AdamState;
      const [next, ns] = adamUpdate(config, leaves(grads), s, params, rate(at));
      const old = leaves(params);
      const updates = withLeaves(params, leaves(next).map((p, i) => {
        const u = tf.sub(p, old[i]!);
        p.dispose();
        return u;
      }));
      return [updates, ns as unknown as OptState];
    },
    apply: (grads, state, params, at, opts) => {
      const [next, ns] = adamUpdate(config, leaves(grads), state as unknown as AdamState, params, rate(at), opts?.donate ?? false);
      return [next, ns as unknown as OptState];
    },
    lr: rate,
  };
};
