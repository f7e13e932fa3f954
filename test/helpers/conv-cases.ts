/**
 * Random convolution geometries for the kernel property tests (the wasm
 * training kernels and the native accelerator are both checked against
 * tf.js's stock cpu kernels on these).
 */
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';

export type Pad = 'same' | 'valid' | number;
export type Rounding = 'floor' | 'round' | 'ceil' | undefined;

export interface ConvGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly ci: number;
  readonly co: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly pad: Pad;
  readonly rounding: Rounding;
  readonly seed: number;
}

/** Geometries with up to `maxExtra` rows / columns beyond the kernel and up to `maxChannels` channels in and out. */
export const convGeometry = ({ maxExtra, maxChannels }: { maxExtra: number; maxChannels: number }): fc.Arbitrary<ConvGeometry> =>
  fc
    .record({
      n: fc.integer({ min: 1, max: 3 }),
      extraH: fc.integer({ min: 0, max: maxExtra }),
      extraW: fc.integer({ min: 0, max: maxExtra }),
      ci: fc.integer({ min: 1, max: maxChannels }),
      co: fc.integer({ min: 1, max: maxChannels }),
      kh: fc.integer({ min: 1, max: 5 }),
      kw: fc.option(fc.integer({ min: 1, max: 5 }), { freq: 3 }),
      sh: fc.integer({ min: 1, max: 3 }),
      sw: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 3 }),
      pad: fc.oneof(fc.constantFrom<Pad>('same', 'valid'), fc.integer({ min: 0, max: 2 })),
      rounding: fc.constantFrom<Rounding>(undefined, 'floor', 'round', 'ceil'),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    })
    .map(({ extraH, extraW, kw, sw, rounding, pad, ...r }) => {
      const kW = kw ?? r.kh;
      return {
        ...r,
        kw: kW,
        sw: sw ?? r.sh,
        h: r.kh + extraH,
        w: kW + extraW,
        pad,
        // tfjs only accepts a rounding mode with a numeric pad.
        rounding: typeof pad === 'number' ? rounding : undefined,
      };
    });

/** tf.js's geometry for the case, or undefined where it has no output. */
export function conv2dInfo(c: ConvGeometry): tf.backend_util.Conv2DInfo | undefined {
  try {
    const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.kh, c.kw, c.ci, c.co], [c.sh, c.sw], 1, c.pad, c.rounding);
    return info.outHeight > 0 && info.outWidth > 0 ? info : undefined;
  } catch {
    return undefined;
  }
}

/** Deterministic values in [-1, 1) (xorshift: cheap, one stream per seed). */
export function seededValues(seed: number, size: number): Float32Array {
  let s = seed | 1;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** The largest |a[i] - b[i]| (Infinity where a NaN appears). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

/**
 * A small training-like step (conv, ReLU, split, concat, transposed conv and
 * their gradients) for the leak checks: run() does one step and frees it.
 */
export function smallConvStep(): { run: () => void; dispose: () => void } {
  const x = tf.tensor4d(seededValues(1, 2 * 32 * 32 * 6), [2, 32, 32, 6]);
  const w1 = tf.variable(tf.tensor4d(seededValues(2, 4 * 4 * 6 * 16), [4, 4, 6, 16]));
  const w2 = tf.variable(tf.tensor4d(seededValues(3, 4 * 4 * 8 * 16), [4, 4, 8, 16]));
  const run = () =>
    tf.dispose(
      tf.tidy(() => {
        const { grads, value } = tf.variableGrads(() => {
          const h = tf.relu(tf.conv2d(x, w1, 2, 'same'));
          const [a, b] = tf.split(h, 2, 3);
          const up = tf.conv2dTranspose(tf.concat([b!, a!], 3) as tf.Tensor4D, w2, [2, 32, 32, 8], 2, 'same');
          return tf.mean(tf.square(up));
        });
        return [value, ...Object.values(grads)];
      }),
    );
  return { run, dispose: () => tf.dispose([x, w1, w2]) };
}
