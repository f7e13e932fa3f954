// The native JPEG decoder (src/jpeg.cc, lib/data/native.ts) against
// sharp, the decoder it stands in for: the same bytes for every JPEG it
// takes, and sharp's own decode (and errors) for every file it declines.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNative } from '../lib/backend/native/index.ts';
import { readBytes, setJpegDecoder, type JpegDecoder } from '../lib/data/image.ts';
import { useNativeJpeg } from '../lib/data/native.ts';
import type { ByteImage } from '../lib/data/pixels.ts';
import { skipNative } from './helpers/native.ts';

const FIX = resolve(import.meta.dirname, 'fixtures');
const MINI = resolve(import.meta.dirname, '..', 'examples', 'data', 'facades-mini', 'train');

const bySharp = async (file: Buffer): Promise<ByteImage> => {
  const { data, info } = await sharp(file, { failOn: 'error' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels as 1 | 3, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
};
const sameImage = (a: ByteImage, b: ByteImage) =>
  a.width === b.width && a.height === b.height && a.channels === b.channels && Buffer.from(a.data.buffer, a.data.byteOffset, a.data.length).equals(Buffer.from(b.data.buffer, b.data.byteOffset, b.data.length));

describe.skipIf(skipNative)('the native JPEG decoder', () => {
  const loaded = loadNative();
  const decode = ('addon' in loaded ? loaded.addon.elementwise['decodeJpeg'] : undefined) as JpegDecoder | undefined;
  const bytesOf = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.length);
  let tmp = '';
  beforeAll(async () => void (tmp = await mkdtemp(join(tmpdir(), 'jpeg-'))));
  afterAll(async () => {
    setJpegDecoder(undefined);
    await rm(tmp, { recursive: true, force: true });
  });

  it('is built (libjpeg62-turbo-dev is installed where the accelerator is)', () => {
    expect(typeof decode).toBe('function');
    expect(useNativeJpeg()).toBe(true);
    setJpegDecoder(undefined);
  });

  it("gives sharp's bytes for every JPEG of the fixtures and the bundled facades, and for a 4:4:4 and a progressive one", async () => {
    const files: Buffer[] = [];
    for (const dir of [join(FIX, 'facades', 'train'), join(FIX, 'facades', 'val'), MINI])
      for (const f of (await readdir(dir)).filter((n) => /\.jpe?g$/i.test(n))) files.push(await readFile(join(dir, f)));
    const photo = files[0]!;
    files.push(await sharp(photo).jpeg({ quality: 97, chromaSubsampling: '4:4:4' }).toBuffer());
    files.push(await sharp(photo).jpeg({ quality: 80, progressive: true }).toBuffer());
    expect(files.length).toBeGreaterThan(40);
    for (const [i, f] of files.entries()) {
      const got = decode!(bytesOf(f));
      expect(got, `file ${i}`).toBeDefined();
      expect(sameImage(got!, await bySharp(f)), `file ${i}`).toBe(true);
    }
  });

  it('declines what sharp must decode itself: not a JPEG, a truncated file, an ICC profile, greyscale (sharp makes it sRGB), CMYK, more pixels than sharp takes', async () => {
    const photo = await readFile(join(FIX, 'facades', 'train', '1.jpg'));
    expect(decode!(bytesOf(await sharp(photo).png().toBuffer()))).toBeUndefined();
    expect(decode!(bytesOf(await readFile(join(FIX, 'corrupt', 'train', '2.jpg'))))).toBeUndefined(); // truncated
    expect(decode!(bytesOf(await readFile(join(FIX, 'corrupt', 'train', '3.jpg'))))).toBeUndefined(); // 19 bytes
    expect(decode!(bytesOf(photo.subarray(0, 2000)))).toBeUndefined();
    const icc = await sharp(photo).withIccProfile('p3').jpeg().toBuffer();
    expect(decode!(bytesOf(await sharp(photo).jpeg().toBuffer()))).toBeDefined(); // the same file without the profile is taken
    expect(decode!(bytesOf(icc))).toBeUndefined();
    expect(decode!(bytesOf(await sharp(photo).toColourspace('b-w').jpeg().toBuffer()))).toBeUndefined();
    expect(decode!(bytesOf(await sharp(photo).toColourspace('cmyk').jpeg().toBuffer()))).toBeUndefined();
    // A valid 16400x16400 JPEG, over sharp's limitInputPixels (0x3FFF^2), which sharp refuses: declined.
    const huge = await sharp({ create: { width: 16400, height: 16400, channels: 3, background: '#204080' }, limitInputPixels: false }).jpeg({ quality: 50 }).toBuffer();
    await expect(sharp(huge, { failOn: 'error' }).raw().toBuffer()).rejects.toThrow(/pixel limit/i);
    expect(decode!(bytesOf(huge))).toBeUndefined();
    expect(() => decode!(new Float32Array(4) as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });

  it('readBytes with it installed: the same images as sharp alone, and the same errors naming the file', async () => {
    const files = [join(FIX, 'facades', 'train', '1.jpg'), join(FIX, 'facades', 'val', (await readdir(join(FIX, 'facades', 'val')))[0]!)];
    const icc = join(tmp, 'icc.jpg');
    await writeFile(icc, await sharp(await readFile(files[0]!)).withIccProfile('p3').jpeg().toBuffer());
    files.push(icc);
    const bad = [join(FIX, 'corrupt', 'train', '2.jpg'), join(FIX, 'corrupt', 'train', '3.jpg'), join(tmp, 'missing.jpg')];
    // One at a time: libvips keeps one error buffer, and failures that overlap can read each other's
    // text or none ("unknown error"), which would make the comparison depend on timing, not on the decoder.
    const errorsOf = async (paths: string[]) => {
      const out: string[] = [];
      for (const f of paths) out.push(await readBytes(f).then(() => 'decoded', (e: Error) => `${e.name}: ${e.message}`));
      return out;
    };
    const read = async () => ({
      images: await Promise.all(files.map(readBytes)),
      errors: await errorsOf(bad),
    });
    setJpegDecoder(undefined);
    const want = await read();
    expect(useNativeJpeg()).toBe(true);
    let calls = 0;
    const counted = setJpegDecoder(undefined)!;
    setJpegDecoder((b) => (calls++, counted(b)));
    const got = await read();
    setJpegDecoder(undefined);
    expect(calls).toBe(files.length + 2); // every JPEG that exists went to it first
    got.images.forEach((img, i) => expect(sameImage(img, want.images[i]!), files[i]).toBe(true));
    expect(got.errors).toEqual(want.errors);
    expect(got.errors.every((e) => e.startsWith('DataError'))).toBe(true);
  });
});
