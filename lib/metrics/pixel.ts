/**
 * Pixel-wise distances and PSNR.
 *
 * L1 and L2 are on the library's [-1, 1] values, the scale of the training
 * loss and of `pix2pix test`'s "mean L1", so the numbers can be compared
 * with the losses. PSNR is on images mapped to [0, 1] (MAX = 1), the usual
 * convention, so it does not depend on how pixels were normalised for
 * training: PSNR = 20 log10(1 / sqrt(MSE01)) with MSE01 = MSE / 4.
 */
import { samePair, type ImageLike } from './image.ts';

/** Mean absolute difference, on [-1, 1] values (range [0, 2]). */
export const l1Error = (a: ImageLike, b: ImageLike): number => {
  const [x, y] = samePair(a, b);
  let s = 0;
  for (let i = 0; i < x.data.length; i++) s += Math.abs(x.data[i]! - y.data[i]!);
  return s / x.data.length;
};

/** Mean squared difference (MSE), on [-1, 1] values (range [0, 4]). */
export const l2Error = (a: ImageLike, b: ImageLike): number => {
  const [x, y] = samePair(a, b);
  let s = 0;
  for (let i = 0; i < x.data.length; i++) {
    const d = x.data[i]! - y.data[i]!;
    s += d * d;
  }
  return s / x.data.length;
};

/**
 * PSNR in dB from an MSE measured on [0, 1] values: 10 log10(1 / mse).
 * +Infinity for identical images (mse 0).
 */
export const psnrFromMse = (mse01: number): number => (mse01 === 0 ? Infinity : -10 * Math.log10(mse01));

/** PSNR in dB of two [-1, 1] images, computed on them mapped to [0, 1] (MAX = 1). */
export const psnr = (a: ImageLike, b: ImageLike): number => psnrFromMse(l2Error(a, b) / 4);
