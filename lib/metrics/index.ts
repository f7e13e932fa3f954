/**
 * Image-quality, colour and segmentation metrics: pure computations on
 * images in memory (Node and browsers). Evaluating a run directory
 * (`evaluateRun`) and loading a segmenter from one are in pix2pix-ts/node.
 */
export { toMetricImage, toUnit, type ImageLike, type MetricImage } from './image.ts';
export { l1Error, l2Error, psnr, psnrFromMse } from './pixel.ts';
export { ssim, gaussianWindow, SSIM_DEFAULTS, type SsimOptions } from './ssim.ts';
export { imageScores, meanScores, type ImageScores } from './scores.ts';
export { srgbToLab, srgbToLinear, imageToLab, SRGB_TO_XYZ, D65_WHITE } from './lab.ts';
export {
  LAB_BINNING, LAB_CHANNELS, KL_EPSILON, emptyLabHistogram, addToLabHistogram, labHistogram, binOf, normalise, histogramIntersection, klDivergence,
  compareLabHistograms, type Bins, type LabBinning, type LabChannel, type LabHistogram, type HistogramComparison, type LabComparison,
} from './histogram.ts';
export { FACADES_PALETTE, PALETTES, nearestPaletteLabels, labelsToImage, type Palette, type PaletteClass } from './palette.ts';
export {
  emptyConfusion, addToConfusion, confusionMatrix, segmentationScores, scoreLabels, type ConfusionMatrix, type ClassScore, type SegmentationScores,
} from './segmentation.ts';
export { segment, fcnScores, type Segmenter, type SegmentOptions } from './fcn-score.ts';
