/**
 * sRGB (IEC 61966-2-1, D65 white) -> CIE 1976 L*a*b*, the colour space of
 * the paper's colourfulness analysis (its Fig. 7).
 *
 * Steps: undo the sRGB transfer curve; linear RGB -> XYZ with the sRGB/D65
 * matrix; divide by the D65 white point; L* = 116 f(Y) - 16,
 * a* = 500 (f(X) - f(Y)), b* = 200 (f(Y) - f(Z)), where f(t) = cbrt(t)
 * above (6/29)^3 and t / (3 (6/29)^2) + 4/29 below. L* is in [0, 100];
 * for sRGB colours a* is in about [-86, 98] and b* in about [-108, 95].
 */
import { toMetricImage, toUnit, type ImageLike } from './image.ts';

/** Linear sRGB -> XYZ (D65), rows X, Y, Z. */
export const SRGB_TO_XYZ: readonly (readonly [number, number, number])[] = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
];

/** The D65 reference white (Y = 1); it is the matrix applied to RGB (1, 1, 1). */
export const D65_WHITE: readonly [number, number, number] = [0.95047, 1.0, 1.08883];

/** sRGB transfer curve, inverted: an encoded value in [0, 1] -> linear light. */
export const srgbToLinear = (c: number): number => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);

const DELTA = 6 / 29;
const f = (t: number): number => (t > DELTA ** 3 ? Math.cbrt(t) : t / (3 * DELTA * DELTA) + 4 / 29);

/** One sRGB colour with channels in [0, 1] (clamped) -> [L*, a*, b*]. */
export const srgbToLab = (r: number, g: number, b: number): [number, number, number] => {
  const clamp = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  const rl = srgbToLinear(clamp(r));
  const gl = srgbToLinear(clamp(g));
  const bl = srgbToLinear(clamp(b));
  const [mx, my, mz] = SRGB_TO_XYZ as [readonly [number, number, number], readonly [number, number, number], readonly [number, number, number]];
  const fx = f((mx[0] * rl + mx[1] * gl + mx[2] * bl) / D65_WHITE[0]);
  const fy = f((my[0] * rl + my[1] * gl + my[2] * bl) / D65_WHITE[1]);
  const fz = f((mz[0] * rl + mz[1] * gl + mz[2] * bl) / D65_WHITE[2]);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
};

/**
 * A [-1, 1] image -> its pixels in Lab, interleaved L, a, b (length H*W*3).
 * A 1-channel image is taken as grey (R = G = B), so a* = b* = 0.
 */
export const imageToLab = (img: ImageLike): Float64Array => {
  const m = toMetricImage(img);
  if (m.channels !== 3 && m.channels !== 1) throw new RangeError(`Lab needs a 1- or 3-channel image, got ${m.channels} channels`);
  const n = m.height * m.width;
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = m.channels === 3 ? [m.data[3 * i]!, m.data[3 * i + 1]!, m.data[3 * i + 2]!] : [m.data[i]!, m.data[i]!, m.data[i]!];
    const lab = srgbToLab(toUnit(r), toUnit(g), toUnit(b));
    out[3 * i] = lab[0];
    out[3 * i + 1] = lab[1];
    out[3 * i + 2] = lab[2];
  }
  return out;
};
