/**
 * pix2pixHD's multi-scale discriminator (Wang et al. 2018): the same
 * architecture applied to the input and to copies average-pooled 1 ..
 * scales-1 times (3x3, stride 2, pad 1, padding not counted), each with its
 * own weights. It is a list of layers, one per scale, each taking the
 * full-size input; scale 1 is `d` itself, so one scale is the paper's D.
 * Each scale's receptive field, in input pixels, comes from its geometry.
 */
import { named, seq } from '../core/combinators.ts';
import type { Layer } from '../core/layer.ts';
import { avgPool } from '../layers/pool.ts';

export type Discriminators = readonly Layer[];

export const multiscaleDiscriminator = (scales: number, d: Layer): Discriminators => {
  if (!Number.isInteger(scales) || scales < 1) throw new RangeError(`multiscaleDiscriminator: scales must be an integer >= 1, got ${scales}`);
  return Array.from({ length: scales }, (_, i) =>
    i === 0 ? d : named(`scale ${i + 1}`, seq(...Array.from({ length: i }, () => avgPool(3, 2)), d)),
  );
};
