import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalValues } from '../lib/core/normal.ts';
import { seedOf, makeKey, foldIn } from '../lib/core/key.ts';

const stock = (n: number, mean: number, std: number, seed: number): Float32Array =>
  tf.tidy(() => tf.randomNormal([n], mean, std, 'float32', seed).dataSync() as Float32Array);

describe('normalValues', () => {
  it('gives tf.randomNormal’s values bit for bit, for the seeds the layers derive and for odd sizes', () => {
    const key = makeKey(0);
    for (const [i, n] of [1, 2, 3, 17, 4096, 50_001].entries()) {
      const seed = seedOf(foldIn(key, i + 1)); // foldIn(key, 0) seeds 0: see the last test
      expect(Buffer.from(normalValues(n, 0, 0.02, seed).buffer).equals(Buffer.from(stock(n, 0, 0.02, seed).buffer))).toBe(true);
    }
  });

  it('matches tf.randomNormal for any mean, deviation and integer or fractional seed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        fc.double({ min: -5, max: 5, noNaN: true }),
        fc.double({ min: 1e-3, max: 10, noNaN: true }),
        fc.oneof(fc.integer({ min: 1, max: 2 ** 52 }), fc.double({ min: 1e-6, max: 1e9, noNaN: true })),
        (n, mean, std, seed) => {
          expect([...normalValues(n, mean, std, seed)]).toEqual([...stock(n, mean, std, seed)]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('is deterministic for seed 0 (which a real key gives, and where tf.js draws from Math.random) and refuses a non-finite seed', () => {
    expect(seedOf(foldIn(makeKey(0), 0))).toBe(0);
    expect([...normalValues(8, 0, 1, 0)]).toEqual([...normalValues(8, 0, 1, 0)]);
    expect([...normalValues(8, 0, 1, 0)]).toEqual([...stock(8, 0, 1, '0' as unknown as number)]); // the string "0" is a seed to tf.js
    expect(() => normalValues(4, 0, 1, NaN)).toThrow(/seed must be a finite number/);
  });
});
