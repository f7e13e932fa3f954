/**
 * Optimisers as values, in optax's shape: a gradient transformation is
 *
 *   init(params)                         -> state
 *   update(grads, state, params, at)     -> [updates, state]
 *
 * and `chain(clipByGlobalNorm(1), adam({ lr: 2e-4 }))` is one. Updates are
 * added to the parameters (`applyUpdates`). A transformation may also have
 * `apply`, which goes from gradients to new parameters in one go: Adam's
 * uses the native backend's fused kernel (one call per tensor, optionally in
 * place). A chain applies with its last member's `apply`, after the others
 * have transformed the gradients, so `chain(clip, adam)` keeps the fused
 * kernel.
 *
 * State is a tree of tensors and plain numbers (step counts): checkpoints
 * store both, so a resumed run continues bit for bit with any optimiser.
 */
import * as tf from '@tensorflow/tfjs';
import { leaves, withLeaves, type Tree } from '../core/tree.ts';
import { sumOfSquares } from './global-norm.ts';

/** An optimiser's state: tensors and numbers in nested arrays and records. */
export type OptState = tf.Tensor | number | readonly OptState[] | { readonly [key: string]: OptState };

/** Where training is: what schedules read. `step` counts updates already taken (0 for the first). */
export interface Progress {
  readonly step: number;
  readonly epoch: number;
}

/**
 * A schedule: the multiplier of a learning rate (or any scale) at a point
 * of training. `linearDecay` (the reference's policy) reads the epoch,
 * `cosineDecay` the step.
 */
export type Schedule = (epoch: number, step: number) => number;

export interface ApplyOptions {
  /**
   * The caller gives up `params` and `state` (JAX's donate_argnums): a
   * fused kernel may overwrite them. Afterwards they may only be disposed.
   */
  readonly donate?: boolean;
}

export interface GradientTransformation {
  readonly name: string;
  init(params: Tree): OptState;
  /** Gradients (as a tree shaped like the parameters) to updates. */
  update(grads: Tree, state: OptState, params: Tree, at: Progress): [Tree, OptState];
  /** Gradients to new parameters directly (default: update, then add). */
  apply?(grads: Tree, state: OptState, params: Tree, at: Progress, options?: ApplyOptions): [Tree, OptState];
  /** The learning rate it would use at `at`, for logs (absent: it has none). */
  lr?(at: Progress): number;
}

/** params + updates, tensor by tensor. */
export const applyUpdates = (params: Tree, updates: Tree): Tree => {
  const ps = leaves(params);
  const us = leaves(updates);
  if (ps.length !== us.length) throw new Error(`applyUpdates: ${us.length} updates for ${ps.length} parameters`);
  return withLeaves(params, ps.map((p, i) => tf.add(p, us[i]!)));
};

/** New parameters from gradients: the transformation's own `apply` if it has one, else update and add. */
export const applyGradients = (
  t: GradientTransformation,
  grads: Tree,
  state: OptState,
  params: Tree,
  at: Progress,
  options: ApplyOptions = {},
): [Tree, OptState] => {
  if (t.apply) return t.apply(grads, state, params, at, options);
  const [updates, next] = t.update(grads, state, params, at);
  const applied = applyUpdates(params, updates);
  tf.dispose(leaves(updates));
  return [applied, next];
};

/** Transformations one after the other; its state is the list of theirs. */
export const chain = (...ts: readonly GradientTransformation[]): GradientTransformation => {
  if (ts.length === 0) throw new RangeError('chain() needs at least one transformation');
  // Each member's updates are the next one's gradients; an intermediate
  // that the next member replaced is freed at once (a 57M-parameter tree).
  const through = (grads: Tree, states: readonly OptState[], params: Tree, at: Progress, upTo: number) => {
    const next: OptState[] = [];
    let g = grads;
    for (let i = 0; i < upTo; i++) {
      const [u, s] = ts[i]!.update(g, states[i]!, params, at);
      if (g !== grads) {
        const kept = new Set(leaves(u));
        tf.dispose(leaves(g).filter((x) => !kept.has(x)));
      }
      g = u;
      next.push(s);
    }
    return { g, next };
  };
  return {
    name: `chain(${ts.map((t) => t.name).join(', ')})`,
    init: (params) => ts.map((t) => t.init(params)),
    update: (grads, state, params, at) => {
      const { g, next } = through(grads, state as readonly OptState[], params, at, ts.length);
      return [g, next];
    },
    apply: (grads, state, params, at, options) => {
      const states = state as readonly OptState[];
      const { g, next } = through(grads, states, params, at, ts.length - 1);
      const [p, last] = applyGradients(ts[ts.length - 1]!, g, states[ts.length - 1]!, params, at, options);
      if (g !== grads) tf.dispose(leaves(g));
      return [p, [...next, last]];
    },
    lr: (at) => ts.reduce((lr, t) => (t.lr ? t.lr(at) : lr), NaN),
  };
};

const stateless = (name: string, f: (grads: Tree, at: Progress) => Tree): GradientTransformation => ({
  name,
  init: () => ({}),
  update: (grads, state, _params, at) => [f(grads, at), state],
});

/**
 * Rescale all gradients together so that their global L2 norm is at most
 * `maxNorm`: PyTorch's clip_grad_norm_, g * min(1, maxNorm / (norm + 1e-6))
 * (optax's clip_by_global_norm without the 1e-6). Within the bound the
 * factor is exactly 1, so the gradients keep their bits.
 */
export const clipByGlobalNorm = (maxNorm: number): GradientTransformation => {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new RangeError(`clipByGlobalNorm: the bound must be a positive number, got ${maxNorm}`);
  return stateless(`clipByGlobalNorm(${maxNorm})`, (grads) => {
    const gs = leaves(grads);
    // min(1, maxNorm / (norm + 1e-6)), as a tensor: no read-back mid-step.
    const scale = tf.tidy(() => tf.minimum(1, tf.div(maxNorm, tf.add(tf.sqrt(sumOfSquares(gs)), 1e-6))));
    const out = withLeaves(grads, gs.map((g) => tf.mul(g, scale)));
    scale.dispose();
    return out;
  });
};

/** Multiply the updates by a schedule's value (optax's scale_by_schedule). */
export const scaleBySchedule = (schedule: Schedule): GradientTransformation =>
  stateless('scaleBySchedule', (grads, at) => {
    const k = schedule(at.epoch, at.step);
    return withLeaves(grads, leaves(grads).map((g) => tf.mul(g, k)));
  });

export interface SgdConfig {
  readonly lr: number;
  /** Heavy-ball momentum (PyTorch's SGD: buf = momentum * buf + g; p -= lr * buf). Default 0. */
  readonly momentum?: number;
  /** Nesterov momentum (p -= lr * (g + momentum * buf)). */
  readonly nesterov?: boolean;
  readonly schedule?: Schedule;
}

/** Stochastic gradient descent, PyTorch's arithmetic; state: the momentum buffers (absent without momentum). */
export const sgd = (config: SgdConfig): GradientTransformation => {
  const { lr, momentum = 0, nesterov = false, schedule } = config;
  if (!(lr > 0)) throw new RangeError(`sgd: lr must be a positive number, got ${lr}`);
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`sgd: momentum must be in [0, 1), got ${momentum}`);
  const rate = (at: Progress) => lr * (schedule?.(at.epoch, at.step) ?? 1);
  return {
    name: `sgd(${lr}${momentum > 0 ? `, momentum ${momentum}` : ''})`,
    init: (params): OptState => (momentum > 0 ? { buf: withLeaves(params, leaves(params).map((p) => tf.zerosLike(p))), count: 0 } : { count: 0 }),
    update: (grads, state, _params, at) => {
      const s = state as { buf?: Tree; count: number };
      const gs = leaves(grads);
      const step = -rate(at);
      if (momentum === 0 || !s.buf) return [withLeaves(grads, gs.map((g) => tf.mul(g, step))), { count: s.count + 1 }];
      const old = leaves(s.buf);
      // PyTorch starts the buffer at the first gradient.
      const buf = gs.map((g, i) => (s.count === 0 ? tf.clone(g) : tf.add(tf.mul(old[i]!, momentum), g)));
      const dir = nesterov ? gs.map((g, i) => tf.add(g, tf.mul(buf[i]!, momentum))) : buf;
      const updates = dir.map((d) => tf.mul(d, step));
      if (nesterov) tf.dispose(dir);
      return [withLeaves(grads, updates), { buf: withLeaves(s.buf, buf), count: s.count + 1 }];
    },
    lr: rate,
  };
};

/** Constant 1: no schedule. */
export const constantSchedule: Schedule = () => 1;

/**
 * Cosine decay over `steps` updates from 1 to `floor` (default 0), then
 * `floor` (optax's cosine_decay_schedule, as a multiplier).
 */
export const cosineDecay =
  ({ steps, floor = 0 }: { readonly steps: number; readonly floor?: number }): Schedule =>
  (_epoch, step) =>
    floor + (1 - floor) * 0.5 * (1 + Math.cos((Math.PI * Math.min(step, steps)) / steps));
