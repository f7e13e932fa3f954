/**
 * Derived paired datasets for the examples that have no ready-made pairs:
 * grayscale -> colour and edges -> photo are made from the facade photos
 * (the A half of each facades file) and written as aligned DERIVED|PHOTO
 * images, so the ordinary dataset reader trains on them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openDataset, writeImage, type FloatImage } from '../../lib/node.ts';

/** Side by side: left | right, both RGB (a 1-channel left is repeated into 3). */
const sideBySide = (left: FloatImage, right: FloatImage): FloatImage => {
  const { height: h, width: w } = right;
  const data = new Float32Array(h * 2 * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        data[(y * 2 * w + x) * 3 + c] = left.data[(y * w + x) * left.channels + (left.channels === 1 ? 0 : c)]!;
        data[(y * 2 * w + w + x) * 3 + c] = right.data[(y * w + x) * 3 + c]!;
      }
  return { height: h, width: 2 * w, channels: 3, data };
};

/**
 * Write DST/train/NAME.png = derive(photo) | photo for every facades file
 * (photo = the A half). Skipped when DST/train already holds as many files.
 */
export const deriveFromPhotos = async (facadesRoot: string, dst: string, derive: (photo: FloatImage) => FloatImage): Promise<string> => {
  const src = await openDataset({ root: facadesRoot, split: 'train', direction: 'AtoB' });
  if (existsSync(join(dst, 'train', `${src.examples[src.size - 1]!.name}.png`))) return dst;
  console.log(`deriving ${src.size} pairs into ${dst}`);
  for (let i = 0; i < src.size; i++) {
    const pair = await src.load(i);
    const photo: FloatImage = { height: pair.height, width: pair.width, channels: 3, data: pair.x };
    await writeImage(join(dst, 'train', `${pair.name}.png`), sideBySide(derive(photo), photo));
  }
  return dst;
};
