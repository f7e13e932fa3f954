// The ResNet generator's and pix2pixHD's layers — reflection padding, the
// transposed conv with output padding, average pooling without the padding
// in the count — against PyTorch's outputs and gradients
// (test/fixtures/torch/make-layers.py), on every backend.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { avgPool, convT, footprint, formatShapeError, makeKey, pad, receptiveField, type Layer } from '../lib/node.ts';
import { useBackend } from '../lib/backend/index.ts';
import { skipNative } from './helpers/native.ts';

interface Case {
  name: string;
  x: number[]; xShape: number[]; out: number[]; outShape: number[]; r: number[]; dx: number[];
  w?: number[]; wShape?: number[]; dw?: number[];
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch/layers.json', import.meta.url), 'utf8')) as { cases: Case[] };

/** The layer a case's name describes. */
const layerOf = (name: string): Layer => {
  let m = /^convT (\d)x\d\/(\d) pad (\d) outputPadding (\d)$/.exec(name);
  if (m) return convT(1, Number(m[1]), { stride: Number(m[2]), pad: Number(m[3]), outputPadding: Number(m[4]), bias: false });
  m = /^(reflect|zero) pad (\d)$/.exec(name);
  if (m) return pad(Number(m[2]), m[1] as 'reflect' | 'zero');
  m = /^avgPool (\d)x\d\/(\d) pad (\d)/.exec(name);
  if (m) return avgPool(Number(m[1]), Number(m[2]), { pad: Number(m[3]) });
  throw new Error(`no layer for case ${name}`);
};

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

const backends: Array<'cpu' | 'wasm' | 'native'> = ['cpu', 'wasm', ...(skipNative ? [] : (['native'] as const))];

describe.each(backends)('on %s, equal to PyTorch', (backend) => {
  afterAll(async () => void (await useBackend('cpu', { quiet: true })));

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: output, input gradient (and weight gradient)', async (_name, c) => {
    await useBackend(backend, { quiet: true });
    const before = tf.memory().numTensors;
    const [n, h, w, ch] = c.xShape as [number, number, number, number];
    let layer = layerOf(c.name);
    if (c.wShape) layer = convT(c.wShape[2]!, c.wShape[0]!, { stride: Number(/\/(\d)/.exec(c.name)![1]), pad: Number(/pad (\d)/.exec(c.name)![1]), outputPadding: Number(/outputPadding (\d)/.exec(c.name)![1]), bias: false });
    // The shape the plan predicts is PyTorch's.
    expect(layer.shape([h, w, ch])).toEqual(E.right(c.outShape.slice(1)));
    const made = layer.init(makeKey(0), [h, w, ch]);
    const x = tf.tensor4d(c.x, [n, h, w, ch]);
    const r = tf.tensor(c.r, c.outShape);
    const wt = c.w ? tf.tensor(c.w, c.wShape) : undefined;
    const f = (xi: tf.Tensor, wi?: tf.Tensor) => layer.apply(wi ? { w: wi } : made.params, made.state, xi as tf.Tensor4D, { mode: 'train', key: makeKey(1) })[0];
    const out = tf.tidy(() => f(x, wt));
    expect(out.shape).toEqual(c.outShape);
    expect(maxAbs(await out.data(), c.out)).toBeLessThan(1e-5);
    const grads = tf.grads((xi: tf.Tensor, ...ws: tf.Tensor[]) => tf.sum(tf.mul(f(xi, ws[0]), r)))(wt ? [x, wt] : [x]);
    expect(maxAbs(await grads[0]!.data(), c.dx)).toBeLessThan(1e-5);
    if (wt) expect(maxAbs(await grads[1]!.data(), c.dw!)).toBeLessThan(1e-4);
    tf.dispose([x, r, out, ...grads, ...(wt ? [wt] : [])]);
    tf.dispose(Object.values(made.params as Record<string, tf.Tensor>));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("tf.mirrorPad's gradient (registered by lib/ops/mirror-pad-grad.ts)", () => {
  it('is the adjoint of the stock forward op, for either mode and any paddings (each input entry gets what its copies got)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'reflect' | 'symmetric'>('reflect', 'symmetric'),
        fc.tuple(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 2, max: 4 })),
        fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
        fc.integer({ min: 1, max: 1000 }),
        (mode, [h, w], raw, seed) => {
          const limit = (n: number) => (mode === 'reflect' ? n - 1 : n);
          const [t, b, l, r] = [raw[0]! % (limit(h) + 1), raw[1]! % (limit(h) + 1), raw[2]! % (limit(w) + 1), raw[3]! % (limit(w) + 1)];
          const paddings: Array<[number, number]> = [[0, 0], [t, b], [l, r], [0, 0]];
          tf.tidy(() => {
            const x = tf.randomNormal([1, h, w, 1], 0, 1, 'float32', seed);
            const weights = tf.randomNormal([1, h + t + b, w + l + r, 1], 0, 1, 'float32', seed + 1);
            const grad = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(xi as tf.Tensor4D, paddings, mode), weights)))(x).dataSync();
            // The oracle: the forward op applied to each one-hot input, read against the weights.
            const want = Array.from({ length: h * w }, (_, k) =>
              tf.sum(tf.mul(tf.mirrorPad(tf.oneHot([k], h * w).reshape([1, h, w, 1]).toFloat() as tf.Tensor4D, paddings, mode), weights)).dataSync()[0]!,
            );
            expect(maxAbs(grad, want)).toBeLessThan(1e-5);
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('their shapes and geometry', () => {
  it("pad(n, 'reflect') needs more than n rows and columns, as ReflectionPad2d does", () => {
    const r = pad(3, 'reflect').shape([3, 8, 2]);
    expect(E.isLeft(r) && formatShapeError(r.left)).toBe('reflectPad 3: input 3x8 is too small to reflect 3 rows and columns (it needs at least 4x4)');
    expect(pad(3, 'zero').shape([3, 8, 2])).toEqual(E.right([9, 14, 2]));
  });

  it('padding shifts positions only; a pooled footprint is its window', () => {
    expect(footprint(pad(3, 'reflect'), 0)).toEqual([[-3, -3]]);
    expect(receptiveField(pad(3))).toBe(1);
    expect(footprint(avgPool(3, 2), 2)).toEqual([[3, 5]]);
    expect(receptiveField(avgPool(3, 2))).toBe(3);
  });

  it('rejects an output padding PyTorch would reject (not below the stride), or one this convT cannot place (above the padding)', () => {
    expect(() => convT(4, 3, { stride: 2, pad: 1, outputPadding: 2 })).toThrow(/outputPadding must be smaller than the stride \(2\)/);
    expect(() => convT(4, 3, { stride: 2, pad: 0, outputPadding: 1 })).toThrow(/at most the padding \(0\)/);
  });

  it('avgPool names a window larger than its padded input', () => {
    const r = avgPool(5, 1, { pad: 1 }).shape([2, 9, 1]);
    expect(E.isLeft(r) && formatShapeError(r.left)).toMatch(/^avgPool 5x5\/1: input 2x9 is smaller than the window/);
  });
});
