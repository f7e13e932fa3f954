// Shape inference before any tensor exists, and the errors it gives.
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  conv,
  convT,
  disposeTree,
  dropout,
  formatShapeError,
  initialize,
  leakyRelu,
  makeKey,
  norm,
  patchDiscriminator,
  relu,
  seq,
  skip,
  named,
  summarize,
  tanh,
  unet,
  type Layer,
  type Shape,
} from '../lib/node.ts';

const errorOf = (layer: Layer, input: Shape): string => {
  const r = layer.shape(input);
  if (E.isRight(r)) throw new Error(`expected a shape error, got ${r.right.join('x')}`);
  return formatShapeError(r.left);
};

const arbLayer: fc.Arbitrary<Layer> = fc.oneof(
  fc
    .record({ c: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }), p: fc.integer({ min: 0, max: 2 }) })
    .map(({ c, k, s, p }) => conv(c, k, { stride: s, pad: p })),
  fc
    .record({ c: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 1, max: 4 }), s: fc.integer({ min: 1, max: 3 }), p: fc.integer({ min: 0, max: 1 }) })
    .map(({ c, k, s, p }) => convT(c, k, { stride: s, pad: Math.min(p, k - 1) })),
  fc.constantFrom('batch', 'instance', 'none').map((kind) => norm(kind)),
  fc.constantFrom(relu(), leakyRelu(0.2), tanh(), dropout(0.5)),
  fc.integer({ min: 1, max: 3 }).map((c) => skip(seq(conv(c, 3, { stride: 1, pad: 1 }), relu()))),
  // A skip around a down-up pair only fits even sizes: both outcomes get exercised.
  fc.integer({ min: 1, max: 3 }).map((c) => skip(seq(conv(c, 4, { stride: 2, pad: 1 }), convT(c, 4, { stride: 2, pad: 1 })))),
);

describe('inferred shape == actual output shape', () => {
  it('for random stacks and inputs', () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.array(arbLayer, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 2 }),
        (layers, h, w, c, batch) => {
          const net = seq(...layers);
          const inferred = net.shape([h, w, c]);
          if (E.isLeft(inferred)) {
            // Rejected inputs name a layer.
            expect(inferred.left.path.length).toBeGreaterThan(0);
            return;
          }
          const [out] = inferred.right;
          fc.pre(out * inferred.right[1] < 5000);
          const made = net.init(makeKey(h * 31 + w), [h, w, c]);
          const x = tf.randomNormal([batch, h, w, c]) as tf.Tensor4D;
          const [y, state] = net.apply(made.params, made.state, x, { mode: 'train', key: makeKey(0) });
          expect(y.shape).toEqual([batch, ...inferred.right]);
          checked++;
          tf.dispose([x, y]);
          disposeTree(made.params);
          disposeTree(state);
        },
      ),
      { numRuns: 60 },
    );
    expect(checked).toBeGreaterThan(10);
  });
});

describe('invalid inputs are rejected naming the layer and the sizes', () => {
  it('unet_256 on 250x250: the innermost conv gets a 1x1 input', () => {
    const message = errorOf(unet(), [250, 250, 3]);
    expect(message).toBe('unet › level 8 › conv 4x4/2: input 1x1 is smaller than the kernel (4x4 with padding 1 needs at least 2x2)');
  });

  it('unet_256 on 264x264 (not divisible by 2^8): the skip at the level where sizes stop matching', () => {
    expect(errorOf(unet(), [264, 264, 3])).toMatch(/^unet › level 4 › skip: inner output 32x32 does not match input 33x33/);
  });

  it('a channel mismatch', () => {
    expect(errorOf(unet(), [256, 256, 1])).toBe('unet › input: expected 3 channels, got 1');
  });

  it('a conv on a too-small input, with the padding it would need', () => {
    expect(errorOf(patchDiscriminator(70), [8, 8, 6])).toMatch(/patchGAN 70x70 › .*conv 4x4\/[12]: input \dx\d is smaller than the kernel/);
  });

  it('nested scopes of one group show only the innermost, in errors and in summaries', () => {
    const rows = summarize(unet({ depth: 3, ngf: 2 }), [8, 8, 3]);
    if (E.isLeft(rows)) throw new Error('expected a summary');
    const paths = rows.right.rows.map((r) => r.path);
    expect(paths).toContain('unet › level 3 › conv 4x4/2');
    expect(paths).toContain('unet › level 1 › tanh');
    expect(paths.some((p) => /level \d+ › level/.test(p))).toBe(false);
    // Without a group, names nest.
    expect(errorOf(named('outer', named('inner', conv(1, 4, { pad: 0 }))), [2, 2, 1])).toMatch(/^outer › inner › conv 4x4\/1: input 2x2/);
  });

  it('initialize returns the error instead of allocating', () => {
    const before = tf.memory().numTensors;
    const r = initialize(unet({ depth: 7 }), makeKey(0), [100, 100, 3]);
    expect(E.isLeft(r)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('bad hyper-parameters fail at construction', () => {
    expect(() => conv(0, 3)).toThrow(/channels must be an integer >= 1/);
    expect(() => dropout(1)).toThrow(/\[0, 1\)/);
    expect(() => unet({ depth: 0 })).toThrow(/depth/);
  });
});
