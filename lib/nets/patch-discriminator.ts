/**
 * The paper's discriminators, by patch size N (the receptive field):
 * - N = 1, the PixelGAN: 1x1 convs C64 - C128 + norm - C1.
 * - N = 9 * 2^k - 2 (16, 34, 70, 142, 286, ...): k stride-2 4x4 convs
 *   (C64, then C128, C256, C512, C512, ... with norm), one stride-1 4x4 conv
 *   with norm, and a stride-1 4x4 conv to one channel of logits.
 * 70 is the paper's default; 286 is the ImageGAN on 256x256 inputs.
 * A conditional D is applied to concat(x, y): 6 channels for RGB pairs.
 * The output of each block but the last conv is a `feature` (pix2pixHD's
 * getIntermFeat): k + 1 of them for a PatchGAN, 2 for the PixelGAN.
 */
import { feature, named, seq } from '../core/combinators.ts';
import type { Layer } from '../core/layer.ts';
import { withDefaults } from '../core/options.ts';
import { leakyRelu } from '../layers/activations.ts';
import { convBnRelu } from '../layers/blocks.ts';
import { conv } from '../layers/conv.ts';
import { norm, normHasShift, type NormKind } from '../layers/norm.ts';

export interface DiscriminatorOptions {
  /** Filters in the first layer; layer n has ndf * min(2^n, 8). */
  readonly ndf?: number;
  readonly norm?: NormKind;
  readonly trackRunningStats?: boolean;
}

/** The valid patch sizes up to `limit`: 1, then 9 * 2^k - 2 for k >= 1. */
export const validPatchSizes = (limit = 5000): number[] => {
  const sizes = [1];
  for (let k = 1; 9 * 2 ** k - 2 <= limit; k++) sizes.push(9 * 2 ** k - 2);
  return sizes;
};

/** The number k of stride-2 layers for patch size N, or undefined if N is not 9 * 2^k - 2. */
export const stridedLayersFor = (patch: number): number | undefined => {
  const k = Math.log2((patch + 2) / 9);
  return Number.isInteger(k) && k >= 1 ? k : undefined;
};

export const patchDiscriminator = (patch = 70, options: DiscriminatorOptions = {}): Layer => {
  const { ndf, norm: kind, trackRunningStats } = withDefaults<Required<DiscriminatorOptions>>({ ndf: 64, norm: 'batch', trackRunningStats: false }, options);
  const normOpts = { trackRunningStats: trackRunningStats && kind === 'batch' };
  const bias = !normHasShift(kind);
  const lrelu = () => leakyRelu(0.2);

  if (patch === 1) {
    return named(
      'pixelGAN',
      seq(conv(ndf, 1), feature(lrelu()), conv(2 * ndf, 1, { bias }), norm(kind, normOpts), feature(lrelu()), conv(1, 1, { bias })),
    );
  }
  const k = stridedLayersFor(patch);
  if (k === undefined) {
    throw new RangeError(
      `patchDiscriminator: no discriminator has a ${patch}x${patch} receptive field; valid patch sizes are ` +
        `${validPatchSizes(1200).join(', ')}, ... (1, or 9 * 2^k - 2 for k >= 1)`,
    );
  }
  const width = (n: number) => ndf * Math.min(2 ** n, 8);
  const block = (n: number, stride: number) =>
    feature(convBnRelu(width(n), { stride, norm: kind, trackRunningStats: normOpts.trackRunningStats, activation: lrelu() }));
  return named(
    `patchGAN ${patch}x${patch}`,
    seq(
      conv(ndf, 4, { stride: 2 }),
      feature(lrelu()),
      ...Array.from({ length: k - 1 }, (_, i) => block(i + 1, 2)),
      block(k, 1),
      conv(1, 4, { stride: 1 }),
    ),
  );
};
