/** The page's files: the default model, the bundled facades-mini pairs (data/index.json lists them), images decoded by the browser. */
import { alignedPair, type ByteImage, type Pair } from 'pix2pix-ts';
import { rgbOf } from './draw.ts';

export const DEFAULT_MODEL = 'model/facades-unet128.zip';

/** Decode an image file or URL into 8-bit RGB. */
export const decodeImage = async (src: Blob | string): Promise<ByteImage> => {
  const blob = typeof src === 'string' ? await (await fetch(src)).blob() : src;
  const bmp = await createImageBitmap(blob);
  const c = document.createElement('canvas');
  c.width = bmp.width;
  c.height = bmp.height;
  const ctx = c.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bmp, 0, 0);
  return rgbOf(ctx.getImageData(0, 0, c.width, c.height).data, c.width, c.height);
};

/** The bundled facades-mini pairs (data/index.json lists them). */
export const bundledPairs = async (split: 'train' | 'val', direction: 'AtoB' | 'BtoA'): Promise<Pair[]> => {
  const index = (await (await fetch('data/index.json')).json()) as Record<string, string[]>;
  return Promise.all((index[split] ?? []).map(async (f) => alignedPair(f, await decodeImage(`data/${split}/${f}`), { direction })));
};

