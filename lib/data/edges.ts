/**
 * Edge maps from photos, for edges -> photo experiments (the paper's
 * edges2shoes/handbags used HED edges; Canny is the classic stand-in that
 * needs no model): grayscale, Gaussian blur, Sobel gradients, non-maximum
 * suppression and hysteresis thresholding. Plain loops on HWC [-1, 1] data.
 */
import type { FloatImage } from './pixels.ts';

export interface CannyOptions {
  /** Gaussian blur before the gradients (default 1.0; 0 turns it off). */
  readonly sigma?: number;
  /** Hysteresis thresholds on the gradient magnitude of [0, 1] intensities (defaults 0.1 and 0.2). */
  readonly low?: number;
  readonly high?: number;
}

/** Luma of a [-1, 1] image as [0, 1] intensities (ITU-R 601, as PIL's convert('L')). */
export const intensity = (img: FloatImage): Float32Array => {
  const n = img.height * img.width;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const at = (c: number) => (img.data[i * img.channels + c]! + 1) / 2;
    out[i] = img.channels === 1 ? at(0) : 0.299 * at(0) + 0.587 * at(1) + 0.114 * at(2);
  }
  return out;
};

const gaussianBlur = (src: Float32Array, h: number, w: number, sigma: number): Float32Array => {
  if (sigma <= 0) return src;
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const kernel = k.map((v) => v / sum);
  const clamp = (v: number, n: number) => Math.min(n - 1, Math.max(0, v));
  const tmp = new Float32Array(h * w);
  const out = new Float32Array(h * w);
  // Separable: rows, then columns; edges replicate the border.
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += kernel[i + r]! * src[y * w + clamp(x + i, w)]!;
      tmp[y * w + x] = s;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += kernel[i + r]! * tmp[clamp(y + i, h) * w + x]!;
      out[y * w + x] = s;
    }
  return out;
};

/** Sobel gradients: magnitude and direction (radians) per pixel. */
export const sobel = (src: Float32Array, h: number, w: number): { magnitude: Float32Array; angle: Float32Array } => {
  const magnitude = new Float32Array(h * w);
  const angle = new Float32Array(h * w);
  const at = (y: number, x: number) => src[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))]!;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const gx = at(y - 1, x + 1) + 2 * at(y, x + 1) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y, x - 1) - at(y + 1, x - 1);
      const gy = at(y + 1, x - 1) + 2 * at(y + 1, x) + at(y + 1, x + 1) - at(y - 1, x - 1) - 2 * at(y - 1, x) - at(y - 1, x + 1);
      magnitude[y * w + x] = Math.hypot(gx, gy) / 4; // / 4: a unit step gives magnitude 1
      angle[y * w + x] = Math.atan2(gy, gx);
    }
  return { magnitude, angle };
};

/**
 * Canny edges as a [-1, 1] image with `channels` channels: edges black (-1)
 * on white (1), as in the pix2pix edge datasets.
 */
export const cannyEdges = (img: FloatImage, opts: CannyOptions = {}, channels: 1 | 3 = 3): FloatImage => {
  const { sigma = 1, low = 0.1, high = 0.2 } = opts;
  const { height: h, width: w } = img;
  const { magnitude, angle } = sobel(gaussianBlur(intensity(img), h, w, sigma), h, w);
  // Non-maximum suppression along the gradient direction (4 sectors).
  const thin = new Float32Array(h * w);
  for (let y = 1; y < h - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const m = magnitude[y * w + x]!;
      const a = ((angle[y * w + x]! * 180) / Math.PI + 180) % 180;
      const [dy, dx] = a < 22.5 || a >= 157.5 ? [0, 1] : a < 67.5 ? [1, 1] : a < 112.5 ? [1, 0] : [1, -1];
      if (m >= magnitude[(y + dy) * w + x + dx]! && m >= magnitude[(y - dy) * w + x - dx]!) thin[y * w + x] = m;
    }
  // Hysteresis: strong pixels, and weak ones connected to them.
  const edge = new Uint8Array(h * w);
  const stack: number[] = [];
  for (let i = 0; i < h * w; i++)
    if (thin[i]! >= high) {
      edge[i] = 1;
      stack.push(i);
    }
  while (stack.length > 0) {
    const i = stack.pop()!;
    const y = Math.floor(i / w);
    const x = i % w;
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        const yy = y + dy;
        const xx = x + dx;
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const j = yy * w + xx;
        if (!edge[j] && thin[j]! >= low) {
          edge[j] = 1;
          stack.push(j);
        }
      }
  }
  const data = new Float32Array(h * w * channels);
  for (let i = 0; i < h * w; i++) for (let c = 0; c < channels; c++) data[i * channels + c] = edge[i] ? -1 : 1;
  return { height: h, width: w, channels, data };
};
