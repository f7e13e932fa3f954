/**
 * Colour-coded label maps: a palette names each class and its colour, and
 * any RGB image is read as labels by taking each pixel's nearest palette
 * colour. Nearest, not exact, because label maps reach us JPEG-compressed
 * (and resized): their colours are smeared around the true ones.
 */
import { toMetricImage, type ImageLike } from './image.ts';

export interface PaletteClass {
  readonly name: string;
  /** 8-bit sRGB. */
  readonly rgb: readonly [number, number, number];
}

export interface Palette {
  readonly name: string;
  readonly classes: readonly PaletteClass[];
}

/**
 * The 12 classes of the CMP Facade Database (Radim Tyleček and Radim Šára,
 * "Spatial Pattern Templates for Recognition of Objects with Regular
 * Structure", GCPR 2013), with the colours they have in the label half of
 * the pix2pix "facades" data (approximate: read off the JPEG label maps).
 */
export const FACADES_PALETTE: Palette = {
  name: 'facades',
  classes: [
    { name: 'background', rgb: [0, 0, 222] },
    { name: 'facade', rgb: [1, 48, 254] },
    { name: 'window', rgb: [3, 127, 254] },
    { name: 'door', rgb: [2, 207, 255] },
    { name: 'cornice', rgb: [36, 252, 226] },
    { name: 'sill', rgb: [113, 251, 150] },
    { name: 'balcony', rgb: [192, 254, 65] },
    { name: 'blind', rgb: [248, 239, 22] },
    { name: 'deco', rgb: [253, 159, 5] },
    { name: 'molding', rgb: [252, 81, 4] },
    { name: 'pillar', rgb: [240, 5, 14] },
    { name: 'shop', rgb: [174, 0, 2] },
  ],
};

/** Palettes by the name the CLI's `--labels` takes. */
export const PALETTES: Readonly<Record<string, Palette>> = { facades: FACADES_PALETTE };

/**
 * The class of each pixel of a [-1, 1] RGB image (row-major, H*W): the
 * palette colour nearest in squared RGB distance on the 8-bit scale
 * (ties go to the lower class index).
 */
export const nearestPaletteLabels = (img: ImageLike, palette: Palette): Uint8Array => {
  const m = toMetricImage(img);
  if (m.channels !== 3) throw new RangeError(`a label map must be an RGB image, got ${m.channels} channel(s)`);
  const k = palette.classes.length;
  if (k === 0 || k > 256) throw new RangeError(`a palette needs 1 to 256 classes, got ${k}`);
  const cols = palette.classes.flatMap((c) => [...c.rgb]);
  const n = m.height * m.width;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = (m.data[3 * i]! + 1) * 127.5;
    const g = (m.data[3 * i + 1]! + 1) * 127.5;
    const b = (m.data[3 * i + 2]! + 1) * 127.5;
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < k; c++) {
      const d = (r - cols[3 * c]!) ** 2 + (g - cols[3 * c + 1]!) ** 2 + (b - cols[3 * c + 2]!) ** 2;
      if (d < bestD) {
        bestD = d;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
};

/** Labels back to a [-1, 1] RGB image in the palette's colours (to look at, or to feed a segmenter test). */
export const labelsToImage = (labels: ArrayLike<number>, height: number, width: number, palette: Palette): { height: number; width: number; channels: 3; data: Float32Array } => {
  if (labels.length !== height * width) throw new RangeError(`${labels.length} labels for a ${height}x${width} image`);
  const data = new Float32Array(height * width * 3);
  for (let i = 0; i < labels.length; i++) {
    const cls = palette.classes[labels[i]!];
    if (cls === undefined) throw new RangeError(`label ${labels[i]} is not a class of palette '${palette.name}'`);
    for (let c = 0; c < 3; c++) data[3 * i + c] = cls.rgb[c]! / 127.5 - 1;
  }
  return { height, width, channels: 3, data };
};
