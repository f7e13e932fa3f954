/**
 * PIL-style bicubic resize written the plain way, one output value at a
 * time (the oracle lib/data/preprocess.ts's resizeImage is held to, bit for
 * bit): Keys cubic (a = -0.5) widened by the scale when shrinking, weights
 * normalised to sum 1 (PIL's precompute_coeffs), a horizontal pass into
 * float64, a vertical pass, each sum started at 0 and taken in tap order,
 * clamped to [-1, 1] and stored as float32.
 */
import type { FloatImage } from '../../lib/data/pixels.ts';

const keys = (x: number): number => {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
};

/** For output index i of inSize -> outSize: the first input index and the normalised weights. */
const taps = (inSize: number, outSize: number, i: number): { first: number; weights: number[] } => {
  const scale = inSize / outSize;
  const widen = Math.max(scale, 1);
  const center = (i + 0.5) * scale;
  const first = Math.max(Math.trunc(center - 2 * widen + 0.5), 0);
  const last = Math.min(Math.trunc(center + 2 * widen + 0.5), inSize);
  const raw: number[] = [];
  for (let j = first; j < last; j++) raw.push(keys((j - center + 0.5) / widen));
  const total = raw.reduce((s, w) => s + w, 0);
  return { first, weights: total === 0 ? raw : raw.map((w) => w / total) };
};

export const resizeOracle = (img: FloatImage, height: number, width: number): Float32Array => {
  const c = img.channels;
  const mid = new Float64Array(img.height * width * c);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < width; x++) {
      const { first, weights } = taps(img.width, width, x);
      for (let k = 0; k < c; k++) {
        let sum = 0;
        weights.forEach((w, t) => (sum += w * img.data[(y * img.width + first + t) * c + k]!));
        mid[(y * width + x) * c + k] = sum;
      }
    }
  const out = new Float32Array(height * width * c);
  for (let y = 0; y < height; y++) {
    const { first, weights } = taps(img.height, height, y);
    for (let x = 0; x < width; x++)
      for (let k = 0; k < c; k++) {
        let sum = 0;
        weights.forEach((w, t) => (sum += w * mid[((first + t) * width + x) * c + k]!));
        out[(y * width + x) * c + k] = Math.min(1, Math.max(-1, sum));
      }
  }
  return out;
};
