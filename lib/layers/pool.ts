/** Average pooling as pix2pixHD downsamples for its coarser discriminators. */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { leaf } from '../core/leaf.ts';
import type { Layer } from '../core/layer.ts';

export interface PoolOptions {
  /** Zero padding on every side; default floor((kernel - 1) / 2), 1 for pix2pixHD's 3x3. */
  readonly pad?: number;
}

/** How many of the taps o*stride - pad + j (j < kernel) of each output fall inside an input of length n. */
const inside = (n: number, out: number, kernel: number, stride: number, pad: number): number[] =>
  Array.from({ length: out }, (_, o) => {
    const first = o * stride - pad;
    return Math.min(first + kernel, n) - Math.max(first, 0);
  });

/**
 * Window sums over the zero-padded input, per channel: a convolution with
 * the filter that is ones over the window and the identity across channels
 * (kernel^2 * channels^2 weights, nothing for pix2pixHD's 6 channels). It
 * runs on the backends' convolution kernels, forward and back — tf.js's own
 * cpu average pooling takes ~400 ms forward and back on a 256x256x6 image,
 * and divides its gradient by kernel^2 where its forward divides by the
 * count.
 */
const windowSums = (x: tf.Tensor4D, kernel: number, stride: number, pad: number): tf.Tensor4D => {
  const c = x.shape[3];
  const filter = tf.tidy(() => tf.tile(tf.reshape(tf.eye(c), [1, 1, c, c]), [kernel, kernel, 1, 1]) as tf.Tensor4D);
  const sums = tf.conv2d(x, filter, stride, pad);
  filter.dispose();
  return sums;
};

/**
 * The mean over each kernel x kernel window of the input, padding excluded
 * (PyTorch's AvgPool2d(kernel, stride, pad, count_include_pad=False)):
 * nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False) is
 * `avgPool(3, 2)`. Output size floor((n + 2 pad - kernel) / stride) + 1.
 * Window sums (see windowSums) divided by the number of real pixels in each.
 */
export const avgPool = (kernel: number, stride = kernel, opts: PoolOptions = {}): Layer => {
  const { pad: p = Math.floor((kernel - 1) / 2) } = opts;
  for (const [what, v, min] of [['kernel', kernel, 1], ['stride', stride, 1], ['pad', p, 0]] as const)
    if (!Number.isInteger(v) || v < min) throw new RangeError(`avgPool ${what} must be an integer >= ${min}, got ${v}`);
  if (p >= kernel) throw new RangeError(`avgPool pad must be smaller than the kernel (${kernel}), got ${p}: a window could hold padding only`);
  const size = (n: number) => Math.floor((n + 2 * p - kernel) / stride) + 1;
  return leaf({
    name: `avgPool ${kernel}x${kernel}/${stride}`,
    geom: { kind: 'conv', kernel, stride, pad: p, dilation: 1 },
    output: ([h, w, c]) =>
      Math.min(h, w) + 2 * p < kernel
        ? E.left(`input ${h}x${w} is smaller than the window (${kernel}x${kernel} with padding ${p} needs at least ${kernel - 2 * p}x${kernel - 2 * p})`)
        : E.right([size(h), size(w), c] as const),
    apply: (_p, _s, x) => {
      const [, h, w] = x.shape;
      const sums = windowSums(x, kernel, stride, p);
      const rows = inside(h, size(h), kernel, stride, p);
      const cols = inside(w, size(w), kernel, stride, p);
      const scale = tf.tensor4d(rows.flatMap((r) => cols.map((c) => 1 / (r * c))), [1, rows.length, cols.length, 1]);
      return tf.mul(sums, scale) as tf.Tensor4D;
    },
  });
};
