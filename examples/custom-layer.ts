/**
 * Writing your own layer and your own combinator: both are plain values of
 * the same Layer interface the built-ins use.
 *
 *   npx tsx examples/custom-layer.ts
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import {
  conv,
  foldIn,
  formatShapeError,
  leaf,
  makeKey,
  named,
  parallel,
  pointwise,
  receptiveField,
  relu,
  seq,
  shapeError,
  showSize,
  summarize,
  within,
  zeros,
  type Layer,
} from '../lib/index.ts';

/** A leaf: a learned per-channel scale, initialised to zero ("ReZero"). */
export const rezero = (): Layer =>
  leaf({
    name: 'rezero',
    geom: pointwise,
    output: (s) => E.right(s),
    params: () => ({ alpha: zeros([1]) }),
    apply: ({ alpha }, _state, x) => tf.mul(x, alpha!) as tf.Tensor4D,
  });

/** A combinator: x + inner(x). The inner layer must keep the shape. */
export const residual = (inner: Layer): Layer => {
  const geom = parallel([pointwise, inner.geom]);
  const plan: Layer['plan'] = (input) =>
    pipe(
      inner.plan(input),
      E.chain((child) =>
        child.output.every((d, i) => d === input[i])
          ? E.right({ name: 'residual', input, output: input, params: 0, composition: 'parallel' as const, children: [child], geom })
          : E.left(within('residual')(shapeError(`inner output ${showSize(child.output)}x${child.output[2]} must equal its input ${showSize(input)}x${input[2]}`))),
      ),
    );
  return {
    name: 'residual',
    geom,
    plan,
    shape: (input) => pipe(plan(input), E.map((p) => p.output)),
    init: (key, input) => inner.init(foldIn(key, 0), input),
    apply: (params, state, x, ctx) => {
      const [y, s] = inner.apply(params, state, x, ctx);
      return [tf.add(x, y) as tf.Tensor4D, s];
    },
  };
};

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
