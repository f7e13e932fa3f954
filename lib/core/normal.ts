/**
 * Gaussian initial values, the same numbers as `tf.randomNormal(shape, mean,
 * std, 'float32', seed)` but ~4x faster: tf.js draws them one call at a time
 * through an object (its Marsaglia polar sampler over seedrandom's Alea
 * generator), which made initialising a net the longest part of a run's
 * start (~0.7 s for unet64 + a 70x70 D on a 2.4 GHz core). Here the same
 * two algorithms run with their state in locals, filling the array in one
 * loop.
 *
 * The sequence is tf.js's, value for value (test/normal.test.ts compares
 * them bit for bit): Alea (Johannes Baagøe's generator; its state is three
 * fractions and a carry, seeded by hashing the seed's decimal string with
 * his Mash function), then the polar method on pairs of uniforms in
 * [-1, 1) — both values of an accepted pair are used, x first.
 */

const TWO_M32 = 2.3283064365386963e-10; // 2^-32

/** Baagøe's Mash hash, folded over `data` from state `n`; returns the new state and the fraction. */
const mash = (n: number, data: string): [number, number] => {
  for (let i = 0; i < data.length; i++) {
    n += data.charCodeAt(i);
    let h = 0.02519603282416938 * n;
    n = h >>> 0;
    h -= n;
    h *= n;
    n = h >>> 0;
    h -= n;
    n += h * 0x100000000;
  }
  return [n, (n >>> 0) * TWO_M32];
};

/** Alea's initial state for a seed string: [s0, s1, s2]. */
const aleaState = (seed: string): [number, number, number] => {
  let n = 0xefc8249d;
  const s: number[] = [];
  for (let i = 0; i < 3; i++) {
    const [m, f] = mash(n, ' ');
    n = m;
    s.push(f);
  }
  for (let i = 0; i < 3; i++) {
    const [m, f] = mash(n, seed);
    n = m;
    s[i] = s[i]! - f;
    if (s[i]! < 0) s[i] = s[i]! + 1;
  }
  return [s[0]!, s[1]!, s[2]!];
};

/**
 * `size` float32 values from N(mean, std²), seeded as tf.randomNormal is:
 * by the seed's decimal string. (A seed of 0 is the one difference: tf.js
 * takes it for "no seed" and draws from Math.random; here it is the string
 * "0", so that every key gives the same values every time.)
 */
export const normalValues = (size: number, mean: number, std: number, seed: number): Float32Array => {
  if (!Number.isFinite(seed)) throw new RangeError(`normalValues: the seed must be a finite number (got ${seed})`);
  const out = new Float32Array(size);
  let [s0, s1, s2] = aleaState(seed.toString());
  let c = 1;
  let i = 0;
  while (i < size) {
    let v1: number, v2: number, s: number;
    do {
      let t = 2091639 * s0 + c * TWO_M32;
      s0 = s1;
      s1 = s2;
      s2 = t - (c = t | 0);
      v1 = 2 * s2 - 1;
      t = 2091639 * s0 + c * TWO_M32;
      s0 = s1;
      s1 = s2;
      s2 = t - (c = t | 0);
      v2 = 2 * s2 - 1;
      s = v1 * v1 + v2 * v2;
    } while (s >= 1 || s === 0);
    const mul = Math.sqrt((-2.0 * Math.log(s)) / s);
    out[i++] = mean + std * v1 * mul;
    if (i < size) out[i++] = mean + std * v2 * mul;
  }
  return out;
};
