// offTape (lib/core/tape.ts): a stop-gradient for a whole computation.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { offTape } from '../lib/core/tape.ts';

describe('offTape', () => {
  it('what it computes is a constant for an enclosing gradient', () => {
    const x = tf.scalar(3);
    // d/dx [x * stop(x^2)] = x^2 = 9, where without the stop it would be 3 * x^2 = 27.
    const g = tf.grad((v: tf.Tensor) => tf.mul(v, offTape(() => tf.square(v))))(x);
    const plain = tf.grad((v: tf.Tensor) => tf.mul(v, tf.square(v)))(x);
    expect(g.dataSync()[0]).toBe(9);
    expect(plain.dataSync()[0]).toBe(27);
    tf.dispose([x, g, plain]);
  });

  it('a gradient taken inside it is right and frees its tape at once; the enclosing tape resumes', () => {
    const x = tf.scalar(2);
    const w = tf.scalar(5);
    let inner = NaN;
    let liveAfterInner = 0;
    let liveBeforeInner = 0;
    const g = tf.grad((v: tf.Tensor) => {
      const y = tf.mul(v, v);
      liveBeforeInner = tf.memory().numTensors;
      offTape(() => {
        const dw = tf.grad((u: tf.Tensor) => tf.mul(tf.square(u), y))(w);
        inner = dw.dataSync()[0]!;
        dw.dispose();
      });
      liveAfterInner = tf.memory().numTensors;
      return tf.mul(y, v); // x^3 after the pause: recorded again
    })(x);
    expect(inner).toBe(2 * 5 * 4); // d/dw [w^2 * x^2] = 2 w x^2
    expect(liveAfterInner).toBe(liveBeforeInner); // nothing of the inner gradient kept for the outer tape
    expect(g.dataSync()[0]).toBe(12); // d/dx x^3 = 3 x^2
    tf.dispose([x, w, g]);
  });

  it('outside any gradient it simply runs', () => {
    expect(offTape(() => 42)).toBe(42);
  });
});
