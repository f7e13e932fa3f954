/**
 * The image pool of past fakes (Shrivastava et al. 2017; the reference's
 * ImagePool, pool_size 50 for CycleGAN, 0 for pix2pix): D is shown, per
 * example, the newest fake while the pool fills; then with probability 1/2
 * a stored one, which the newest replaces. A value in the train state and
 * the checkpoint; its randomness comes from the step's key.
 */
import * as tf from '@tensorflow/tfjs';
import { foldIn, type Key } from '../core/key.ts';
import type { Shape } from '../core/shape.ts';

export interface ImagePool {
  /** `size` slots of [1, h, w, c] (zeros until filled), the first `filled` of them holding fakes. */
  readonly images: readonly tf.Tensor4D[];
  readonly filled: number;
}

export const emptyPool = (size: number, shape: Shape): ImagePool => ({
  images: Array.from({ length: size }, () => tf.zeros([1, ...shape]) as tf.Tensor4D),
  filled: 0,
});

export const poolTensors = (p: ImagePool): tf.Tensor[] => [...p.images];

/** A number in [0, 1) from a key. */
const uniform = (key: Key): number => key[0] / 2 ** 32;

/**
 * The fakes D sees for this batch, and the pool after it. Call inside a
 * tidy that returns the pool (its new images are slices of `fakes`).
 */
export const queryPool = (pool: ImagePool, fakes: tf.Tensor4D, key: Key): [tf.Tensor4D, ImagePool] => {
  const size = pool.images.length;
  if (size === 0) return [fakes, pool];
  const images = [...pool.images];
  let filled = pool.filled;
  const shown: tf.Tensor4D[] = [];
  const [n, h, w, c] = fakes.shape;
  for (let b = 0; b < n; b++) {
    const image = tf.slice(fakes, [b, 0, 0, 0], [1, h, w, c]);
    const k = foldIn(key, b);
    if (filled < size) {
      images[filled++] = image;
      shown.push(image);
    } else if (uniform(foldIn(k, 0)) > 0.5) {
      const at = Math.min(size - 1, Math.floor(uniform(foldIn(k, 1)) * size));
      shown.push(images[at]!);
      images[at] = image;
    } else shown.push(image);
  }
  return [shown.length === 1 ? shown[0]! : (tf.concat(shown, 0) as tf.Tensor4D), { images, filled }];
};
