/** Data: image IO, paired datasets, augmentation, batch streams, dataset download. */
export {
  DataError,
  IMAGE_EXTENSIONS,
  isImageFile,
  readHeader,
  readBytes,
  readImage,
  writeImage,
  toChannels,
  bytesToFloat,
  floatToBytes,
  cropImage,
  splitHalves,
  type ByteImage,
  type Channels,
  type FloatImage,
  type ImageHeader,
} from './image.ts';
export { naturalCompare } from './files.ts';
export {
  openDataset,
  DatasetError,
  type Dataset,
  type DatasetOptions,
  type Direction,
  type Example,
  type Layout,
  type Pair,
  type Skipped,
} from './dataset.ts';
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
export {
  batches,
  batchesPerEpoch,
  resumeAfter,
  epochOrder,
  augmentKey,
  type Batch,
  type StreamOptions,
} from './stream.ts';
export {
  downloadDataset,
  DownloadError,
  KNOWN_DATASETS,
  DEFAULT_BASE_URL,
  type DownloadOptions,
  type DownloadProgress,
  type DownloadResult,
  type KnownDataset,
} from './download.ts';
export { cannyEdges, sobel, intensity, type CannyOptions } from './edges.ts';
