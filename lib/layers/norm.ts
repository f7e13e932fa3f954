/**
 * Normalisation. Batch norm normalises over (batch, height, width) per
 * channel; instance norm over (height, width) per example and channel —
 * they coincide at batch size 1, which is the paper's test-time setting.
 */
import * as tf from '@tensorflow/tfjs';
import { float } from '../core/graph.ts';
import * as E from 'fp-ts/lib/Either.js';
import { pointwise } from '../geometry/geom.ts';
import { leaf, normal, ones, zeros, type TensorSpec, type Tensors } from '../core/leaf.ts';
import type { Layer } from '../core/layer.ts';
import { affine as affineOf, normalize, normaliseWith } from '../ops/norm.ts';
import { identity } from './activations.ts';

type Specs = { readonly [name: string]: TensorSpec };

export type NormKind = 'batch' | 'instance' | 'none';

export interface NormOptions {
  readonly eps?: number;
  /** Learned per-channel scale and shift. Default: true for batch, false for instance (as the reference). */
  readonly affine?: boolean;
  /**
   * Keep running mean/variance in the layer state (updated in `train` mode)
   * so that `eval` mode can use them. Off by default: the paper never uses them.
   */
  readonly trackRunningStats?: boolean;
  /** Weight of the newest batch in the running statistics (PyTorch's 0.1). */
  readonly momentum?: number;
}

/** Whether a norm of this kind has a learned shift, which makes a preceding bias redundant. */
export const normHasShift = (kind: NormKind, opts: NormOptions = {}): boolean =>
  kind === 'batch' ? opts.affine ?? true : kind === 'instance' ? opts.affine ?? false : false;

const affineOut = (y: tf.Tensor4D, p: Tensors): tf.Tensor4D => affineOf(y, p['gamma'], p['beta']);

export const norm = (kind: NormKind, opts: NormOptions = {}): Layer => {
  if (kind === 'none') return identity();
  const { eps = 1e-5, momentum = 0.1, trackRunningStats = false } = opts;
  const affine = normHasShift(kind, opts);
  if (kind === 'instance' && trackRunningStats)
    throw new Error("norm('instance') keeps no running statistics: use norm('batch') for eval mode");
  const axes = kind === 'batch' ? [0, 1, 2] : [1, 2];
  const name = `${kind}Norm`;
  return leaf({
    name,
    geom: pointwise,
    output: (s) => E.right(s),
    params: ([, , c]): Specs => (affine ? { gamma: normal([c], 1, 0.02), beta: zeros([c]) } : {}),
    state: ([, , c]): Specs => (trackRunningStats ? { mean: zeros([c]), variance: ones([c]) } : {}),
    apply: (params, state, x, ctx) => {
      if (ctx.mode === 'eval' && kind === 'batch') {
        if (!state['mean'] || !state['variance'])
          throw new Error(
            `${name}: mode 'eval' needs running statistics; build the network with trackRunningStats: true, or use mode 'paper'`,
          );
        return affineOut(normaliseWith(x, eps, { mean: state['mean'], variance: state['variance'] }), params);
      }
      // Without running statistics to update: one op (fused where the backend has the kernels).
      const keepsStats = ctx.mode === 'train' && state['mean'] !== undefined && state['variance'] !== undefined;
      if (!keepsStats) return normalize(x, params['gamma'], params['beta'], eps, kind === 'instance');
      const stats = tf.moments(x, axes, true);
      const y = affineOut(normaliseWith(x, eps, stats), params);
      if (ctx.mode !== 'train' || !state['mean'] || !state['variance']) return y;
      // Running variance is the unbiased estimate, as PyTorch keeps it.
      const n = x.size / x.shape[3];
      const unbiased = tf.mul(tf.reshape(stats.variance, [-1]), n / Math.max(n - 1, 1));
      const blend = (old: tf.Tensor, now: tf.Tensor) => tf.add(tf.mul(old, 1 - momentum), tf.mul(now, momentum));
      return [y, { mean: blend(state['mean'], tf.reshape(stats.mean, [-1])), variance: blend(state['variance'], unbiased) }];
    },
    // Eval mode: BatchNormalization on the running statistics. Paper mode: each image's own
    // statistics, which for batch norm at batch 1 (the paper's) are InstanceNormalization's.
    graph: (params, state, x, g) => {
      const c = (params['gamma'] ?? params['beta'] ?? state['mean'])?.shape[0] ?? g.channels(x);
      const affine = (t: tf.Tensor | undefined, fill: number, what: string) => {
        if (t !== undefined) return g.constant(g.values(t), t.shape, `${name}.${what}`);
        if (c === undefined) throw new Error(`${name}: a norm without parameters or statistics cannot be exported (its input's channel count is unknown: pass inChannels to the export)`);
        return g.constant(new Float32Array(c).fill(fill), [c], `${name}.${what}`);
      };
      if (g.mode === 'eval' && kind === 'batch') {
        if (!state['mean'] || !state['variance']) throw new Error(`${name}: mode 'eval' needs running statistics (trackRunningStats); export with mode 'paper'`);
        return g.node('BatchNormalization', [x, affine(params['gamma'], 1, 'scale'), affine(params['beta'], 0, 'bias'), affine(state['mean'], 0, 'mean'), affine(state['variance'], 1, 'var')], { epsilon: float(eps) });
      }
      return g.node('InstanceNormalization', [x, affine(params['gamma'], 1, 'scale'), affine(params['beta'], 0, 'bias')], { epsilon: float(eps) });
    },
  });
};
