/**
 * Image IO: files <-> HWC Float32Arrays in [-1, 1].
 *
 * Pixel values follow the reference implementation (ToTensor then
 * Normalize(0.5, 0.5)): v = u8 / 127.5 - 1. Decoding is sharp's (or, for
 * JPEGs, a decoder giving sharp's bytes: setJpegDecoder); channel
 * conversion is done here so that it is exactly the reference's PIL one.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import sharp from 'sharp';
import type * as tf from '@tensorflow/tfjs'; // types only: the data worker imports this module, and tf.js takes ~0.5 s to load
import { writeFileAtomic } from '../io/file.ts';
import { bytesToFloat, floatToBytes, toChannels, type ByteImage, type Channels, type FloatImage } from './pixels.ts';

export * from './pixels.ts';

/** A file that cannot be used. `path` names it; the message says why. */
export class DataError extends Error {
  constructor(
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DataError';
  }
}

/** Extensions looked at when listing a folder (what sharp's prebuilt libvips decodes). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif'];

export const isImageFile = (name: string): boolean =>
  !name.startsWith('.') && IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());

const causeOf = (e: unknown): string => {
  const m = e instanceof Error ? e.message : String(e);
  // sharp's own wording for these is either vague or repeats the path.
  if (/Input file is missing/i.test(m)) return 'no such file';
  if (/unsupported image format/i.test(m)) return 'not an image sharp can decode (corrupt or unsupported format)';
  // libvips' error text can come back empty when several decodes fail at once.
  if (/^unknown error$/i.test(m.trim())) return 'its pixel data is corrupt or cut short (the decoder gave no reason)';
  return m;
};

/** Size and channel count from the file header only (cheap: no pixel decode). */
export interface ImageHeader {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly format: string;
}

export const readHeader = async (path: string): Promise<ImageHeader> => {
  let meta: sharp.Metadata;
  try {
    meta = await sharp(path).metadata();
  } catch (e) {
    throw new DataError(path, `${path}: cannot read image header: ${causeOf(e)}`, { cause: e });
  }
  const { width, height } = meta;
  if (!width || !height) throw new DataError(path, `${path}: image header has no size`);
  return { width, height, channels: meta.channels ?? 3, format: meta.format ?? 'unknown' };
};

/**
 * Decodes a JPEG file's bytes to what sharp gives for them, or undefined
 * where it cannot promise that (sharp decodes those). The native
 * accelerator's (lib/data/native.ts) is libjpeg-turbo on the calling
 * thread: 0.6 ms a facade where sharp takes 2.4.
 */
export type JpegDecoder = (bytes: Uint8Array) => ByteImage | undefined;

let jpegDecoder: JpegDecoder | undefined;

/** Installs (or, with undefined, removes) the JPEG decoder readBytes tries first on this thread; returns the previous one. */
export const setJpegDecoder = (decoder: JpegDecoder | undefined): JpegDecoder | undefined => {
  const previous = jpegDecoder;
  jpegDecoder = decoder;
  return previous;
};

const JPEG = /\.jpe?g$/i;

/**
 * Decode a whole file to 8-bit pixels, 1 or 3 channels as stored (sharp
 * normally gives sRGB). `failOn: 'error'` makes truncated files fail instead
 * of decoding to grey padding, as PIL does by default.
 */
export const readBytes = async (path: string): Promise<ByteImage> => {
  if (jpegDecoder && JPEG.test(path)) {
    // Any file the decoder declines (or cannot read) goes to sharp, whose errors name the problem.
    const file = await readFile(path).catch(() => undefined);
    const img = file && jpegDecoder(new Uint8Array(file.buffer, file.byteOffset, file.length));
    if (img) return img;
  }
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await sharp(path, { failOn: 'error' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new DataError(path, `${path}: cannot decode image: ${causeOf(e)}`, { cause: e });
  }
  const { width, height, channels } = out.info;
  const data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length);
  if (channels === 1 || channels === 3) return { width, height, channels, data };
  // Defensive: anything else (should not survive removeAlpha) keeps its first 3 bands.
  const n = width * height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = data[i * channels + Math.min(c, channels - 1)]!;
  return { width, height, channels: 3, data: rgb };
};

/** Read any image sharp decodes as HWC floats in [-1, 1] with the given channel count. */
export const readImage = async (path: string, channels: Channels = 3): Promise<FloatImage> => {
  if (channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${String(channels)}`);
  return bytesToFloat(toChannels(await readBytes(path), channels));
};

type Writable = FloatImage | tf.Tensor3D | tf.Tensor4D;

/** The extensions `writeImage` writes (the format follows the extension). */
export const WRITABLE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp'];

/** The image's pixels; a tensor's are read with `await data()` (webgpu in Node cannot read synchronously). */
const asFloatImage = async (img: Writable): Promise<FloatImage> => {
  if (typeof (img as { data: unknown }).data !== 'function') return img as FloatImage;
  img = img as tf.Tensor3D | tf.Tensor4D;
  const shape = img.shape;
  const hwc = shape.length === 4 ? (shape[0] === 1 ? shape.slice(1) : null) : shape;
  if (hwc === null) throw new RangeError(`writeImage takes a batch of 1, got a tensor of shape [${shape.join(', ')}]`);
  const [height, width, channels] = hwc as [number, number, number];
  if (channels !== 1 && channels !== 3) throw new RangeError(`writeImage needs 1 or 3 channels, got ${channels}`);
  return { height, width, channels, data: (await img.data()) as Float32Array };
};

/**
 * Write a [-1, 1] image (HWC data, or a tensor [H, W, C] / [1, H, W, C],
 * which is read but not disposed) as .png, .jpg/.jpeg (quality 95) or .webp,
 * chosen by extension. Parent folders are created. The file is replaced
 * atomically (a temporary twin, then a rename), so a crash never leaves half
 * an image; a file system that fails is a WriteError naming the file.
 */
export const writeImage = async (path: string, img: Writable): Promise<void> => {
  const ext = extname(path).toLowerCase();
  const bytes = floatToBytes(await asFloatImage(img));
  let s = sharp(bytes.data, { raw: { width: bytes.width, height: bytes.height, channels: bytes.channels } });
  // Without this sharp widens one band to sRGB on output.
  if (bytes.channels === 1) s = s.toColourspace('b-w');
  if (!WRITABLE_EXTENSIONS.includes(ext)) throw new DataError(path, `${path}: cannot write images with extension "${ext}" (use .png, .jpg or .webp)`);
  if (ext === '.png') s = s.png();
  else if (ext === '.webp') s = s.webp({ lossless: true });
  else s = s.jpeg({ quality: 95 });
  await writeFileAtomic(path, await s.toBuffer());
};
