/**
 * SSIM, as defined by Wang, Bovik, Sheikh and Simoncelli, "Image Quality
 * Assessment: From Error Visibility to Structural Similarity", IEEE TIP 2004.
 *
 * On images mapped to [0, 1] (dynamic range L = 1), with the paper's
 * constants: an 11x11 Gaussian window of standard deviation 1.5 (normalised
 * to sum 1), K1 = 0.01, K2 = 0.03, C1 = (K1 L)^2, C2 = (K2 L)^2. Local means,
 * variances and the covariance are window-weighted; the SSIM map is taken on
 * the valid region only (no padding: (H - 10) x (W - 10) positions), averaged
 * over it, then averaged over channels (each channel on its own). No
 * downsampling of large images (the later reference code's option) is done.
 */
import { withDefaults } from '../core/options.ts';
import { samePair, type ImageLike, type MetricImage } from './image.ts';

export interface SsimOptions {
  /** Side of the square Gaussian window. Default 11. */
  readonly windowSize?: number;
  /** Its standard deviation. Default 1.5. */
  readonly sigma?: number;
  /** Default 0.01. */
  readonly k1?: number;
  /** Default 0.03. */
  readonly k2?: number;
}

export const SSIM_DEFAULTS: Required<SsimOptions> = { windowSize: 11, sigma: 1.5, k1: 0.01, k2: 0.03 };

/** The 1-D Gaussian of `size` taps, summing to 1. The 2-D window is its outer product with itself. */
export const gaussianWindow = (size: number, sigma: number): Float64Array => {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`SSIM window size must be a positive integer, got ${size}`);
  if (!(sigma > 0)) throw new RangeError(`SSIM sigma must be positive, got ${sigma}`);
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) w[i]! /= sum;
  return w;
};

/**
 * One channel's mean SSIM over the valid region. The window is separable,
 * so each of the five local moments is filtered along rows, then columns:
 * 2 x 11 taps per output instead of 121.
 */
const channelSsim = (x: MetricImage, y: MetricImage, ch: number, w: Float64Array, c1: number, c2: number): number => {
  const { height: H, width: W, channels: C } = x;
  const k = w.length;
  const oh = H - k + 1;
  const ow = W - k + 1;
  // Moments of [0, 1] values: x, y, x^2, y^2, xy.
  const n = H * W;
  const m = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)] as const;
  for (let i = 0; i < n; i++) {
    const a = (x.data[i * C + ch]! + 1) / 2;
    const b = (y.data[i * C + ch]! + 1) / 2;
    m[0][i] = a;
    m[1][i] = b;
    m[2][i] = a * a;
    m[3][i] = b * b;
    m[4][i] = a * b;
  }
  // Rows: H x ow; then columns: oh x ow.
  const filtered = m.map((src) => {
    const rows = new Float64Array(H * ow);
    for (let r = 0; r < H; r++)
      for (let c = 0; c < ow; c++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += w[t]! * src[r * W + c + t]!;
        rows[r * ow + c] = s;
      }
    const out = new Float64Array(oh * ow);
    for (let r = 0; r < oh; r++)
      for (let c = 0; c < ow; c++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += w[t]! * rows[(r + t) * ow + c]!;
        out[r * ow + c] = s;
      }
    return out;
  });
  const [mx, my, xx, yy, xy] = filtered as unknown as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  let total = 0;
  for (let i = 0; i < oh * ow; i++) {
    const ux = mx[i]!;
    const uy = my[i]!;
    const vx = xx[i]! - ux * ux;
    const vy = yy[i]! - uy * uy;
    const cov = xy[i]! - ux * uy;
    total += ((2 * ux * uy + c1) * (2 * cov + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return total / (oh * ow);
};

/**
 * Mean SSIM of two [-1, 1] images (compared on [0, 1]): 1 for identical
 * images, lower for less similar ones (it can go below 0). Both sides of
 * the image must be at least the window size.
 */
export const ssim = (a: ImageLike, b: ImageLike, opts: SsimOptions = {}): number => {
  const [x, y] = samePair(a, b);
  const o = withDefaults(SSIM_DEFAULTS, opts);
  if (x.height < o.windowSize || x.width < o.windowSize) {
    throw new RangeError(`SSIM needs images of at least ${o.windowSize}x${o.windowSize} (its window), got ${x.height}x${x.width}`);
  }
  const w = gaussianWindow(o.windowSize, o.sigma);
  const c1 = o.k1 ** 2; // (K1 L)^2 with L = 1
  const c2 = o.k2 ** 2;
  let s = 0;
  for (let ch = 0; ch < x.channels; ch++) s += channelSsim(x, y, ch, w, c1, c2);
  return s / x.channels;
};
