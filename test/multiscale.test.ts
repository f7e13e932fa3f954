// pix2pixHD's multi-scale discriminator and the discriminator features that
// feature matching reads, against closed forms and the layers applied by hand.
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { avgPool, conv, disposeTree, makeKey, multiscaleDiscriminator, paramCount, patchDiscriminator, receptiveField, type Tree } from '../lib/node.ts';

describe('multiscaleDiscriminator(scales, patchDiscriminator(70))', () => {
  it("has one patch70's parameters per scale: 2 scales on 6 channels = 5,537,410", () => {
    const ds = multiscaleDiscriminator(2, patchDiscriminator(70));
    const total = ds.map((d) => paramCount(d, [256, 256, 6])).reduce((n, r) => n + (E.isRight(r) ? r.right : NaN), 0);
    expect(total).toBe(5_537_410);
  });

  it('scale k sees the input pooled k-1 times: receptive field 71 * 2^(k-1) - 1 input pixels', () => {
    expect(multiscaleDiscriminator(4, patchDiscriminator(70)).map(receptiveField)).toEqual([70, 141, 283, 567]);
  });

  it('scale 1 is the D itself; scale 3 equals the D applied to the input average-pooled twice', () => {
    const d = patchDiscriminator(16, { ndf: 4 });
    const ds = multiscaleDiscriminator(3, d);
    expect(ds[0]).toBe(d);
    const x = tf.randomNormal([1, 32, 32, 6], 0, 1, 'float32', 1) as tf.Tensor4D;
    const ctx = { mode: 'train' as const, key: makeKey(0) };
    const made = ds[2]!.init(makeKey(3), [32, 32, 6]);
    const [y] = ds[2]!.apply(made.params, made.state, x, ctx);
    const pool = avgPool(3, 2);
    const pooled = pool.apply({}, {}, pool.apply({}, {}, x, ctx)[0], ctx)[0];
    // seq(avgPool, avgPool, d): d's weights are the third child's.
    const [direct] = d.apply((made.params as Tree[])[2]!, (made.state as Tree[])[2]!, pooled, { ...ctx, key: [0, 0] });
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expect(tf.max(tf.abs(tf.sub(y, direct))).dataSync()[0]).toBeLessThan(1e-6);
    disposeTree(made.params);
  });

  it('rejects a scale count that is not a positive integer', () => {
    expect(() => multiscaleDiscriminator(0, patchDiscriminator(70))).toThrow(/scales must be an integer >= 1, got 0/);
  });
});

describe("a PatchGAN's features", () => {
  it('are the outputs of its k + 1 blocks before the last conv, which maps the last of them to the logits', () => {
    const d = patchDiscriminator(70, { ndf: 4 });
    const made = d.init(makeKey(0), [64, 64, 6]);
    const x = tf.randomNormal([2, 64, 64, 6], 0, 1, 'float32', 2) as tf.Tensor4D;
    const features: tf.Tensor4D[] = [];
    const [logits] = d.apply(made.params, made.state, x, { mode: 'train', key: makeKey(1), features });
    expect(features.map((f) => f.shape)).toEqual([[2, 32, 32, 4], [2, 16, 16, 8], [2, 8, 8, 16], [2, 7, 7, 32]]);
    // The first feature is leakyRelu(conv(x)); the logits are the last conv of the last feature.
    const p = made.params as Array<Record<string, tf.Tensor>>;
    const first = tf.leakyRelu(tf.add(tf.conv2d(x, p[0]!['w'] as tf.Tensor4D, 2, 1), p[0]!['b']!), 0.2);
    expect(tf.max(tf.abs(tf.sub(first, features[0]!))).dataSync()[0]).toBeLessThan(1e-5);
    const last = conv(1, 4).apply(p[5]!, {}, features[3]!, { mode: 'train', key: makeKey(1) })[0];
    expect(tf.max(tf.abs(tf.sub(last, logits))).dataSync()[0]).toBe(0);
    // Without a collector nothing is kept.
    expect(d.apply(made.params, made.state, x, { mode: 'train', key: makeKey(1) })[0].shape).toEqual(logits.shape);
    disposeTree(made.params);
  });

  it('the PixelGAN has two', () => {
    const d = patchDiscriminator(1, { ndf: 4 });
    const made = d.init(makeKey(0), [8, 8, 6]);
    const features: tf.Tensor4D[] = [];
    d.apply(made.params, made.state, tf.zeros([1, 8, 8, 6]), { mode: 'train', key: makeKey(1), features });
    expect(features.map((f) => f.shape[3])).toEqual([4, 8]);
  });
});
