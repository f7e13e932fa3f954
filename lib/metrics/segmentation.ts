/**
 * Segmentation scores from a confusion matrix, as the FCN evaluation
 * (Long, Shelhamer and Darrell, CVPR 2015) and the pix2pix paper's
 * FCN-score report them:
 *
 *  - per-pixel accuracy: correct pixels / all pixels;
 *  - per-class accuracy: for each class present in the ground truth,
 *    correct pixels of it / its pixels; the mean over those classes;
 *  - mean IoU: for each class present in the ground truth or the
 *    prediction, |pred ∩ truth| / |pred ∪ truth|; the mean over those.
 *
 * Over a data set the confusion matrices of the images are summed first
 * and the scores computed once from the sum (a data-set-level score, as
 * FCN's evaluation does), so large and small regions weigh by their pixels.
 */
import type { Palette } from './palette.ts';

/** counts[truth * classes + predicted] = pixels. */
export interface ConfusionMatrix {
  readonly classes: number;
  readonly counts: Float64Array;
}

export const emptyConfusion = (classes: number): ConfusionMatrix => ({ classes, counts: new Float64Array(classes * classes) });

/** Add the pixels of one (predicted, truth) label-map pair to `cm` (mutated) and return it. */
export const addToConfusion = (cm: ConfusionMatrix, predicted: ArrayLike<number>, truth: ArrayLike<number>): ConfusionMatrix => {
  if (predicted.length !== truth.length) throw new RangeError(`label maps differ in size: ${predicted.length} vs ${truth.length} pixels`);
  const k = cm.classes;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (!(t >= 0 && t < k && p >= 0 && p < k)) throw new RangeError(`label out of range at pixel ${i}: truth ${t}, predicted ${p} (${k} classes)`);
    cm.counts[t * k + p]! += 1;
  }
  return cm;
};

export const confusionMatrix = (predicted: ArrayLike<number>, truth: ArrayLike<number>, classes: number): ConfusionMatrix =>
  addToConfusion(emptyConfusion(classes), predicted, truth);

export interface ClassScore {
  readonly name: string;
  /** Pixels of this class in the ground truth. */
  readonly truthPixels: number;
  /** Pixels predicted as this class. */
  readonly predictedPixels: number;
  /** Correct / truth pixels; null when the class is absent from the ground truth. */
  readonly accuracy: number | null;
  /** Intersection over union; null when the class is absent from both. */
  readonly iou: number | null;
}

export interface SegmentationScores {
  readonly pixelAccuracy: number;
  /** Mean of the non-null per-class accuracies. */
  readonly meanClassAccuracy: number;
  /** Mean of the non-null per-class IoUs. */
  readonly meanIoU: number;
  readonly pixels: number;
  readonly perClass: readonly ClassScore[];
}

/** The scores of a confusion matrix; class names from `palette` (else "0", "1", ...). */
export const segmentationScores = (cm: ConfusionMatrix, palette?: Palette): SegmentationScores => {
  const k = cm.classes;
  let correct = 0;
  let pixels = 0;
  const perClass: ClassScore[] = [];
  for (let c = 0; c < k; c++) {
    let truthPixels = 0;
    let predictedPixels = 0;
    for (let j = 0; j < k; j++) {
      truthPixels += cm.counts[c * k + j]!;
      predictedPixels += cm.counts[j * k + c]!;
    }
    const tp = cm.counts[c * k + c]!;
    correct += tp;
    pixels += truthPixels;
    const union = truthPixels + predictedPixels - tp;
    perClass.push({
      name: palette?.classes[c]?.name ?? String(c),
      truthPixels,
      predictedPixels,
      accuracy: truthPixels > 0 ? tp / truthPixels : null,
      iou: union > 0 ? tp / union : null,
    });
  }
  const mean = (xs: (number | null)[]) => {
    const v = xs.filter((x): x is number => x !== null);
    return v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length;
  };
  return {
    pixelAccuracy: pixels > 0 ? correct / pixels : NaN,
    meanClassAccuracy: mean(perClass.map((c) => c.accuracy)),
    meanIoU: mean(perClass.map((c) => c.iou)),
    pixels,
    perClass,
  };
};

/** Scores of one predicted label map against the truth. */
export const scoreLabels = (predicted: ArrayLike<number>, truth: ArrayLike<number>, palette: Palette): SegmentationScores =>
  segmentationScores(confusionMatrix(predicted, truth, palette.classes.length), palette);
