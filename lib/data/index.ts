/**
 * Data in memory: images as plain arrays, pair augmentation and batch
 * streams over any Dataset (Node and browsers). Files, folders of pairs and
 * downloads are in ./node.ts (pix2pix-ts/node).
 */
export { toChannels, bytesToFloat, floatToBytes, cropImage, splitHalves, type ByteImage, type Channels, type FloatImage } from './pixels.ts';
export { memoryDataset, pairOf, alignedPair, type PairOptions } from './memory.ts';
export type { Dataset, DatasetOptions, Direction, Example, Layout, Pair, Skipped, WarmAhead } from './dataset.ts';
export {
  augmentParams,
  applyAugment,
  preprocessPair,
  resizeImage,
  flipImage,
  outputSize,
  type AugmentParams,
  type PreprocessMode,
  type PreprocessOptions,
} from './preprocess.ts';
export { batches, batchesPerEpoch, resumeAfter, epochOrder, augmentKey, type Batch, type StreamOptions } from './stream.ts';
export { cannyEdges, sobel, intensity, type CannyOptions } from './edges.ts';
