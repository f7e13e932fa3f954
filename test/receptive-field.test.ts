// Static receptive fields and footprints against the empirical ones: the
// non-zero entries of the gradient of one output pixel w.r.t. the input.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  conv,
  convT,
  encoderDecoder,
  footprint,
  identity,
  leakyRelu,
  makeKey,
  mapTree,
  disposeTree,
  patchDiscriminator,
  receptiveField,
  seq,
  skip,
  unet,
  orThrow,
  type Layer,
  type Positions,
} from '../lib/node.ts';

describe('receptiveField(patchDiscriminator(N)) == N', () => {
  it.each([1, 16, 34, 70, 142, 286])('N = %i', (n) => {
    expect(receptiveField(patchDiscriminator(n))).toBe(n);
  });

  it('rejects other sizes, listing the valid ones', () => {
    expect(() => patchDiscriminator(50)).toThrow(/1, 16, 34, 70, 142, 286/);
    expect(() => patchDiscriminator(7)).toThrow(/no discriminator has a 7x7 receptive field/);
  });
});

const toSet = (ps: Positions, size: number): number[] => {
  const out: number[] = [];
  for (const [a, b] of ps) for (let i = Math.max(a, 0); i <= Math.min(b, size - 1); i++) out.push(i);
  return out;
};

/**
 * Rows and columns of the input on which output pixel (oh, ow) depends.
 * Weights and input are made positive so that nothing cancels and every
 * (leaky) ReLU passes: the gradient is non-zero exactly on the footprint.
 */
const empiricalFootprint = (layer: Layer, size: number, channels: number, oh: number, ow: number) => {
  const made = layer.init(makeKey(7), [size, size, channels]);
  const params = mapTree(made.params, (t) => tf.add(tf.abs(t), 0.01));
  const x = tf.add(tf.randomUniform([1, size, size, channels], 0, 1, 'float32', 3), 0.1) as tf.Tensor4D;
  const grad = tf.grad((input: tf.Tensor) => {
    const [y] = layer.apply(params, made.state, input as tf.Tensor4D, { mode: 'train', key: makeKey(1) });
    return tf.sum(tf.slice(y, [0, oh, ow, 0], [1, 1, 1, -1]));
  })(x);
  const g = tf.sum(tf.abs(grad), [0, 3]).arraySync() as number[][];
  tf.dispose([x, grad]);
  disposeTree(params);
  disposeTree(made.params);
  disposeTree(made.state);
  const rows = g.map((r, i) => (r.some((v) => v !== 0) ? i : -1)).filter((i) => i >= 0);
  const cols = g[0]!.map((_, j) => (g.some((r) => r[j] !== 0) ? j : -1)).filter((j) => j >= 0);
  return { rows, cols };
};

const arbConv = fc.record({
  kind: fc.constantFrom('conv' as const, 'convT' as const),
  kernel: fc.integer({ min: 1, max: 5 }),
  stride: fc.integer({ min: 1, max: 3 }),
  pad: fc.integer({ min: 0, max: 2 }),
  channels: fc.integer({ min: 1, max: 3 }),
});

type ConvSpec = { kind: 'conv' | 'convT'; kernel: number; stride: number; pad: number; channels: number };

const build = (specs: readonly ConvSpec[], skipAround: boolean): Layer => {
  const layers = specs.map((s) =>
    (s.kind === 'conv' ? conv : convT)(s.channels, s.kernel, { stride: s.stride, pad: Math.min(s.pad, s.kernel - 1), bias: false }),
  );
  const body = seq(...layers, leakyRelu(0.2));
  return skipAround ? skip(body) : body;
};

describe('static footprint == empirical footprint', () => {
  it('for random conv / convT stacks (every output position of the middle)', () => {
    fc.assert(
      fc.property(fc.array(arbConv, { minLength: 1, maxLength: 4 }), (specs) => {
        const layer = build(specs, false);
        const size = 24;
        const shape = layer.shape([size, size, 2]);
        fc.pre(shape._tag === 'Right' && shape.right[0] >= 3 && shape.right[0] <= 80);
        const outSize = orThrow(layer.shape([size, size, 2]))[0];
        for (const o of [Math.floor(outSize / 2), Math.floor(outSize / 3)]) {
          const expected = toSet(footprint(layer, o), size);
          // Only positions whose footprint stays clear of the borders: there
          // padding, not the input, feeds the intermediate layers.
          fc.pre(expected.length > 0 && footprint(layer, o)[0]![0] >= 0 && footprint(layer, o).at(-1)![1] < size);
          const { rows, cols } = empiricalFootprint(layer, size, 2, o, o);
          expect(rows).toEqual(expected);
          expect(cols).toEqual(expected);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('for small U-Nets and encoder-decoders (max over output positions == receptiveField)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.boolean(), (depth, skips) => {
        const net = (skips ? unet : encoderDecoder)({ depth, ngf: 2, norm: 'none', dropout: 0 });
        const rf = receptiveField(net);
        const size = 2 ** depth * Math.ceil((rf + 8) / 2 ** depth);
        let widest = 0;
        const period = 2 ** depth;
        const start = Math.floor(size / 2) - Math.floor(period / 2);
        for (let o = start; o < start + period; o++) {
          const expected = toSet(footprint(net, o), size);
          const { rows } = empiricalFootprint(net, size, 3, o, o);
          expect(rows).toEqual(expected);
          widest = Math.max(widest, rows.length === 0 ? 0 : rows.at(-1)! - rows[0]! + 1);
        }
        expect(widest).toBe(rf);
      }),
      { numRuns: 6 },
    );
  });

  it('for a skip around a stack: the union of the identity and the inner field', () => {
    const layer = build([{ kind: 'conv', kernel: 3, stride: 2, pad: 1, channels: 2 }, { kind: 'convT', kernel: 4, stride: 2, pad: 1, channels: 2 }], true);
    const { rows } = empiricalFootprint(layer, 16, 2, 8, 8);
    expect(rows).toEqual(toSet(footprint(layer, 8), 16));
    expect(rows).toContain(8);
  });

  it('dilated convs read every dilation-th position', () => {
    const layer = seq(conv(1, 3, { dilation: 2, pad: 0 }), identity());
    expect(footprint(layer, 5)).toEqual([
      [5, 5],
      [7, 7],
      [9, 9],
    ]);
    expect(receptiveField(layer)).toBe(5);
  });
});

describe('known fields', () => {
  it('follow 1 + sum (k - 1) * (product of earlier strides) for plain conv stacks', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ k: fc.integer({ min: 1, max: 7 }), s: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 6 }), (layers) => {
        fc.pre(layers.every(({ k, s }) => k >= s));
        let jump = 1;
        let rf = 1;
        for (const { k, s } of layers) {
          rf += (k - 1) * jump;
          jump *= s;
        }
        expect(receptiveField(seq(...layers.map(({ k, s }) => conv(1, k, { stride: s }))))).toBe(rf);
      }),
    );
  });
});
