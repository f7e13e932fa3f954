// The paper's networks must match the PyTorch reference exactly (RGB, ngf = ndf = 64).
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  disposeTree,
  encoderDecoder,
  makeKey,
  paramCount,
  patchDiscriminator,
  size,
  unet,
  type Layer,
  type Shape,
} from '../lib/node.ts';

const count = (layer: Layer, input: Shape) => {
  const n = paramCount(layer, input);
  if (E.isLeft(n)) throw new Error(n.left.message);
  return n.right;
};

describe('reference parameter counts', () => {
  it.each([
    ['unet depth 8', unet({ depth: 8 }), 54_413_955],
    ['unet depth 7', unet({ depth: 7 }), 41_828_995],
    ['unet depth 8, ngf 32', unet({ depth: 8, ngf: 32 }), 13_608_259],
    ['unet depth 8, instance norm', unet({ depth: 8, norm: 'instance' }), 54_409_603],
  ])('%s', (_name, layer, expected) => {
    expect(count(layer, [256, 256, 3])).toBe(expected);
  });

  it.each([
    [1, 9_024],
    [16, 139_585],
    [70, 2_768_705],
    [286, 11_159_361],
  ])('patchDiscriminator(%i) on 6 channels', (n, expected) => {
    expect(count(patchDiscriminator(n), [256, 256, 6])).toBe(expected);
  });

  it.each([
    [256, 30],
    [128, 14],
    [512, 62],
  ])('the 70x70 D gives a %i -> %i grid of logits', (inSize, grid) => {
    expect(patchDiscriminator(70).shape([inSize, inSize, 6])).toEqual(E.right([grid, grid, 1]));
  });

  it('an option given as undefined means its default', () => {
    expect(count(unet({ ngf: undefined, depth: undefined, norm: undefined }), [256, 256, 3])).toBe(54_413_955);
    expect(count(patchDiscriminator(70, { ndf: undefined }), [256, 256, 6])).toBe(2_768_705);
  });

  it('the encoder-decoder is the U-Net with the skips cut: fewer decoder inputs, same output', () => {
    const withSkips = count(unet(), [256, 256, 3]);
    const without = count(encoderDecoder(), [256, 256, 3]);
    expect(without).toBeLessThan(withSkips);
    expect(encoderDecoder().shape([256, 256, 3])).toEqual(E.right([256, 256, 3]));
  });
});

describe('static counts equal allocated parameters', () => {
  it('for random small U-Nets, encoder-decoders and discriminators', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom('batch', 'instance', 'none'),
        fc.boolean(),
        fc.constantFrom(1, 16, 34),
        (depth, ngf, norm, skips, patch) => {
          const s = 2 ** depth * 2;
          const g = (skips ? unet : encoderDecoder)({ depth, ngf, norm });
          const d = patchDiscriminator(patch, { ndf: ngf, norm });
          for (const [layer, input] of [
            [g, [s, s, 3]],
            [d, [64, 64, 6]],
          ] as const) {
            const made = layer.init(makeKey(depth), input);
            expect(size(made.params)).toBe(count(layer, input));
            disposeTree(made.params);
            disposeTree(made.state);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('the full unet_256 allocates exactly 54,413,955 parameters', () => {
    const made = unet().init(makeKey(0), [256, 256, 3]);
    expect(size(made.params)).toBe(54_413_955);
    // The reference init: conv weights N(0, 0.02), norm scales N(1, 0.02), shifts and biases 0.
    const first = (made.params as any)[1][0].w as tf.Tensor;
    const { mean, variance } = tf.moments(first);
    expect(Math.abs(mean.dataSync()[0]!)).toBeLessThan(0.002);
    expect(Math.sqrt(variance.dataSync()[0]!)).toBeCloseTo(0.02, 3);
    tf.dispose([mean, variance]);
    disposeTree(made.params);
  });
});
