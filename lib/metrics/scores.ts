/**
 * The four per-image scores together, and their mean over a set of images
 * (each image counts once, whatever its size: the mean of per-image scores,
 * as papers report them).
 */
import { samePair, type ImageLike } from './image.ts';
import { l1Error, l2Error, psnrFromMse } from './pixel.ts';
import { ssim, type SsimOptions } from './ssim.ts';

export interface ImageScores {
  /** Mean |a - b| on [-1, 1] values. Lower is better. */
  readonly l1: number;
  /** Mean (a - b)^2 on [-1, 1] values. Lower is better. */
  readonly l2: number;
  /** dB, on [0, 1] values (MAX = 1); +Infinity for identical images. Higher is better. */
  readonly psnr: number;
  /** Mean SSIM on [0, 1] values (Wang et al. 2004 constants). Higher is better, 1 at most. */
  readonly ssim: number;
}

/** L1, L2, PSNR and SSIM of `output` against `target`. */
export const imageScores = (output: ImageLike, target: ImageLike, opts: { ssim?: SsimOptions } = {}): ImageScores => {
  const [x, y] = samePair(output, target); // read tensors once
  const l2 = l2Error(x, y);
  return { l1: l1Error(x, y), l2, psnr: psnrFromMse(l2 / 4), ssim: ssim(x, y, opts.ssim) };
};

/** The mean of each score over images (NaN for an empty list; +Infinity PSNR if any image has it). */
export const meanScores = (scores: readonly ImageScores[]): ImageScores => {
  const mean = (k: keyof ImageScores) => scores.reduce((s, r) => s + r[k], 0) / scores.length;
  return { l1: mean('l1'), l2: mean('l2'), psnr: mean('psnr'), ssim: mean('ssim') };
};
