/**
 * The native accelerator's data-pipeline functions, each installed in its
 * slot on the calling thread (the data worker installs both). Node only;
 * where the accelerator is not built (or PIX2PIX_NATIVE=0) the slots keep
 * the JavaScript resize and sharp.
 *
 * - The bicubic resize (src/resize.cc) as resizeImage's kernel: the same
 *   arithmetic in the same order, so the same bits, 4-5x faster than the
 *   JavaScript loops (256 -> 72: 0.39 ms against 1.51); it also reads
 *   decoded bytes as their floats (0.36 ms, where converting them first
 *   took another 0.6-0.9).
 * - The JPEG decoder (src/jpeg.cc) as readBytes's: the system's
 *   libjpeg-turbo on the calling thread, the bytes sharp gives (its decoder
 *   is libjpeg-turbo too; the 444 facades JPEGs compare equal), 0.6 ms a
 *   256x512 facade against sharp's 2.4 (its pipeline and thread
 *   hand-offs). It declines what sharp might decode otherwise (an ICC
 *   profile, greyscale, CMYK, more pixels than sharp takes, a warning or
 *   an error), and sharp decodes (or refuses) those. Built only where
 *   libjpeg-turbo's headers were at install.
 */
import { loadNative } from '../backend/native/index.ts';
import { setJpegDecoder, type JpegDecoder } from './image.ts';
import { setResizeKernel, type ResizeKernel } from './preprocess.ts';

/** Puts the addon's function `name` in its slot where the accelerator has it; whether it did. */
const install = <F>(name: string, set: (f: F) => unknown): boolean => {
  const loaded = loadNative();
  const f = 'addon' in loaded ? (loaded.addon.elementwise[name] as F | undefined) : undefined;
  if (f === undefined) return false;
  set(f);
  return true;
};

/** Installs the native resize (of floats, and of bytes for resizeBytePair) on this thread where it is built; whether it did. */
export const useNativeResize = (): boolean => install<ResizeKernel>('resizeBicubic', setResizeKernel);

/** Installs the native JPEG decoder on this thread where it is built; whether it did. */
export const useNativeJpeg = (): boolean => install<JpegDecoder>('decodeJpeg', setJpegDecoder);
