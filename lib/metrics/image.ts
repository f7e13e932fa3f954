/**
 * The images the metrics take: the library's HWC data in [-1, 1], either as
 * plain arrays (a `FloatImage`, or anything of its shape) or as tensors.
 *
 * Metrics run on plain arrays in float64 loops: they are small next to a
 * generator pass, exact, and cannot leak tensors. Tensors are read once
 * (dataSync) and never disposed here: the caller owns them.
 */
import * as tf from '@tensorflow/tfjs';

/** HWC, row-major, values in [-1, 1]. `FloatImage` is one. */
export interface MetricImage {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: ArrayLike<number>;
}

/** What every metric accepts: plain HWC data, a [H, W, C] tensor, or a [1, H, W, C] tensor. */
export type ImageLike = MetricImage | tf.Tensor3D | tf.Tensor4D;

/** Plain HWC data for `img` (a tensor is read, not disposed). */
export const toMetricImage = (img: ImageLike): MetricImage => {
  if (!(img instanceof tf.Tensor)) {
    if (img.data.length !== img.height * img.width * img.channels) {
      throw new RangeError(`image data has ${img.data.length} values, expected ${img.height}x${img.width}x${img.channels}`);
    }
    return img;
  }
  const s = img.shape;
  const hwc = s.length === 4 ? (s[0] === 1 ? s.slice(1) : null) : s.length === 3 ? s : null;
  if (hwc === null) throw new RangeError(`metrics take [H, W, C] or [1, H, W, C] tensors, got [${s.join(', ')}]`);
  const [height, width, channels] = hwc as [number, number, number];
  return { height, width, channels, data: img.dataSync() as Float32Array };
};

const sizeText = (img: MetricImage): string => `${img.height}x${img.width}x${img.channels}`;

/** Both images as plain data, or a RangeError naming both shapes. */
export const samePair = (a: ImageLike, b: ImageLike): [MetricImage, MetricImage] => {
  const x = toMetricImage(a);
  const y = toMetricImage(b);
  if (x.height !== y.height || x.width !== y.width || x.channels !== y.channels) {
    throw new RangeError(`images differ in shape: ${sizeText(x)} vs ${sizeText(y)}`);
  }
  return [x, y];
};

/** [-1, 1] -> [0, 1], the range PSNR, SSIM and colour conversion are defined on. */
export const toUnit = (v: number): number => (v + 1) / 2;
