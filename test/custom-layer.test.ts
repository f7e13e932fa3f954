// A user-defined leaf and combinator work like the built-ins.
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { resBlock, residual, rezero } from '../examples/custom-layer.ts';
import { conv, disposeTree, formatShapeError, makeKey, paramCount, receptiveField, seq } from '../lib/node.ts';

describe('the custom layer example', () => {
  it('composes: shapes, parameter counts and receptive fields come out of the generic machinery', () => {
    const net = seq(conv(8, 7), resBlock(8));
    expect(net.shape([32, 32, 3])).toEqual(E.right([32, 32, 8]));
    // conv 7x7 3->8 (+bias), two conv 3x3 8->8 (+bias), one rezero scalar.
    expect(paramCount(net, [32, 32, 3])).toEqual(E.right(7 * 7 * 3 * 8 + 8 + 2 * (9 * 8 * 8 + 8) + 1));
    expect(receptiveField(net)).toBe(7 + 2 + 2);
  });

  it('reports its own shape errors with its path', () => {
    const r = resBlock(16).shape([8, 8, 4]);
    expect(E.isLeft(r) && formatShapeError(r.left)).toBe('resBlock › residual: inner output 8x8x16 must equal its input 8x8x4');
  });

  it('starts as the identity (rezero), gets the closed-form gradient on its scale, and gradient descent on the scale lowers the loss', () => {
    const block = residual(seq(conv(2, 3), rezero()));
    const made = block.init(makeKey(0), [4, 4, 2]);
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const target = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
    const ctx = { mode: 'train' as const, key: makeKey(0) };
    const [y] = block.apply(made.params, made.state, x, ctx);
    expect(tf.max(tf.abs(tf.sub(y, x))).dataSync()[0]).toBe(0);

    // loss(alpha) = mean((x + alpha * c(x) - t)^2), c the conv: dloss/dalpha at 0 = mean(2 (x - t) c(x)).
    const [convParams, alphaParams] = made.params as [unknown, { alpha: tf.Tensor }];
    const c = conv(2, 3).apply(convParams as never, [] as never, x, ctx)[0];
    const want = tf.mean(tf.mul(2, tf.mul(tf.sub(x, target), c))).dataSync()[0]!;
    const loss = (alpha: tf.Tensor) => {
      const [out] = block.apply([convParams, { alpha }] as never, made.state, x, ctx);
      return tf.mean(tf.square(tf.sub(out, target))) as tf.Scalar;
    };
    const grad = tf.grad(loss);
    expect(grad(alphaParams.alpha).dataSync()[0]).toBeCloseTo(want, 5);

    let alpha = alphaParams.alpha.clone();
    const seen = [loss(alpha).dataSync()[0]!];
    for (let i = 0; i < 5; i++) {
      const next = tf.tidy(() => tf.sub(alpha, tf.mul(0.1, grad(alpha))));
      alpha.dispose();
      alpha = next;
      seen.push(loss(alpha).dataSync()[0]!);
    }
    expect(alpha.dataSync()[0]).not.toBe(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeLessThan(seen[i - 1]!);
    tf.dispose([x, y, target, c, alpha]);
    disposeTree(made.params);
  });
});
