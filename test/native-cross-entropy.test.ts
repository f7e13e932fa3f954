// The fused sigmoid cross-entropy (lib/ops/cross-entropy.ts, the native
// kernels of lib/backend/native/kernels/cross-entropy.ts): the same bits as
// the composed tf ops on native, values and gradients, and the closed form
// in double as an independent oracle. Skipped where the native module is
// not built (never under CI).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { composedSigmoidCrossEntropy, fusedSigmoidCrossEntropy, sigmoidCrossEntropy } from '../lib/ops/cross-entropy.ts';
import { discriminatorLoss } from '../lib/losses/gan.ts';
import { seededValues } from './helpers/conv-cases.ts';
import { onNativeBackend, skipNative } from './helpers/native.ts';

/** Logits of every magnitude (exp(-|l|) from 1 down to underflow), with 0, -0, NaN and infinities mixed in. */
function logits(seed: number, n: number): Float32Array {
  const u = seededValues(seed, n);
  const pick = seededValues(seed + 1000, n).map((v) => Math.floor((v + 1) * 96)); // 0 .. 191
  return u.map((v, i) => {
    const k = pick[i]!;
    if (k < 6) return [0, -0, NaN, Infinity, -Infinity, 88.5][k]!;
    return v * [1, 4, 30, 120, 1e-30, 1e-42][k % 6]!;
  });
}

/** Identical values (0 and -0 differ; NaN equals NaN); the first difference, or undefined. */
function firstDiff(got: ArrayLike<number>, want: ArrayLike<number>): string | undefined {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (!Object.is(g, w) && !(Number.isNaN(g) && Number.isNaN(w))) return `at ${i}: ${g} != ${w}`;
  }
  return undefined;
}

type Loss = (l: tf.Tensor, real: boolean) => tf.Scalar;

/** The loss and its gradient for the loss scaled by `w` (the gradient reaching the loss is w). */
const run = (loss: Loss, x: tf.Tensor, real: boolean, w: number) => {
  const value = loss(x, real);
  const grad = tf.grad((l: tf.Tensor) => tf.mul(loss(l, real), w))(x);
  const out = { value: value.dataSync()[0]!, grad: grad.dataSync().slice() };
  tf.dispose([value, grad]);
  return out;
};

describe.skipIf(skipNative)('fused sigmoid cross-entropy (native)', () => {
  onNativeBackend();

  it('value and gradient == the composed tf ops on native, bit for bit (both targets; 1 to 300000 logits with specials; gradients 0.5, 1, -3, 1e-39 reaching the loss)', () => {
    for (const [shape, seed] of [[[1, 1, 1, 1], 1], [[1, 6, 6, 1], 2], [[2, 7, 7, 3], 3], [[1, 300, 1000, 1], 4]] as [number[], number][]) {
      const x = tf.tensor(logits(seed, shape.reduce((a, b) => a * b, 1)), shape);
      for (const real of [true, false])
        for (const w of [0.5, 1, -3, 1e-39]) {
          const want = run(composedSigmoidCrossEntropy, x, real, w);
          const got = run(fusedSigmoidCrossEntropy, x, real, w);
          const at = `[${shape}] real ${real} w ${w}`;
          expect(firstDiff([got.value], [want.value]), `value ${at}`).toBeUndefined();
          expect(firstDiff(got.grad, want.grad), `gradient ${at}`).toBeUndefined();
        }
      x.dispose();
    }
  });

  it('== the closed form in double: mean(softplus(l) - t*l) and gradient w*(sigmoid(l) - t)/n (within 1e-6)', () => {
    const n = 6 * 6 * 2;
    const lv = logits(9, n).map((v) => (Number.isFinite(v) ? v : 3));
    const x = tf.tensor(lv, [2, 6, 6, 1]);
    for (const real of [true, false]) {
      const t = real ? 1 : 0;
      const got = run(fusedSigmoidCrossEntropy, x, real, 0.5);
      const soft = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      const want = Array.from(lv).reduce((a, v) => a + soft(v) - t * v, 0) / n;
      expect(Math.abs(got.value - want)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
      Array.from(lv).forEach((v, i) => {
        const g = (0.5 * (1 / (1 + Math.exp(-v)) - t)) / n;
        expect(Math.abs(got.grad[i]! - g), `gradient at ${i} (l = ${v}, real ${real})`).toBeLessThanOrEqual(1e-6 / n);
      });
    }
    x.dispose();
  });

  it('the vanilla GAN loss runs the two fused kernels and none of the composed ops, and leaves no tensors behind', async () => {
    const x = tf.tensor(logits(5, 36), [1, 6, 6, 1]);
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => tf.grad((l: tf.Tensor) => discriminatorLoss('vanilla', l, false))(x));
    tf.dispose(info.result as tf.Tensor);
    const names = info.kernels.map((k) => k.name);
    expect(names).toEqual(expect.arrayContaining(['Pix2pixSigmoidCrossEntropy', 'Pix2pixSigmoidCrossEntropyGrad']));
    for (const composed of ['Log1p', 'Exp', 'Abs', 'Relu', 'Mean']) expect(names).not.toContain(composed);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('elsewhere the composed ops run, and the fused path alone names the missing kernel', async () => {
    await tf.setBackend('cpu');
    try {
      const x = tf.tensor([0.5, -2], [1, 1, 2, 1]);
      const a = sigmoidCrossEntropy(x, true), b = composedSigmoidCrossEntropy(x, true);
      expect(a.dataSync()[0]).toBe(b.dataSync()[0]);
      expect(() => fusedSigmoidCrossEntropy(x, true)).toThrow(/backend 'cpu' has no Pix2pixSigmoidCrossEntropy kernel/);
      tf.dispose([x, a, b]);
    } finally {
      await tf.setBackend('native');
    }
  });
});
