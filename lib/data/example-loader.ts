/**
 * Decoding one listed example into a Pair (Node: files through sharp). Shared
 * by openDataset and the data worker (./offload.ts), which rebuilds it from
 * the listing alone.
 */
import { bytePairOf, floatPair, type BytePair } from './memory.ts';
import { DataError, readBytes, splitHalves } from './image.ts';
import type { Channels } from './pixels.ts';
import type { Direction, Example, Pair } from './dataset.ts';

export interface LoaderOptions {
  readonly direction: Direction;
  readonly inputChannels: Channels;
  readonly outputChannels: Channels;
}

const size = (h: number, w: number) => `${w}x${h}`;

/** Example i decoded as 8-bit pixels, split or paired and oriented; a file that became unreadable throws a DataError naming it. */
export const exampleBytes = (examples: readonly Example[], opts: LoaderOptions) => async (i: number): Promise<BytePair> => {
  const ex = examples[i];
  if (ex === undefined) throw new RangeError(`example index ${i} out of range [0, ${examples.length})`);
  if (ex.layout === 'aligned') {
    const img = await readBytes(ex.file);
    if (img.width !== 2 * ex.width || img.height !== ex.height) {
      throw new DataError(ex.file, `${ex.file}: decoded as ${size(img.height, img.width)} but its header said ${size(ex.height, 2 * ex.width)}`);
    }
    const [a, b] = splitHalves(img);
    return bytePairOf(ex.name, a, b, opts);
  }
  const [a, b] = await Promise.all([readBytes(ex.a), readBytes(ex.b)]);
  if (a.width !== b.width || a.height !== b.height) throw new DataError(ex.a, `${ex.a} is ${size(a.height, a.width)} but its partner ${ex.b} is ${size(b.height, b.width)}`);
  return bytePairOf(ex.name, a, b, opts);
};

/** `load(i)`: example i decoded, split or paired, in [-1, 1]; a file that became unreadable throws a DataError naming it. */
export const exampleLoader = (examples: readonly Example[], opts: LoaderOptions): ((i: number) => Promise<Pair>) => {
  const bytes = exampleBytes(examples, opts);
  return async (i) => floatPair(await bytes(i));
};
