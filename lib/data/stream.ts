/**
 * Batches for training: seeded per-epoch shuffling, keyed augmentation,
 * prefetching, exact resumption.
 *
 * Everything random is a pure function of (key, epoch, position in the
 * epoch): the order of epoch e comes from foldIn(key, e), and the crop/flip
 * of the example at position p of epoch e from foldIn(foldIn(key, e), p).
 * Nothing depends on a generator's running state, so starting at
 * (startEpoch, startIndex) yields exactly the batches an uninterrupted run
 * would have yielded from that point on.
 */
import * as tf from '@tensorflow/tfjs';
import { foldIn, makeKey, type Key } from '../core/key.ts';
import type { Dataset, Pair } from './dataset.ts';
import { outputSize, preprocessPair, type PreprocessOptions } from './preprocess.ts';

/** One batch, NHWC in [-1, 1]. The consumer owns x and y and must dispose them. */
export interface Batch {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor4D;
  /** Example names, in batch order. */
  readonly names: string[];
  /** 0-based epoch. */
  readonly epoch: number;
  /** 0-based batch number within the epoch. */
  readonly index: number;
}

export interface StreamOptions {
  readonly batchSize: number;
  /** Randomness for shuffling and augmentation. Default makeKey(seed ?? 0). */
  readonly key?: Key;
  readonly seed?: number;
  /** Stop after epoch `epochs - 1` (a total, not a count from startEpoch). Default 1; may be Infinity. */
  readonly epochs?: number;
  /** Resume point: the first batch yielded is batch `startIndex` of epoch `startEpoch`. Default 0, 0. */
  readonly startEpoch?: number;
  readonly startIndex?: number;
  /** Shuffle each epoch (default true); false keeps the dataset's sorted order. */
  readonly shuffle?: boolean;
  /** Augmentation; pass { train: false } for deterministic val/test batches. */
  readonly preprocess?: PreprocessOptions;
  /** Batches decoded ahead of the one being consumed. Default 2; 0 turns prefetching off. */
  readonly prefetch?: number;
}

/** Batches per epoch: the last, incomplete batch is kept (every example is seen every epoch). */
export const batchesPerEpoch = (datasetSize: number, batchSize: number): number => Math.ceil(datasetSize / batchSize);

/** The resume point just after `batch` (pass as startEpoch/startIndex; an index past the end rolls over). */
export const resumeAfter = (batch: Pick<Batch, 'epoch' | 'index'>): { startEpoch: number; startIndex: number } => ({
  startEpoch: batch.epoch,
  startIndex: batch.index + 1,
});

/** Epoch e's order: a Fisher-Yates shuffle driven by foldIn(key, e), one derived key per swap. */
export const epochOrder = (size: number, key: Key, epoch: number, shuffle = true): number[] => {
  const order = Array.from({ length: size }, (_, i) => i);
  if (!shuffle) return order;
  const k = foldIn(foldIn(key, 'shuffle'), epoch);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor((foldIn(k, i)[0] / 2 ** 32) * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
};

/** The augmentation key of the example at `position` of `epoch`. */
export const augmentKey = (key: Key, epoch: number, position: number): Key => foldIn(foldIn(foldIn(key, 'augment'), epoch), position);

interface BatchData {
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly shape: readonly [number, number, number, number, number]; // n, h, w, cx, cy
  readonly names: string[];
  readonly epoch: number;
  readonly index: number;
}

const stack = (pairs: readonly Pair[], epoch: number, index: number): BatchData => {
  const first = pairs[0]!;
  for (const p of pairs) {
    if (p.height !== first.height || p.width !== first.width) {
      throw new RangeError(
        `cannot batch "${first.name}" (${first.width}x${first.height}) with "${p.name}" (${p.width}x${p.height}) after preprocessing; ` +
          `use a cropping/resizing preprocess mode or batchSize 1`,
      );
    }
  }
  const xs = first.x.length;
  const ys = first.y.length;
  const x = new Float32Array(xs * pairs.length);
  const y = new Float32Array(ys * pairs.length);
  pairs.forEach((p, i) => {
    x.set(p.x, i * xs);
    y.set(p.y, i * ys);
  });
  return { x, y, shape: [pairs.length, first.height, first.width, first.xChannels, first.yChannels], names: pairs.map((p) => p.name), epoch, index };
};

const checkInt = (name: string, v: number, min: number, max = Infinity): void => {
  if (!(Number.isInteger(v) || v === Infinity) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${v}`);
  }
};

/**
 * Fail now, not at some batch in the middle of epoch 3: every example must
 * survive preprocessing, and with batchSize > 1 all must come out the same size.
 */
const checkSizes = (dataset: Dataset, batchSize: number, pre: PreprocessOptions | undefined): void => {
  let first: { name: string; size: string } | undefined;
  for (const ex of dataset.examples) {
    let out: readonly [number, number];
    try {
      out = outputSize(ex.height, ex.width, pre);
    } catch (e) {
      throw new RangeError(`example "${ex.name}" (${ex.width}x${ex.height}): ${e instanceof Error ? e.message : String(e)}`);
    }
    const size = `${out[1]}x${out[0]}`;
    first ??= { name: ex.name, size };
    if (batchSize > 1 && size !== first.size) {
      throw new RangeError(
        `examples "${first.name}" and "${ex.name}" come out of preprocessing as ${first.size} and ${size}, so they cannot share a batch; ` +
          `use a cropping/resizing preprocess mode or batchSize 1`,
      );
    }
  }
};

/**
 * Batches of `dataset` as an async iterable. Decoding and augmentation of
 * the next `prefetch` batches run while the consumer works on the current
 * one; tensors are only created when a batch is handed out, so breaking out
 * of `for await` early leaves no tensors behind (pending decodes are
 * dropped).
 */
export const batches = (dataset: Dataset, opts: StreamOptions): AsyncIterable<Batch> => {
  const { batchSize } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > dataset.size) {
    throw new RangeError(`batchSize must be an integer in [1, ${dataset.size}] (the dataset size), got ${batchSize}`);
  }
  const key = opts.key ?? makeKey(opts.seed ?? 0);
  const epochs = opts.epochs ?? 1;
  const prefetch = opts.prefetch ?? 2;
  const perEpoch = batchesPerEpoch(dataset.size, batchSize);
  let startEpoch = opts.startEpoch ?? 0;
  let startIndex = opts.startIndex ?? 0;
  checkInt('epochs', epochs, 1);
  checkInt('startEpoch', startEpoch, 0);
  checkInt('startIndex', startIndex, 0, perEpoch);
  checkInt('prefetch', prefetch, 0, 64);
  if (startIndex === perEpoch) [startEpoch, startIndex] = [startEpoch + 1, 0];
  const shuffle = opts.shuffle ?? true;
  checkSizes(dataset, batchSize, opts.preprocess);
  // The examples in the order they will be asked for, to the end of the
  // first epoch that sees them all: the data worker decodes and resizes
  // them ahead (while the training thread starts up) where it has room.
  if (dataset.warmUp) {
    const ahead = epochOrder(dataset.size, key, startEpoch, shuffle).slice(startIndex * batchSize);
    if (startIndex > 0 && startEpoch + 1 < epochs) ahead.push(...epochOrder(dataset.size, key, startEpoch + 1, shuffle));
    void dataset.warmUp({ order: ahead, preprocess: opts.preprocess });
  }

  return {
    [Symbol.asyncIterator]: async function* () {
      const orders = new Map<number, number[]>();
      const orderOf = (e: number): number[] => {
        let o = orders.get(e);
        if (o === undefined) {
          orders.clear(); // epochs are visited in order: keep only the latest
          o = epochOrder(dataset.size, key, e, shuffle);
          orders.set(e, o);
        }
        return o;
      };
      const load = async (epoch: number, index: number): Promise<BatchData> => {
        const order = orderOf(epoch);
        const positions = Array.from({ length: Math.min(batchSize, dataset.size - index * batchSize) }, (_, i) => index * batchSize + i);
        const pairs = await Promise.all(
          positions.map(async (p) => {
            const k = augmentKey(key, epoch, p);
            return dataset.loadAugmented ? dataset.loadAugmented(order[p]!, k, opts.preprocess) : preprocessPair(await dataset.load(order[p]!), k, opts.preprocess);
          }),
        );
        return stack(pairs, epoch, index);
      };

      let next = { epoch: startEpoch, index: startIndex };
      const advance = (): void => {
        next = next.index + 1 < perEpoch ? { epoch: next.epoch, index: next.index + 1 } : { epoch: next.epoch + 1, index: 0 };
      };
      const queue: Promise<BatchData>[] = [];
      const fill = (): void => {
        while (queue.length < prefetch + 1 && next.epoch < epochs) {
          const p = load(next.epoch, next.index);
          p.catch(() => undefined); // surfaced when awaited; silences a dropped prefetch's failure
          queue.push(p);
          advance();
        }
      };
      try {
        // The head plus `prefetch` batches ahead; while the consumer holds a
        // batch, those `prefetch` keep decoding.
        for (fill(); queue.length > 0; fill()) {
          const data = await queue.shift()!;
          const [n, h, w, cx, cy] = data.shape;
          const batch: Batch = {
            x: tf.tensor4d(data.x, [n, h, w, cx]),
            y: tf.tensor4d(data.y, [n, h, w, cy]),
            names: data.names,
            epoch: data.epoch,
            index: data.index,
          };
          yield batch;
        }
      } finally {
        // Early exit: drop what was prefetched. It holds typed arrays only,
        // never tensors, so there is nothing to dispose.
        queue.length = 0;
      }
    },
  };
};
