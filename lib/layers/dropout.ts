/** Dropout: the paper's only source of noise z, on at training and test time. */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { pointwise } from '../geometry/geom.ts';
import { seedOf } from '../core/key.ts';
import { leaf } from '../core/leaf.ts';
import type { Layer } from '../core/layer.ts';

/** `rate` is the probability of dropping a unit; kept units are scaled by 1 / (1 - rate). */
export const dropout = (rate: number): Layer => {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropout rate must be in [0, 1), got ${rate}`);
  return leaf({
    name: `dropout ${rate}`,
    geom: pointwise,
    output: (s) => E.right(s),
    apply: (_p, _s, x, ctx) => {
      if (ctx.mode === 'eval' || rate === 0) return x;
      const keep = tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', seedOf(ctx.key)), rate);
      return tf.mul(x, tf.mul(tf.cast(keep, 'float32'), 1 / (1 - rate))) as tf.Tensor4D;
    },
    // Exported graphs are deterministic: eval mode has no dropout, and paper mode is exported without it.
    graph: (_p, _s, x) => x,
  });
};
