// L1, L2, PSNR and SSIM: known values, an independent SSIM reference, the documented constants.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { gaussianWindow, imageScores, l1Error, l2Error, meanScores, psnr, psnrFromMse, ssim, SSIM_DEFAULTS, type MetricImage } from '../lib/node.ts';

/** A small seeded generator (mulberry32) so the random images are the same every run. */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};

const image = (height: number, width: number, channels: number, f: (i: number) => number): MetricImage => ({
  height,
  width,
  channels,
  data: Float32Array.from({ length: height * width * channels }, (_, i) => f(i)),
});
const constant = (h: number, w: number, c: number, v: number) => image(h, w, c, () => v);
const random = (h: number, w: number, c: number, seed: number) => {
  const r = rng(seed);
  return image(h, w, c, () => r() * 2 - 1);
};
/** `img` plus uniform noise of amplitude `amp`, clamped to [-1, 1]. */
const noisy = (img: MetricImage, amp: number, seed: number) => {
  const r = rng(seed);
  return image(img.height, img.width, img.channels, (i) => Math.max(-1, Math.min(1, img.data[i]! + (r() * 2 - 1) * amp)));
};

/**
 * Straight from the definition, independently of the library: for every
 * valid window position, weighted sums over the 11x11 (or k x k) window of a
 * 2-D Gaussian, in float64; mean over positions, then over channels.
 */
const referenceSsim = (a: MetricImage, b: MetricImage, o: { k: number; sigma: number; k1: number; k2: number }): number => {
  const c = (o.k - 1) / 2;
  const w: number[][] = [];
  let sum = 0;
  for (let i = 0; i < o.k; i++) {
    w.push([]);
    for (let j = 0; j < o.k; j++) {
      const v = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * o.sigma ** 2));
      w[i]!.push(v);
      sum += v;
    }
  }
  const C1 = (o.k1 * 1) ** 2;
  const C2 = (o.k2 * 1) ** 2;
  const px = (img: MetricImage, y: number, x: number, ch: number) => (img.data[(y * img.width + x) * img.channels + ch]! + 1) / 2;
  let total = 0;
  for (let ch = 0; ch < a.channels; ch++) {
    let chTotal = 0;
    let n = 0;
    for (let y0 = 0; y0 + o.k <= a.height; y0++)
      for (let x0 = 0; x0 + o.k <= a.width; x0++) {
        let mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
        for (let i = 0; i < o.k; i++)
          for (let j = 0; j < o.k; j++) {
            const wt = w[i]![j]! / sum;
            const p = px(a, y0 + i, x0 + j, ch);
            const q = px(b, y0 + i, x0 + j, ch);
            mx += wt * p;
            my += wt * q;
            sxx += wt * p * p;
            syy += wt * q * q;
            sxy += wt * p * q;
          }
        const vx = sxx - mx * mx;
        const vy = syy - my * my;
        const cov = sxy - mx * my;
        chTotal += ((2 * mx * my + C1) * (2 * cov + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
        n++;
      }
    total += chTotal / n;
  }
  return total / a.channels;
};
const PAPER = { k: 11, sigma: 1.5, k1: 0.01, k2: 0.03 };

describe('L1, L2 and PSNR', () => {
  it('L1 and L2 are on [-1, 1] values', () => {
    const a = constant(4, 5, 3, -0.5);
    const b = constant(4, 5, 3, 0.25);
    expect(l1Error(a, b)).toBeCloseTo(0.75, 6);
    expect(l2Error(a, b)).toBeCloseTo(0.5625, 6);
    expect(l1Error(constant(2, 2, 1, -1), constant(2, 2, 1, 1))).toBe(2); // the largest possible
  });

  it('PSNR of known MSEs, on images mapped to [0, 1] (MAX = 1)', () => {
    expect(psnrFromMse(0.01)).toBeCloseTo(20, 10);
    expect(psnrFromMse(1e-3)).toBeCloseTo(30, 10);
    expect(psnrFromMse(1)).toBe(-0); // MSE 1 on [0, 1] is as bad as it gets
    // 0 vs 0.2 on [-1, 1] is 0.5 vs 0.6 on [0, 1]: MSE 0.01, 20 dB.
    expect(psnr(constant(8, 8, 3, 0), constant(8, 8, 3, 0.2))).toBeCloseTo(20, 4);
    // A difference of 0.02 on [-1, 1] is 0.01 on [0, 1]: 40 dB.
    expect(psnr(constant(8, 8, 3, 0), constant(8, 8, 3, -0.02))).toBeCloseTo(40, 4);
    // Black vs white: MSE 1 on [0, 1], 0 dB.
    expect(psnr(constant(3, 3, 1, -1), constant(3, 3, 1, 1))).toBeCloseTo(0, 10);
    expect(psnr(random(6, 6, 3, 1), random(6, 6, 3, 1))).toBe(Infinity);
  });

  it('mismatched shapes are an error naming both', () => {
    expect(() => l1Error(constant(4, 4, 3, 0), constant(4, 5, 3, 0))).toThrow(/4x4x3 vs 4x5x3/);
  });
});

describe('SSIM (Wang et al. 2004)', () => {
  it('the documented constants', () => {
    expect(SSIM_DEFAULTS).toEqual({ windowSize: 11, sigma: 1.5, k1: 0.01, k2: 0.03 });
    const w = gaussianWindow(11, 1.5);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(w[5]! / w[4]!).toBeCloseTo(Math.exp(1 / (2 * 1.5 * 1.5)), 12);
  });

  it('identical images score 1', () => {
    const a = random(20, 24, 3, 7);
    expect(ssim(a, a)).toBeCloseTo(1, 12);
  });

  it('two constant images: (2 mu_x mu_y + C1) / (mu_x^2 + mu_y^2 + C1) in closed form', () => {
    // 0 and 0.5 on [-1, 1] are 0.5 and 0.75 on [0, 1]; no variance, so only the luminance term is left.
    const expected = (2 * 0.5 * 0.75 + 1e-4) / (0.25 + 0.5625 + 1e-4);
    expect(ssim(constant(12, 12, 3, 0), constant(12, 12, 3, 0.5))).toBeCloseTo(expected, 10);
  });

  it('is symmetric, and falls under noise (more noise, lower)', () => {
    const a = random(16, 16, 3, 3);
    const b = noisy(a, 0.2, 4);
    expect(ssim(a, b)).toBeCloseTo(ssim(b, a), 12);
    expect(ssim(a, b)).toBeLessThan(0.99);
    expect(ssim(a, noisy(a, 0.6, 4))).toBeLessThan(ssim(a, b));
  });

  it('matches a direct double loop over windows in float64, to 1e-6', () => {
    for (const [h, w, c, seed] of [[16, 19, 3, 11], [13, 11, 1, 12], [14, 14, 3, 13]] as const) {
      const a = random(h, w, c, seed);
      const b = noisy(a, 0.5, seed + 100);
      expect(Math.abs(ssim(a, b) - referenceSsim(a, b, PAPER))).toBeLessThan(1e-6);
      // Unrelated images too (SSIM near 0, can be negative).
      const d = random(h, w, c, seed + 200);
      expect(Math.abs(ssim(a, d) - referenceSsim(a, d, PAPER))).toBeLessThan(1e-6);
    }
  });

  it('the constants matter: another sigma, window or K changes the value (and each option is honoured)', () => {
    const a = random(16, 16, 3, 21);
    const b = noisy(a, 0.4, 22);
    const paper = ssim(a, b);
    for (const [opts, ref] of [
      [{ sigma: 3 }, { ...PAPER, sigma: 3 }],
      [{ windowSize: 7 }, { ...PAPER, k: 7 }],
      [{ k1: 0.1, k2: 0.3 }, { ...PAPER, k1: 0.1, k2: 0.3 }],
    ] as const) {
      const v = ssim(a, b, opts);
      expect(Math.abs(v - paper)).toBeGreaterThan(1e-3);
      expect(Math.abs(v - referenceSsim(a, b, ref))).toBeLessThan(1e-6);
    }
  });

  it('refuses images smaller than the window', () => {
    expect(() => ssim(constant(10, 20, 3, 0), constant(10, 20, 3, 0))).toThrow(/at least 11x11/);
  });
});

describe('tensors, per-image scores and the mean', () => {
  it('[H, W, C] and [1, H, W, C] tensors give the same scores as arrays, and nothing leaks', () => {
    const a = random(12, 13, 3, 31);
    const b = noisy(a, 0.3, 32);
    const before = tf.memory().numTensors;
    const ta = tf.tensor3d(a.data as Float32Array, [12, 13, 3]);
    const tb = tf.tensor4d(b.data as Float32Array, [1, 12, 13, 3]);
    const fromTensors = imageScores(ta, tb);
    expect(tf.memory().numTensors).toBe(before + 2); // read, not disposed: the caller owns them
    tf.dispose([ta, tb]);
    expect(tf.memory().numTensors).toBe(before);
    const fromArrays = imageScores(a, b);
    expect(fromTensors.l1).toBeCloseTo(fromArrays.l1, 12);
    expect(fromTensors.ssim).toBeCloseTo(fromArrays.ssim, 12);
    expect(fromArrays).toEqual({ l1: l1Error(a, b), l2: l2Error(a, b), psnr: psnr(a, b), ssim: ssim(a, b) });
  });

  it('meanScores is the mean over images', () => {
    const s = meanScores([
      { l1: 0.1, l2: 0.2, psnr: 20, ssim: 0.5 },
      { l1: 0.3, l2: 0.4, psnr: 30, ssim: 0.7 },
    ]);
    expect(s.l1).toBeCloseTo(0.2, 12);
    expect(s.l2).toBeCloseTo(0.3, 12);
    expect(s.psnr).toBeCloseTo(25, 12);
    expect(s.ssim).toBeCloseTo(0.6, 12);
  });
});
