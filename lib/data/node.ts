/** Data from files (Node): image files through sharp, folders of pairs, dataset downloads. */
export { DataError, IMAGE_EXTENSIONS, isImageFile, readHeader, readBytes, readImage, writeImage, WRITABLE_EXTENSIONS, type ImageHeader } from './image.ts';
export { naturalCompare } from './files.ts';
export { openDataset, DatasetError } from './dataset.ts';
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
