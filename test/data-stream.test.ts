// Batch streams: seeded order, keyed augmentation, exact resumption, prefetching, no leaks.
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeKey } from '../lib/core/key.ts';
import {
  DataError,
  batches,
  batchesPerEpoch,
  epochOrder,
  openDataset,
  resumeAfter,
  type Batch,
  type Dataset,
  type StreamOptions,
} from '../lib/node.ts';

const FIX = resolve(import.meta.dirname, 'fixtures');
const MINI = resolve(import.meta.dirname, '..', 'examples', 'data', 'facades-mini');

// 40 pairs of 128x128 halves, cropped to 32 without resizing: cheap but real.
const CHEAP = { mode: 'crop', cropSize: 32 } as const;

let mini: Dataset;
let fixture: Dataset;
beforeAll(async () => {
  mini = await openDataset({ root: MINI, split: 'train', direction: 'BtoA' });
  fixture = await openDataset({ root: join(FIX, 'facades'), split: 'train', direction: 'BtoA' });
});

interface Seen {
  readonly epoch: number;
  readonly index: number;
  readonly names: string[];
  readonly shape: number[];
  readonly x: Float32Array;
  readonly y: Float32Array;
}

/** Consume a stream, keeping plain copies and disposing every batch. */
const collect = async (ds: Dataset, opts: StreamOptions, limit = Infinity): Promise<Seen[]> => {
  const out: Seen[] = [];
  for await (const b of batches(ds, opts)) {
    out.push({ epoch: b.epoch, index: b.index, names: b.names, shape: b.x.shape, x: b.x.dataSync() as Float32Array, y: b.y.dataSync() as Float32Array });
    tf.dispose([b.x, b.y]);
    if (out.length >= limit) break;
  }
  return out;
};

const names = (seen: Seen[]): string[][] => seen.map((s) => s.names);

describe('batch stream', () => {
  it('gives NHWC batches in [-1, 1] of the preprocessed size; the last batch of an epoch is kept', async () => {
    const seen = await collect(mini, { batchSize: 16, seed: 1, preprocess: CHEAP });
    expect(seen.map((s) => s.shape)).toEqual([
      [16, 32, 32, 3],
      [16, 32, 32, 3],
      [8, 32, 32, 3],
    ]);
    expect(seen.map((s) => [s.epoch, s.index])).toEqual([[0, 0], [0, 1], [0, 2]]);
    expect(batchesPerEpoch(40, 16)).toBe(3);
    for (const s of seen) for (const v of s.x) expect(Math.abs(v)).toBeLessThanOrEqual(1);
  });

  it('visits every example exactly once per epoch, in a different order each epoch', async () => {
    const seen = await collect(mini, { batchSize: 3, seed: 7, epochs: 3, preprocess: CHEAP });
    const all = mini.examples.map((e) => e.name).sort();
    const perEpoch = [0, 1, 2].map((e) => seen.filter((s) => s.epoch === e).flatMap((s) => s.names));
    for (const ep of perEpoch) expect([...ep].sort()).toEqual(all);
    expect(perEpoch[0]).not.toEqual(perEpoch[1]);
    expect(seen.filter((s) => s.epoch === 1).map((s) => s.index)).toEqual(Array.from({ length: 14 }, (_, i) => i));
  });

  it('the same seed gives the same batches (order and augmentation); another seed does not', async () => {
    const opts = { batchSize: 4, epochs: 2, preprocess: CHEAP } as const;
    const a = await collect(mini, { ...opts, seed: 42 });
    const b = await collect(mini, { ...opts, key: makeKey(42) });
    const c = await collect(mini, { ...opts, seed: 43 });
    expect(names(b)).toEqual(names(a));
    b.forEach((s, i) => {
      expect(s.x).toEqual(a[i]!.x);
      expect(s.y).toEqual(a[i]!.y);
    });
    expect(names(c)).not.toEqual(names(a));
  });

  it('shuffle: false keeps the sorted order', async () => {
    const seen = await collect(mini, { batchSize: 8, shuffle: false, preprocess: CHEAP });
    expect(seen.flatMap((s) => s.names)).toEqual(mini.examples.map((e) => e.name));
    expect(epochOrder(5, makeKey(0), 3, false)).toEqual([0, 1, 2, 3, 4]);
  });

  it('resuming at (epoch, index) reproduces the continuous run exactly, crops and flips included', async () => {
    const opts = { batchSize: 6, seed: 5, epochs: 3, preprocess: { mode: 'resize_and_crop', loadSize: 40, cropSize: 32 } } as const;
    const full = await collect(mini, opts);
    expect(full).toHaveLength(3 * 7);
    for (const at of [8, 6, 13, 20]) {
      // Stopping after batch `at - 1` and resuming where it says.
      const resumed = await collect(mini, { ...opts, ...resumeAfter(full[at - 1]!) });
      expect(resumed.map((s) => [s.epoch, s.index])).toEqual(full.slice(at).map((s) => [s.epoch, s.index]));
      resumed.forEach((s, i) => {
        const f = full[at + i]!;
        expect(s.names).toEqual(f.names);
        expect(s.x).toEqual(f.x);
        expect(s.y).toEqual(f.y);
      });
    }
    // Explicit (startEpoch, startIndex), and an index at the end of an epoch rolls over.
    const mid = await collect(mini, { ...opts, startEpoch: 2, startIndex: 3 }, 1);
    expect(mid[0]!.x).toEqual(full[2 * 7 + 3]!.x);
    const roll = await collect(mini, { ...opts, startEpoch: 1, startIndex: 7 }, 1);
    expect([roll[0]!.epoch, roll[0]!.index]).toEqual([2, 0]);
  });

  it('train: false batches do not depend on the seed', async () => {
    const pre = { train: false, loadSize: 64, cropSize: 48 } as const;
    const a = await collect(fixture, { batchSize: 2, seed: 1, shuffle: false, preprocess: pre });
    const b = await collect(fixture, { batchSize: 2, seed: 2, shuffle: false, preprocess: pre });
    expect(a.map((s) => s.x)).toEqual(b.map((s) => s.x));
  });

  it('rejects a batch size outside [1, dataset size] and bad resume points', () => {
    for (const batchSize of [0, 5, 1.5, -1]) expect(() => batches(fixture, { batchSize })).toThrow(/batchSize must be an integer in \[1, 4\]/);
    expect(() => batches(fixture, { batchSize: 1, startIndex: 5 })).toThrow(/startIndex/);
    expect(() => batches(fixture, { batchSize: 1, epochs: 0 })).toThrow(/epochs/);
  });

  it('checks up front that every example survives preprocessing and that batches can be stacked', () => {
    expect(() => batches(fixture, { batchSize: 1, preprocess: { mode: 'crop', cropSize: 65 } })).toThrow(/example "1" \(64x64\): cannot crop 65x65/);
    const mixed: Dataset = { ...fixture, examples: fixture.examples.map((e, i) => (i === 2 ? { ...e, width: 48 } : e)) };
    expect(() => batches(mixed, { batchSize: 2, preprocess: { mode: 'none' } })).toThrow(/examples "1" and "3" come out of preprocessing as 64x64 and 48x64/);
    expect(() => batches(mixed, { batchSize: 1, preprocess: { mode: 'none' } })).not.toThrow();
    expect(() => batches(mixed, { batchSize: 2, preprocess: { mode: 'resize_and_crop', loadSize: 72, cropSize: 64 } })).not.toThrow();
  });

  it('decodes `prefetch` batches ahead while the consumer holds one', async () => {
    // On the main thread (load) and on the data worker (loadAugmented).
    for (const [prefetch, onWorker] of [[0, false], [2, false], [0, true], [2, true]] as const) {
      let loads = 0;
      const counted: Dataset = onWorker
        ? { ...fixture, loadAugmented: (i, k, p) => (loads++, fixture.loadAugmented!(i, k, p)) }
        : { ...fixture, load: (i) => (loads++, fixture.load(i)), loadAugmented: undefined };
      const it = batches(counted, { batchSize: 1, epochs: 10, prefetch, preprocess: { mode: 'none' } })[Symbol.asyncIterator]();
      const first = await it.next();
      await new Promise((r) => setTimeout(r, 100));
      expect(loads).toBe(1 + prefetch);
      const b = first.value as Batch;
      tf.dispose([b.x, b.y]);
      await it.return?.();
    }
  });

  it("hands the dataset's warmUp the examples in the order the stream then asks for them: from a resume point to the end of the next epoch, with its preprocess", async () => {
    const preprocess = { mode: 'crop', cropSize: 32 } as const;
    const opts: StreamOptions = { batchSize: 2, key: makeKey(9), epochs: 3, startEpoch: 1, startIndex: 1, preprocess, prefetch: 0 };
    let warmed: { order: readonly number[]; preprocess?: unknown } | undefined;
    const asked: number[] = [];
    const spied: Dataset = {
      ...fixture,
      load: (i) => (asked.push(i), fixture.load(i)),
      loadAugmented: undefined,
      warmUp: (ahead) => void (warmed = ahead),
    };
    const n = fixture.size;
    const ahead = n - 2 + n; // the rest of epoch 1 (after one batch of 2) and all of epoch 2
    for await (const b of batches(spied, opts)) {
      tf.dispose([b.x, b.y]);
      if (asked.length >= ahead) break;
    }
    expect(n).toBeGreaterThan(2);
    expect(warmed?.preprocess).toEqual(preprocess);
    expect(warmed?.order).toEqual(asked.slice(0, ahead));
    expect(warmed?.order).toEqual([...epochOrder(n, makeKey(9), 1).slice(2), ...epochOrder(n, makeKey(9), 2)]);
  });

  it('leaks no tensors: full runs, early breaks with prefetched batches pending, errors', async () => {
    const start = tf.memory().numTensors;
    await collect(fixture, { batchSize: 2, epochs: 2, preprocess: { mode: 'none' } });
    expect(tf.memory().numTensors).toBe(start);
    await collect(mini, { batchSize: 2, epochs: Infinity, prefetch: 4, preprocess: CHEAP }, 3);
    expect(tf.memory().numTensors).toBe(start);
    await expect(
      (async () => {
        for await (const b of batches(fixture, { batchSize: 2, prefetch: 3, preprocess: { mode: 'none' } })) {
          tf.dispose([b.x, b.y]);
          throw new Error('consumer failed');
        }
      })(),
    ).rejects.toThrow('consumer failed');
    expect(tf.memory().numTensors).toBe(start);
  });

  it('a file that fails to decode mid-stream surfaces as a DataError naming it', async () => {
    const bad = await openDataset({ root: join(FIX, 'corrupt'), skipBad: true }); // 1.jpg fine, 2.jpg truncated
    const start = tf.memory().numTensors;
    const e = await collect(bad, { batchSize: 1, shuffle: false, preprocess: { mode: 'none' } }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).path).toBe(join(FIX, 'corrupt', 'train', '2.jpg'));
    expect(tf.memory().numTensors).toBe(start);
  });
});
