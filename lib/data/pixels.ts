/**
 * Images as plain data (HWC, row-major) and the pure operations on them:
 * channel conversion, 8 bits <-> [-1, 1] floats, crops. No file I/O and no
 * decoder (lib/data/image.ts reads and writes files through sharp), so this
 * runs in a browser as well as in Node.
 */
export type Channels = 1 | 3;

/** An image as the library passes it around: HWC, row-major, values in [-1, 1]. */
export interface FloatImage {
  readonly height: number;
  readonly width: number;
  readonly channels: Channels;
  readonly data: Float32Array;
}

/** 8-bit pixels straight from the decoder (after alpha is dropped). */
export interface ByteImage {
  readonly height: number;
  readonly width: number;
  readonly channels: Channels;
  readonly data: Uint8Array;
}

/**
 * Convert channel count. RGB -> grey uses PIL's convert('L') integer
 * formula (ITU-R 601 luma, L = (19595 R + 38470 G + 7471 B + 2^15) >> 16),
 * so a grey input matches the reference bit for bit; grey -> RGB repeats it.
 */
export const toChannels = (img: ByteImage, channels: Channels): ByteImage => {
  if (img.channels === channels) return img;
  const n = img.height * img.width;
  const src = img.data;
  const out = new Uint8Array(n * channels);
  if (channels === 1) {
    for (let i = 0; i < n; i++) {
      out[i] = (19595 * src[3 * i]! + 38470 * src[3 * i + 1]! + 7471 * src[3 * i + 2]! + 0x8000) >>> 16;
    }
  } else {
    for (let i = 0; i < n; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = src[i]!;
  }
  return { height: img.height, width: img.width, channels, data: out };
};

/** b / 127.5 - 1 for each byte value b, rounded to float32 as a store of it would be. */
const BYTE_TO_FLOAT = Float32Array.from({ length: 256 }, (_, b) => b / 127.5 - 1);

export const bytesToFloat = (img: ByteImage): FloatImage => {
  const src = img.data;
  const n = src.length;
  const data = new Float32Array(n);
  const table = BYTE_TO_FLOAT; // a local and a hoisted bound: twice as fast a loop
  for (let i = 0; i < n; i++) data[i] = table[src[i]!]!;
  return { height: img.height, width: img.width, channels: img.channels, data };
};

/**
 * [-1, 1] -> 8 bits, rounding to nearest and clamping. (The reference
 * truncates; rounding makes a read -> write round trip exact.)
 */
export const floatToBytes = (img: FloatImage): ByteImage => {
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.round((img.data[i]! + 1) * 127.5);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v; // (NaN is stored as 0 by Uint8Array)
  }
  return { height: img.height, width: img.width, channels: img.channels, data };
};

/** A rectangular window of an HWC image (no copy checks beyond bounds). */
export const cropImage = <T extends FloatImage | ByteImage>(img: T, top: number, left: number, height: number, width: number): T => {
  if (top < 0 || left < 0 || height < 1 || width < 1 || top + height > img.height || left + width > img.width) {
    throw new RangeError(`crop ${height}x${width} at (${top}, ${left}) does not fit in a ${img.height}x${img.width} image`);
  }
  const c = img.channels;
  const Ctor = img.data.constructor as new (n: number) => T['data'];
  const out = new Ctor(height * width * c);
  const row = width * c;
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * c;
    out.set(img.data.subarray(from, from + row), y * row);
  }
  return { ...img, height, width, data: out };
};

/** The two halves of an aligned A|B image: [A = left, B = right]. */
export const splitHalves = <T extends FloatImage | ByteImage>(img: T): [T, T] => {
  if (img.width % 2 !== 0) throw new RangeError(`an aligned A|B image needs an even width, got ${img.width}`);
  const w = img.width / 2;
  return [cropImage(img, 0, 0, img.height, w), cropImage(img, 0, w, img.height, w)];
};
