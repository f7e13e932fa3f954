/**
 * Regenerates examples/data/facades-mini/ (the demo bundle) from the full
 * facades train split:
 *
 *   npx tsx examples/data/make-facades-mini.ts [SRC] [OUT]
 *
 * SRC defaults to ../shared/datasets/facades/train (relative to the repo
 * root), OUT to examples/data/facades-mini. Files 1..40 (natural order) go
 * to train/, 41..48 to val/. Each 256x256 half is downscaled on its own (so
 * A and B never bleed into each other at the seam) to 128x128 with sharp's
 * default Lanczos-3 and the pair re-encoded as one 256x128 JPEG, quality 90.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { naturalCompare } from '../../lib/data/files.ts';

export interface MiniOptions {
  /** Folder of aligned A|B images. */
  readonly src: string;
  readonly out: string;
  /** split name -> file names (from src) to put there. */
  readonly splits: Readonly<Record<string, readonly string[]>>;
  /** Side of each square half in the output. */
  readonly half: number;
  readonly quality: number;
}

/** Downscale one aligned A|B file to a (2*half)x(half) JPEG. */
export const shrinkPair = async (src: string, dest: string, half: number, quality: number): Promise<void> => {
  const meta = await sharp(src).metadata();
  const w = meta.width! / 2;
  const h = meta.height!;
  const side = (left: number): Promise<Buffer> =>
    sharp(src).extract({ left, top: 0, width: w, height: h }).resize(half, half, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const [a, b] = await Promise.all([side(0), side(w)]);
  const raw = { width: half, height: half, channels: 3 } as const;
  await mkdir(dirname(dest), { recursive: true });
  await sharp({ create: { width: 2 * half, height: half, channels: 3, background: { r: 0, g: 0, b: 0 } } })
    .composite([
      { input: a, raw, left: 0, top: 0 },
      { input: b, raw, left: half, top: 0 },
    ])
    .jpeg({ quality })
    .toFile(dest);
};

export const makeMini = async (o: MiniOptions): Promise<void> => {
  for (const [split, files] of Object.entries(o.splits)) {
    await rm(join(o.out, split), { recursive: true, force: true });
    for (const f of files) await shrinkPair(join(o.src, f), join(o.out, split, f), o.half, o.quality);
  }
};

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const main = async (): Promise<void> => {
  const src = resolve(process.argv[2] ?? join(repoRoot, '..', 'shared', 'datasets', 'facades', 'train'));
  const out = resolve(process.argv[3] ?? join(repoRoot, 'examples', 'data', 'facades-mini'));
  const files = (await readdir(src)).filter((f) => f.endsWith('.jpg')).sort(naturalCompare).slice(0, 48);
  if (files.length < 48) throw new Error(`${src}: expected at least 48 .jpg pairs, found ${files.length}`);
  await makeMini({ src, out, splits: { train: files.slice(0, 40), val: files.slice(40) }, half: 128, quality: 90 });
  console.log(`wrote 40 train + 8 val pairs (256x128) to ${out}`);
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
