// A user-defined leaf and combinator work like the built-ins.
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { resBlock, residual, rezero } from '../examples/custom-layer.ts';
import { conv, disposeTree, formatShapeError, makeKey, paramCount, receptiveField, seq } from '../lib/index.ts';

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

  it('starts as the identity (rezero) and trains the scale', () => {
    const block = residual(seq(conv(2, 3), rezero()));
    const made = block.init(makeKey(0), [4, 4, 2]);
    const x = tf.randomNormal([1, 4, 4, 2]) as tf.Tensor4D;
    const [y] = block.apply(made.params, made.state, x, { mode: 'train', key: makeKey(0) });
    expect(tf.max(tf.abs(tf.sub(y, x))).dataSync()[0]).toBe(0);
    tf.dispose([x, y]);
    disposeTree(made.params);
  });
});
