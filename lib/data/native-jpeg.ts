/**
 * The native accelerator's JPEG decoder (src/jpeg.cc) as readBytes's: the
 * system's libjpeg-turbo on the calling thread, the bytes sharp gives (its
 * decoder is libjpeg-turbo too; the 444 facades JPEGs compare equal), 0.6 ms
 * a 256x512 facade against sharp's 2.4 (its pipeline and thread hand-offs).
 * It declines what sharp might decode otherwise (an ICC profile,
 * greyscale, CMYK, a warning or an error), and sharp decodes those. Node only; where the
 * accelerator is built without libjpeg-turbo's headers, or not at all,
 * sharp decodes every file.
 */
import { loadNative } from '../backend/native/index.ts';
import { setJpegDecoder, type JpegDecoder } from './image.ts';

/** Installs the native JPEG decoder on this thread where it is built; whether it did. */
export const useNativeJpeg = (): boolean => {
  const loaded = loadNative();
  const decoder = 'addon' in loaded ? (loaded.addon.elementwise['decodeJpeg'] as JpegDecoder | undefined) : undefined;
  if (decoder === undefined) return false;
  setJpegDecoder(decoder);
  return true;
};
