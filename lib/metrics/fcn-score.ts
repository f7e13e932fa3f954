/**
 * An FCN-score-style check that needs no download (the paper's FCN-score,
 * its Sec. 4.2, scores generated photos with an off-the-shelf semantic
 * segmenter: the more real they look, the better it recovers the labels
 * they were generated from).
 *
 * Here the segmenter is itself a pix2pix generator trained photo -> labels
 * (on facades: `pix2pix train --direction AtoB`; A is the photo), loaded
 * with `loadSegmenter(runDir)`. Its output is read as labels by the nearest
 * palette colour, and compared with the label map the photo was generated
 * from. Scoring the real photos the same way gives the upper reference the
 * paper's "ground truth" row plays. The score is only as good as the
 * segmenter: it measures agreement with that network, not with people.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { makeKey } from '../core/key.ts';
import type { Layer, Mode } from '../core/layer.ts';
import { formatShapeError } from '../core/shape.ts';
import { disposeTree, type Tree } from '../core/tree.ts';
import { toMetricImage, type ImageLike } from './image.ts';
import { nearestPaletteLabels, type Palette } from './palette.ts';
import { addToConfusion, emptyConfusion, segmentationScores, type SegmentationScores } from './segmentation.ts';

/** A photo -> label-map network and its weights (what `loadGenerator` returns has these). */
export interface Segmenter {
  readonly generator: Layer;
  readonly params: Tree;
  readonly state: Tree;
}


export interface SegmentOptions {
  /** Default 'paper' (dropout on, batch-1 statistics), the library's test-time default. */
  readonly mode?: Mode;
  /** The dropout noise. Default 0. */
  readonly seed?: number;
}

/** Segment one [-1, 1] RGB photo: the segmenter's output mapped to palette labels (H*W). */
export const segment = (seg: Segmenter, photo: ImageLike, palette: Palette, opts: SegmentOptions = {}): Uint8Array => {
  const m = toMetricImage(photo);
  const shape = seg.generator.shape([m.height, m.width, m.channels]);
  if (E.isLeft(shape)) throw new RangeError(`the segmenter does not take a ${m.height}x${m.width}x${m.channels} photo: ${formatShapeError(shape.left)}`);
  const [h, w, c] = shape.right;
  if (h !== m.height || w !== m.width || c !== 3) throw new RangeError(`the segmenter turns a ${m.height}x${m.width} photo into ${h}x${w}x${c}, not an RGB label map of its size`);
  const out = tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(m.data), [1, m.height, m.width, m.channels]);
    return seg.generator.apply(seg.params, seg.state, x, { mode: opts.mode ?? 'paper', key: makeKey(opts.seed ?? 0) })[0];
  });
  try {
    return nearestPaletteLabels(out, palette);
  } finally {
    out.dispose();
  }
};

/**
 * FCN-style scores of a set of photos: each is segmented (photo i with
 * seed + i) and compared with its label map (mapped to the palette too);
 * the confusion matrices are summed over the set.
 */
export const fcnScores = (
  seg: Segmenter,
  items: Iterable<{ readonly photo: ImageLike; readonly labels: ImageLike }>,
  palette: Palette,
  opts: SegmentOptions = {},
): SegmentationScores => {
  const cm = emptyConfusion(palette.classes.length);
  let i = 0;
  for (const { photo, labels } of items) {
    addToConfusion(cm, segment(seg, photo, palette, { ...opts, seed: (opts.seed ?? 0) + i }), nearestPaletteLabels(labels, palette));
    i++;
  }
  return segmentationScores(cm, palette);
};
