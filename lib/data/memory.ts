/**
 * Datasets in memory: pairs decoded by whoever has the pixels (a browser's
 * canvas, a test), the same `Dataset` the batch stream reads from folders.
 * No file system here.
 */
import type { Dataset, Direction, Pair } from './dataset.ts';
import { bytesToFloat, splitHalves, toChannels, type ByteImage, type Channels } from './pixels.ts';

export interface PairOptions {
  /** 'AtoB' (default): x = A, y = B; 'BtoA' swaps them (facades: labels -> photo). */
  readonly direction?: Direction;
  /** Channels of x and of y (default 3 each). */
  readonly inputChannels?: Channels;
  readonly outputChannels?: Channels;
}

/** A training pair still as 8-bit pixels: oriented, with its channels; `floatPair` makes it a Pair. */
export interface BytePair {
  readonly name: string;
  readonly x: ByteImage;
  readonly y: ByteImage;
}

/** A and B (8-bit pixels, the same size) oriented by `direction`, with the channels asked for. */
export const bytePairOf = (name: string, a: ByteImage, b: ByteImage, opts: PairOptions = {}): BytePair => {
  if (a.width !== b.width || a.height !== b.height) throw new RangeError(`pair "${name}": A is ${a.width}x${a.height} but B is ${b.width}x${b.height}`);
  const [xb, yb] = (opts.direction ?? 'AtoB') === 'AtoB' ? [a, b] : [b, a];
  return { name, x: toChannels(xb, opts.inputChannels ?? 3), y: toChannels(yb, opts.outputChannels ?? 3) };
};

/** The pair in [-1, 1] floats. */
export const floatPair = (p: BytePair): Pair => {
  const x = bytesToFloat(p.x);
  const y = bytesToFloat(p.y);
  return { name: p.name, height: x.height, width: x.width, x: x.data, y: y.data, xChannels: x.channels, yChannels: y.channels };
};

/** A training pair from A and B as 8-bit pixels (the same size), oriented by `direction`. */
export const pairOf = (name: string, a: ByteImage, b: ByteImage, opts: PairOptions = {}): Pair => floatPair(bytePairOf(name, a, b, opts));

/** A training pair from one aligned A|B image (A on the left). */
export const alignedPair = (name: string, img: ByteImage, opts: PairOptions = {}): Pair => {
  const [a, b] = splitHalves(img);
  return pairOf(name, a, b, opts);
};

/**
 * A Dataset of pairs already in memory (all with the same channels), for
 * `batches`; `name` is what it is called in messages.
 */
export const memoryDataset = (pairs: readonly Pair[], opts: { readonly name?: string; readonly direction?: Direction } = {}): Dataset => {
  const name = opts.name ?? 'pairs in memory';
  const first = pairs[0];
  if (first === undefined) throw new RangeError(`${name}: no pairs`);
  for (const p of pairs) {
    if (p.xChannels !== first.xChannels || p.yChannels !== first.yChannels)
      throw new RangeError(`${name}: "${p.name}" has ${p.xChannels} -> ${p.yChannels} channels but "${first.name}" has ${first.xChannels} -> ${first.yChannels}`);
    if (p.x.length !== p.height * p.width * p.xChannels || p.y.length !== p.height * p.width * p.yChannels)
      throw new RangeError(`${name}: "${p.name}" is ${p.width}x${p.height}, but its pixel arrays have ${p.x.length} and ${p.y.length} values`);
  }
  const all = [...pairs];
  return {
    dir: name,
    layout: 'aligned',
    direction: opts.direction ?? 'AtoB',
    inputChannels: first.xChannels,
    outputChannels: first.yChannels,
    examples: all.map((p) => ({ layout: 'aligned', name: p.name, file: p.name, height: p.height, width: p.width })),
    size: all.length,
    skipped: [],
    load: async (i) => {
      const p = all[i];
      if (p === undefined) throw new RangeError(`${name}: example index ${i} out of range [0, ${all.length})`);
      return p;
    },
  };
};
