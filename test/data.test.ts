// Image IO, datasets on disk and paired augmentation (lib/data).
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeKey } from '../lib/core/key.ts';
import { resizeOracle } from './helpers/resize-oracle.ts';
import { skipNative } from './helpers/native.ts';
import { useNativeResize } from '../lib/data/native.ts';
import { resizeBytePair, resizePair, setResizeKernel } from '../lib/data/preprocess.ts';
import { exampleBytes } from '../lib/data/example-loader.ts';
import { floatPair } from '../lib/data/memory.ts';
import { bytesToFloat, type ByteImage } from '../lib/data/pixels.ts';
import { loadNative } from '../lib/backend/native/index.ts';
import {
  DataError,
  DatasetError,
  applyAugment,
  augmentParams,
  cropImage,
  flipImage,
  naturalCompare,
  openDataset,
  outputSize,
  preprocessPair,
  readImage,
  resizeImage,
  splitHalves,
  writeImage,
  type FloatImage,
  type Pair,
  type PreprocessMode,
} from '../lib/node.ts';

const FIX = resolve(import.meta.dirname, 'fixtures');
const FACADES = join(FIX, 'facades');
const CORRUPT = join(FIX, 'corrupt', 'train');

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'pix2pix-data-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});
let n = 0;
const freshDir = async (): Promise<string> => {
  const d = join(tmp, `d${n++}`);
  await mkdir(d, { recursive: true });
  return d;
};

/** What the call rejected with (fails the test if it resolved). */
const rejection = async (p: Promise<unknown>): Promise<Error> => {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
};

const rawHalf = async (file: string, side: 0 | 1): Promise<Uint8Array> => {
  const m = await sharp(file).metadata();
  const w = m.width! / 2;
  return new Uint8Array(await sharp(file).extract({ left: side * w, top: 0, width: w, height: m.height! }).raw().toBuffer());
};

const toFloat = (u: Uint8Array): Float32Array => Float32Array.from(u, (v) => v / 127.5 - 1);

describe('image IO', () => {
  it('reads a fixture as HWC floats in [-1, 1], with 3 or 1 channels', async () => {
    const rgb = await readImage(join(FACADES, 'train', '1.jpg'), 3);
    expect([rgb.height, rgb.width, rgb.channels]).toEqual([64, 128, 3]);
    expect(rgb.data.length).toBe(64 * 128 * 3);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of rgb.data) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(1); // a real picture, not a constant

    const grey = await readImage(join(FACADES, 'train', '1.jpg'), 1);
    expect([grey.height, grey.width, grey.channels, grey.data.length]).toEqual([64, 128, 1, 64 * 128]);
    // PIL's convert('L'): (19595 R + 38470 G + 7471 B + 2^15) >> 16, on the 8-bit values.
    for (const i of [0, 100, 4000, 8191]) {
      const [r, g, b] = [0, 1, 2].map((c) => Math.round((rgb.data[3 * i + c]! + 1) * 127.5));
      const l = (19595 * r! + 38470 * g! + 7471 * b! + 0x8000) >>> 16;
      expect(grey.data[i]).toBe(Math.fround(l / 127.5 - 1));
    }
  });

  it('values are exactly u8 / 127.5 - 1', async () => {
    const file = join(FACADES, 'train', '2.jpg');
    const raw = new Uint8Array(await sharp(file).raw().toBuffer());
    expect((await readImage(file)).data).toEqual(toFloat(raw));
  });

  it('a grey file read as RGB repeats the grey value', async () => {
    const d = await freshDir();
    const grey: FloatImage = { height: 4, width: 5, channels: 1, data: Float32Array.from({ length: 20 }, (_, i) => i * 12 / 127.5 - 1) };
    await writeImage(join(d, 'g.png'), grey);
    expect((await sharp(join(d, 'g.png')).metadata()).channels).toBe(1);
    const back = await readImage(join(d, 'g.png'), 3);
    for (let i = 0; i < 20; i++) for (let c = 0; c < 3; c++) expect(back.data[3 * i + c]).toBe(grey.data[i]);
    expect((await readImage(join(d, 'g.png'), 1)).data).toEqual(grey.data);
  });

  it('drops alpha', async () => {
    const d = await freshDir();
    const rgba = Buffer.from([10, 20, 30, 0, 40, 50, 60, 255]);
    await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(join(d, 'a.png'));
    const img = await readImage(join(d, 'a.png'), 3);
    expect(img.channels).toBe(3);
    expect(Array.from(img.data, (v) => Math.round((v + 1) * 127.5))).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it('a truncated, a non-image and a missing file are DataErrors naming the file', async () => {
    for (const [file, cause] of [
      [join(CORRUPT, '2.jpg'), /premature end/i],
      [join(CORRUPT, '3.jpg'), /not an image|unsupported/i],
      [join(CORRUPT, 'nope.jpg'), /no such file/],
    ] as const) {
      const e = await rejection(readImage(file));
      expect(e).toBeInstanceOf(DataError);
      expect((e as DataError).path).toBe(file);
      expect(e.message).toContain(file);
      expect(e.message).toMatch(cause);
    }
  });

  it('write -> read round-trips PNG exactly, from arrays and from tensors', async () => {
    const d = await freshDir();
    const data = Float32Array.from({ length: 6 * 7 * 3 }, (_, i) => ((i * 37) % 256) / 127.5 - 1);
    const img: FloatImage = { height: 6, width: 7, channels: 3, data };
    await writeImage(join(d, 'a.png'), img);
    expect((await readImage(join(d, 'a.png'))).data).toEqual(data);

    const t = tf.tensor4d(data, [1, 6, 7, 3]);
    await writeImage(join(d, 'sub', 'b.png'), t);
    expect(t.isDisposed).toBe(false); // the caller still owns it
    t.dispose();
    expect((await readImage(join(d, 'sub', 'b.png'))).data).toEqual(data);

    await writeImage(join(d, 'c.jpg'), img);
    expect((await sharp(join(d, 'c.jpg')).metadata()).format).toBe('jpeg');
    const e = await rejection(writeImage(join(d, 'c.bmp'), img));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain('c.bmp');
    const t2 = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
    await expect(writeImage(join(d, 'x.png'), t2)).rejects.toThrow(/batch of 1/);
    t2.dispose();
  });

  it('splitting an aligned image equals reading its halves on their own', async () => {
    const file = join(FACADES, 'train', '3.jpg');
    const [a, b] = splitHalves(await readImage(file));
    expect([a.height, a.width]).toEqual([64, 64]);
    expect(a.data).toEqual(toFloat(await rawHalf(file, 0)));
    expect(b.data).toEqual(toFloat(await rawHalf(file, 1)));
  });
});

describe('natural order', () => {
  it('compares digit runs as numbers', () => {
    const names = ['10.jpg', '2.jpg', '1.jpg', 'b2.png', 'b10.png', 'a.jpg', '100.jpg', '20.jpg'];
    expect([...names].sort(naturalCompare)).toEqual(['1.jpg', '2.jpg', '10.jpg', '20.jpg', '100.jpg', 'a.jpg', 'b2.png', 'b10.png']);
  });

  it('lists files naturally', async () => {
    const d = await freshDir();
    for (const i of [10, 2, 1, 33, 3]) await copyFile(join(FACADES, 'train', '1.jpg'), join(d, `${i}.jpg`));
    await writeFile(join(d, 'notes.txt'), 'not an image');
    const ds = await openDataset({ root: d });
    expect(ds.examples.map((e) => e.name)).toEqual(['1', '2', '3', '10', '33']);
  });
});

describe('datasets', () => {
  it('opens the aligned fixture: train and val, sorted, half sizes', async () => {
    const train = await openDataset({ root: FACADES, split: 'train' });
    expect(train.size).toBe(4);
    expect(train.examples.map((e) => e.name)).toEqual(['1', '2', '3', '4']);
    expect(train.examples.every((e) => e.height === 64 && e.width === 64)).toBe(true);
    expect(train.skipped).toEqual([]);
    const val = await openDataset({ root: FACADES, split: 'val' });
    expect(val.examples.map((e) => e.name)).toEqual(['5', '6']);
    // split unset -> ROOT/train
    expect((await openDataset({ root: FACADES })).dir).toBe(join(FACADES, 'train'));
    // ROOT may be a folder of images itself.
    expect((await openDataset({ root: join(FACADES, 'val') })).size).toBe(2);
    expect((await openDataset({ root: join(FACADES, 'val'), split: '.' })).size).toBe(2);
  });

  it('AtoB takes x from the left half; BtoA swaps x and y; channels are converted', async () => {
    const file = join(FACADES, 'train', '1.jpg');
    const ab = await (await openDataset({ root: FACADES, direction: 'AtoB' })).load(0);
    const ba = await (await openDataset({ root: FACADES, direction: 'BtoA' })).load(0);
    expect(ab.x).toEqual(toFloat(await rawHalf(file, 0)));
    expect(ab.y).toEqual(toFloat(await rawHalf(file, 1)));
    expect(ba.x).toEqual(ab.y);
    expect(ba.y).toEqual(ab.x);
    expect([ab.name, ab.height, ab.width, ab.xChannels, ab.yChannels]).toEqual(['1', 64, 64, 3, 3]);

    const g = await (await openDataset({ root: FACADES, direction: 'BtoA', inputChannels: 1 })).load(0);
    expect([g.xChannels, g.x.length, g.yChannels, g.y.length]).toEqual([1, 64 * 64, 3, 64 * 64 * 3]);
    expect(g.y).toEqual(ab.x);
  });

  it('the separate layout gives the same pairs as the aligned one', async () => {
    const root = await freshDir();
    for (const i of [1, 2, 3, 4]) {
      const file = join(FACADES, 'train', `${i}.jpg`);
      for (const [side, folder] of [[0, 'A'], [1, 'B']] as const) {
        await mkdir(join(root, 'train', folder), { recursive: true });
        await sharp(await rawHalf(file, side), { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(join(root, 'train', folder, `${i}.png`));
      }
    }
    const aligned = await openDataset({ root: FACADES, direction: 'BtoA' });
    const separate = await openDataset({ root, layout: 'separate', direction: 'BtoA' });
    expect(separate.examples.map((e) => e.name)).toEqual(aligned.examples.map((e) => e.name));
    for (let i = 0; i < 4; i++) {
      const [p, q] = await Promise.all([aligned.load(i), separate.load(i)]);
      expect(q.x).toEqual(p.x);
      expect(q.y).toEqual(p.y);
    }
  });

  it('pairs separate files by name without extension', async () => {
    const ds = await openDataset({ root: join(FIX, 'facades-separate'), layout: 'separate' });
    expect(ds.examples.map((e) => e.name)).toEqual(['1', '2', '3']);
    const ex = ds.examples[1]!;
    expect(ex.layout === 'separate' && [ex.a.endsWith('A/2.jpg'), ex.b.endsWith('B/2.png')]).toEqual([true, true]);
    const p = await ds.load(1);
    expect([p.height, p.width, p.x.length]).toEqual([64, 64, 64 * 64 * 3]);
  });

  it('range takes a fixed slice of the sorted files', async () => {
    const names = async (range: readonly [number, number?]): Promise<string[]> =>
      (await openDataset({ root: FACADES, range })).examples.map((e) => e.name);
    expect(await names([-1])).toEqual(['4']);
    expect(await names([0, -1])).toEqual(['1', '2', '3']);
    expect(await names([1, 3])).toEqual(['2', '3']);
    await expect(openDataset({ root: FACADES, range: [4] })).rejects.toThrow(/selects no files out of the 4/);
  });
});

describe('dataset errors', () => {
  it('a missing root is named', async () => {
    const root = join(tmp, 'does-not-exist');
    const e = await rejection(openDataset({ root }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain(root);
  });

  it('a missing split names the folder and lists the splits that exist', async () => {
    const e = await rejection(openDataset({ root: FACADES, split: 'test' }));
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).path).toBe(join(FACADES, 'test'));
    expect(e.message).toContain(join(FACADES, 'test'));
    expect(e.message).toMatch(/splits that exist are: train, val/);
    // A folder of images asked for a split says how to use it directly.
    await expect(openDataset({ root: join(FACADES, 'val'), split: 'train' })).rejects.toThrow(/split '\.'/);
  });

  it('an empty folder is an error naming it', async () => {
    const root = await freshDir();
    await mkdir(join(root, 'train'));
    await writeFile(join(root, 'train', 'README.md'), 'no images here');
    const e = await rejection(openDataset({ root }));
    expect(e.message).toContain(join(root, 'train'));
    expect(e.message).toMatch(/no images/);
  });

  it('a separate-layout folder opened as aligned says which layout to use', async () => {
    await expect(openDataset({ root: join(FIX, 'facades-separate') })).rejects.toThrow(/no images in .*facades-separate\/train.*use layout 'separate'/);
  });

  it('an aligned image with an odd width is named', async () => {
    const root = await freshDir();
    await copyFile(join(FACADES, 'train', '1.jpg'), join(root, '1.jpg'));
    await sharp({ create: { width: 127, height: 64, channels: 3, background: 'gray' } }).jpeg().toFile(join(root, '2.jpg'));
    const e = await rejection(openDataset({ root }));
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DataError).path).toBe(join(root, '2.jpg'));
    expect(e.message).toMatch(/2\.jpg: width 127 is odd/);
  });

  it('A and B of different sizes name both files; skipBad skips the pair', async () => {
    const root = join(FIX, 'separate-mismatch'); // A/ and B/ directly under the root
    const e = await rejection(openDataset({ root, layout: 'separate' }));
    expect(e).toBeInstanceOf(DatasetError);
    expect(e.message).toContain(join(root, 'A', '1.jpg'));
    expect(e.message).toContain(join(root, 'B', '1.jpg'));
    expect(e.message).toMatch(/64x64.*64x48/);
    const ds = await openDataset({ root, layout: 'separate', skipBad: true });
    expect(ds.examples.map((x) => x.name)).toEqual(['2']);
    expect(ds.skipped.map((s) => s.path)).toEqual([join(root, 'A', '1.jpg')]);
  });

  it('a file with no partner is named, in A or in B', async () => {
    const root = await freshDir();
    const src = join(FIX, 'facades-separate', 'train');
    await mkdir(join(root, 'A'));
    await mkdir(join(root, 'B'));
    for (const i of [1, 2, 3]) await copyFile(join(src, 'A', `${i}.jpg`), join(root, 'A', `${i}.jpg`));
    await copyFile(join(src, 'B', '1.png'), join(root, 'B', '1.png'));
    await copyFile(join(src, 'B', '2.png'), join(root, 'B', 'two.png'));
    const e = await rejection(openDataset({ root, layout: 'separate' }));
    expect(e).toBeInstanceOf(DatasetError);
    const problems = (e as DatasetError).problems.map((p) => p.path).sort();
    expect(problems).toEqual([join(root, 'A', '2.jpg'), join(root, 'A', '3.jpg'), join(root, 'B', 'two.png')].sort());
    expect(e.message).toMatch(/A\/2\.jpg: has no partner in .*\/B/);
    const ds = await openDataset({ root, layout: 'separate', skipBad: true });
    expect(ds.examples.map((x) => x.name)).toEqual(['1']);
    expect(ds.skipped).toHaveLength(3);
    // A missing B folder is named.
    await rm(join(root, 'B'), { recursive: true });
    await expect(openDataset({ root, layout: 'separate' })).rejects.toThrow(join(root, 'B'));
  });

  it('a corrupt header fails at open; a truncated body fails at load, or at open with verify: decode', async () => {
    const e = await rejection(openDataset({ root: CORRUPT }));
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DataError).path).toBe(join(CORRUPT, '3.jpg'));
    expect(e.message).toContain(join(CORRUPT, '3.jpg'));

    const ds = await openDataset({ root: CORRUPT, skipBad: true });
    expect(ds.examples.map((x) => x.name)).toEqual(['1', '2']);
    expect(ds.skipped).toEqual([{ path: join(CORRUPT, '3.jpg'), reason: expect.stringMatching(/header/) }]);
    await ds.load(0);
    const le = await rejection(ds.load(1));
    expect(le).toBeInstanceOf(DataError);
    expect(le.message).toContain(join(CORRUPT, '2.jpg'));

    const de = await rejection(openDataset({ root: CORRUPT, verify: 'decode' }));
    expect((de as DatasetError).problems.map((p) => p.path)).toEqual([join(CORRUPT, '2.jpg'), join(CORRUPT, '3.jpg')]);
    const strict = await openDataset({ root: CORRUPT, verify: 'decode', skipBad: true });
    expect(strict.examples.map((x) => x.name)).toEqual(['1']);
  });
});

describe('paired augmentation', () => {
  const arbPair = fc
    .record({
      h: fc.integer({ min: 4, max: 40 }),
      w: fc.integer({ min: 4, max: 40 }),
      c: fc.constantFrom<1 | 3>(1, 3),
      seed: fc.integer({ min: 0, max: 2 ** 31 }),
      mode: fc.constantFrom<PreprocessMode>('resize_and_crop', 'crop', 'scale_width', 'scale_width_and_crop', 'none'),
      crop: fc.integer({ min: 1, max: 32 }),
      extra: fc.integer({ min: 0, max: 12 }),
      train: fc.boolean(),
    })
    .filter(({ h, w, mode, crop }) => mode !== 'crop' || (crop <= h && crop <= w));

  const synthetic = (h: number, w: number, c: 1 | 3, seed: number): Pair => {
    const x = Float32Array.from({ length: h * w * c }, (_, i) => Math.fround(Math.sin(seed + i * 12.9898) * 0.999));
    return { name: 'p', height: h, width: w, x, y: x.map((v) => -v), xChannels: c, yChannels: c };
  };

  it('x and y get the identical resize, crop and flip (y = -x stays exact); sizes are as promised', () => {
    fc.assert(
      fc.property(arbPair, ({ h, w, c, seed, mode, crop, extra, train }) => {
        const opts = { mode, cropSize: crop, loadSize: crop + extra, train };
        const out = preprocessPair(synthetic(h, w, c, seed), makeKey(seed), opts);
        expect(out.y).toEqual(out.x.map((v) => -v));
        expect([out.height, out.width]).toEqual(outputSize(h, w, opts));
        expect(out.x.length).toBe(out.height * out.width * c);
        if (mode === 'crop' || mode === 'resize_and_crop' || mode === 'scale_width_and_crop') expect([out.height, out.width]).toEqual([crop, crop]);
        for (const v of out.x) expect(Math.abs(v)).toBeLessThanOrEqual(1);
      }),
      { numRuns: 150 },
    );
  });

  it('the crop and flip are the drawn window, mirrored when flipped', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 24 }), fc.integer({ min: 2, max: 24 }), fc.integer({ min: 0, max: 2 ** 31 }), (h, w, seed) => {
        const crop = Math.min(h, w) - 1 || 1;
        const img: FloatImage = { height: h, width: w, channels: 3, data: Float32Array.from({ length: h * w * 3 }, (_, i) => i / (h * w * 3)) };
        const p = augmentParams(makeKey(seed), h, w, { mode: 'crop', cropSize: crop });
        const out = applyAugment(img, p);
        const top = p.crop?.top ?? 0;
        const left = p.crop?.left ?? 0;
        for (let y = 0; y < crop; y++) {
          for (let x = 0; x < crop; x++) {
            const sx = left + (p.flip ? crop - 1 - x : x);
            for (let k = 0; k < 3; k++) expect(out.data[(y * crop + x) * 3 + k]).toBe(img.data[((top + y) * w + sx) * 3 + k]);
          }
        }
      }),
    );
  });

  it('flips about half the time, crops everywhere, and is deterministic in the key', () => {
    let flips = 0;
    const tops = new Set<number>();
    for (let s = 0; s < 400; s++) {
      const p = augmentParams(makeKey(s), 286, 286, { mode: 'crop' });
      expect(augmentParams(makeKey(s), 286, 286, { mode: 'crop' })).toEqual(p);
      if (p.flip) flips++;
      tops.add(p.crop!.top);
    }
    expect(flips).toBeGreaterThan(150);
    expect(flips).toBeLessThan(250);
    expect(tops.size).toBeGreaterThan(15); // top in [0, 30]
    expect(Math.max(...tops)).toBeLessThanOrEqual(30);
    expect(augmentParams(makeKey(1), 286, 286, { mode: 'crop', noFlip: true }).flip).toBe(false);
  });

  it('flipImage mirrors each row', () => {
    const img: FloatImage = { height: 2, width: 2, channels: 3, data: Float32Array.from({ length: 12 }, (_, i) => i) };
    expect(Array.from(flipImage(img).data)).toEqual([3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]);
  });

  it('test time is a centre crop with no flip, whatever the key', () => {
    for (let s = 0; s < 20; s++) {
      expect(augmentParams(makeKey(s), 256, 256, { train: false })).toEqual({
        resize: [286, 286],
        crop: { top: 15, left: 15, height: 256, width: 256 },
        flip: false,
      });
    }
    expect(augmentParams(makeKey(3), 256, 256, { train: false, loadSize: 256 })).toEqual({ resize: null, crop: null, flip: false });
  });

  it('scale_width keeps the aspect, never below cropSize, as the reference does', () => {
    expect(outputSize(100, 200, { mode: 'scale_width', loadSize: 100, cropSize: 30 })).toEqual([50, 100]);
    expect(outputSize(100, 200, { mode: 'scale_width', loadSize: 100, cropSize: 64 })).toEqual([64, 100]);
    expect(outputSize(100, 200, { mode: 'scale_width_and_crop', loadSize: 100, cropSize: 30 })).toEqual([30, 30]);
    expect(outputSize(64, 64, { mode: 'none' })).toEqual([64, 64]);
  });

  it('rejects impossible options', () => {
    expect(() => augmentParams(makeKey(0), 64, 64, { mode: 'crop', cropSize: 65 })).toThrow(/cannot crop 65x65 from a 64x64/);
    expect(() => augmentParams(makeKey(0), 64, 64, { loadSize: 100, cropSize: 128 })).toThrow(/loadSize >= cropSize/);
    expect(() => augmentParams(makeKey(0), 64, 64, { mode: 'zoom' as PreprocessMode })).toThrow(/one of/);
  });

  it('resizes with PIL-style bicubic: hand-computed weights, constants kept', () => {
    // 4 -> 2 pixels: scale 2, so the kernel is widened to support 4. Weights
    // for output 0 are cubic(-0.25), cubic(0.25), cubic(0.75), cubic(1.25).
    const row: FloatImage = { height: 1, width: 4, channels: 1, data: Float32Array.from([0.1, 0.2, 0.4, 0.8]) };
    const w = [0.8671875, 0.8671875, 0.2265625, -0.0703125];
    const expected = (w[0]! * 0.1 + w[1]! * 0.2 + w[2]! * 0.4 + w[3]! * 0.8) / 1.890625;
    expect(resizeImage(row, 1, 2).data[0]).toBeCloseTo(expected, 6);
    const flat: FloatImage = { height: 9, width: 7, channels: 3, data: new Float32Array(9 * 7 * 3).fill(0.25) };
    for (const [h, w2] of [[20, 13], [3, 2], [9, 7]] as const) {
      for (const v of resizeImage(flat, h, w2).data) expect(v).toBeCloseTo(0.25, 6);
    }
    // Clamped: overshoot at a hard edge stays in [-1, 1].
    const edge: FloatImage = { height: 1, width: 4, channels: 1, data: Float32Array.from([-1, -1, 1, 1]) };
    for (const v of resizeImage(edge, 1, 11).data) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  });

  /** resizeImage (with whichever kernel is installed) against the one-value-at-a-time oracle: random sizes, RGB and grey, and a facade half at the examples' and the paper's load sizes. */
  const expectOracleBits = () => {
    const image = fc
      .record({ h: fc.integer({ min: 1, max: 40 }), w: fc.integer({ min: 1, max: 40 }), c: fc.constantFrom(1 as const, 3 as const), seed: fc.integer() })
      .map(({ h, w, c, seed }) => ({ height: h, width: w, channels: c, data: Float32Array.from({ length: h * w * c }, (_, i) => Math.sin(seed + i * 1.7) * 1.05) }));
    fc.assert(
      fc.property(image, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (img, h, w) => {
        if (h === img.height && w === img.width) return;
        expect(Buffer.from(resizeImage(img, h, w).data.buffer).equals(Buffer.from(resizeOracle(img, h, w).buffer))).toBe(true);
      }),
      { numRuns: 200 },
    );
    const half: FloatImage = { height: 256, width: 256, channels: 3, data: Float32Array.from({ length: 256 * 256 * 3 }, (_, i) => Math.cos(i * 0.013) * Math.sin(i * 0.37)) };
    for (const s of [72, 143, 286]) expect(Buffer.from(resizeImage(half, s, s).data.buffer).equals(Buffer.from(resizeOracle(half, s, s).buffer))).toBe(true);
  };

  it('resizeImage gives the same bits as a one-value-at-a-time PIL bicubic (test/helpers/resize-oracle.ts), RGB and grey, shrinking and enlarging', () => {
    expect(setResizeKernel(undefined)).toBeUndefined(); // the JavaScript loops
    expectOracleBits();
  });

  it.skipIf(skipNative)("the native accelerator's resize (the data worker's) gives the oracle's bits too, RGB and grey, shrinking and enlarging", () => {
    expect(useNativeResize()).toBe(true);
    try {
      expectOracleBits();
    } finally {
      setResizeKernel(undefined);
    }
  });

  it.skipIf(skipNative)("the native resize of decoded bytes (the data worker's first epoch) gives the oracle's bits of their floats: random sizes and bytes, RGB and grey; a real facade pair at the load sizes the same as resizePair of its floats", async () => {
    const loaded = loadNative();
    const kernel = ('addon' in loaded ? loaded.addon.elementwise['resizeBicubic'] : undefined) as ((src: Uint8Array, h: number, w: number, c: number, oh: number, ow: number, out: Float32Array) => void) | undefined;
    expect(kernel).toBeDefined();
    const image = fc
      .record({ h: fc.integer({ min: 1, max: 40 }), w: fc.integer({ min: 1, max: 40 }), c: fc.constantFrom(1 as const, 3 as const), seed: fc.integer({ min: 0, max: 2 ** 30 }) })
      .map(({ h, w, c, seed }): ByteImage => ({ height: h, width: w, channels: c, data: Uint8Array.from({ length: h * w * c }, (_, i) => (i % 7 === 0 ? 255 * (i % 2) : (seed + i * 2654435761) >>> 24)) }));
    fc.assert(
      fc.property(image, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (img, h, w) => {
        const out = new Float32Array(h * w * img.channels);
        kernel!(img.data, img.height, img.width, img.channels, h, w, out);
        expect(Buffer.from(out.buffer).equals(Buffer.from(resizeOracle(bytesToFloat(img), h, w).buffer))).toBe(true);
      }),
      { numRuns: 200 },
    );
    const ds = await openDataset({ root: FACADES, direction: 'BtoA' });
    const bytes = await exampleBytes(ds.examples, { direction: 'BtoA', inputChannels: 3, outputChannels: 1 })(0);
    const before = setResizeKernel(undefined); // the oracle: the JavaScript loops on the floats
    expect(useNativeResize()).toBe(true);
    try {
      for (const loadSize of [72, 143, 286]) {
        const opts = { loadSize, cropSize: 64 };
        const fast = resizeBytePair(bytes, opts);
        setResizeKernel(undefined);
        const want = resizePair(floatPair(bytes), opts);
        useNativeResize();
        expect([fast.height, fast.width, fast.xChannels, fast.yChannels]).toEqual([loadSize, loadSize, 3, 1]);
        expect(Buffer.from(fast.x.buffer).equals(Buffer.from(want.x.buffer)), `x at ${loadSize}`).toBe(true);
        expect(Buffer.from(fast.y.buffer).equals(Buffer.from(want.y.buffer)), `y at ${loadSize}`).toBe(true);
      }
    } finally {
      setResizeKernel(before);
    }
  });

  it('cropImage rejects windows outside the image', () => {
    const img: FloatImage = { height: 4, width: 4, channels: 1, data: new Float32Array(16) };
    expect(() => cropImage(img, 1, 1, 4, 2)).toThrow(/does not fit/);
  });
});
