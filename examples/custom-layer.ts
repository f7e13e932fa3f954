/**
 * Writing your own layer and your own combinator: both are plain values of
 * the same Layer interface the built-ins use.
 *
 *   npx tsx examples/custom-layer.ts
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import {
  combinator,
  conv,
  formatShapeError,
  identity,
  leaf,
  makeKey,
  named,
  pointwise,
  receptiveField,
  relu,
  seq,
  showShape,
  summarize,
  zeros,
  type Layer,
} from '../lib/node.ts';

/** A leaf: a learned per-channel scale, initialised to zero ("ReZero"). */
export const rezero = (): Layer =>
  leaf({
    name: 'rezero',
    geom: pointwise,
    output: (s) => E.right(s),
    params: () => ({ alpha: zeros([1]) }),
    apply: ({ alpha }, _state, x) => tf.mul(x, alpha!) as tf.Tensor4D,
  });

/**
 * A combinator: x + inner(x). It states only its output shape and how it
 * applies its children (the identity branch is the input itself); plans,
 * keys, parameter trees and summaries come from `combinator`.
 */
export const residual = (inner: Layer): Layer =>
  combinator({
    name: 'residual', composition: 'parallel', children: [identity(), inner],
    output: (input, [, out]) => (showShape(out!) === showShape(input) ? E.right(input) : E.left(`inner output ${showShape(out!)} must equal its input ${showShape(input)}`)),
    apply: (x, [, f]) => tf.add(x, f!(x)),
  });

/** A ResNet-style block from the two. */
export const resBlock = (channels: number): Layer =>
  named('resBlock', residual(seq(conv(channels, 3), relu(), conv(channels, 3), rezero())));

if (import.meta.url === `file://${process.argv[1]}`) {
  const net = seq(conv(16, 7), resBlock(16), resBlock(16));
  const s = summarize(net, [64, 64, 3]);
  if (E.isRight(s)) for (const r of s.right.rows) console.log(r.path.padEnd(36), r.output.join('x').padStart(9), String(r.params).padStart(6), r.receptiveField);
  console.log('receptive field:', receptiveField(net));
  const bad = resBlock(16).shape([64, 64, 8]);
  if (E.isLeft(bad)) console.log('shape error:', formatShapeError(bad.left));
  const made = net.init(makeKey(0), [64, 64, 3]);
  const [y] = net.apply(made.params, made.state, tf.zeros([1, 64, 64, 3]), { mode: 'train', key: makeKey(1) });
  console.log('output', y.shape);
}
