// openDataset's data worker (lib/data/offload.ts): batches decoded and
// augmented on a worker thread, resized pairs cached there, against the same
// stream computed on the main thread (worker: false) as the oracle.
import { copyFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { makeKey } from '../lib/core/key.ts';
import { DataError, batches, openDataset, type Dataset, type PreprocessOptions } from '../lib/node.ts';

const MINI = resolve(import.meta.dirname, '..', 'examples', 'data', 'facades-mini');
const tmp = mkdtempSync(join(tmpdir(), 'pix2pix-data-worker-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every batch of `epochs` epochs as plain arrays (x then y), tensors disposed. */
const collect = async (ds: Dataset, preprocess: PreprocessOptions, epochs = 2): Promise<Float32Array[]> => {
  const out: Float32Array[] = [];
  for await (const b of batches(ds, { batchSize: 2, key: makeKey(5), epochs, preprocess })) {
    out.push(b.x.dataSync() as Float32Array, b.y.dataSync() as Float32Array);
    tf.dispose([b.x, b.y]);
  }
  return out;
};

const open = (opts: { worker?: boolean; cacheMiB?: number; root?: string } = {}) =>
  openDataset({ root: opts.root ?? MINI, split: 'train', direction: 'BtoA', range: [0, 12], ...opts });

describe('the data worker', () => {
  const modes: Record<string, PreprocessOptions> = {
    'resize 128 -> 72, random crop 64 and flip (the examples)': { loadSize: 72, cropSize: 64 },
    'random crop 64 of the original, flip': { mode: 'crop', cropSize: 64 },
    'centre crop, no flip (no copy of the cached pair may be handed out)': { loadSize: 64, cropSize: 64, train: false },
  };
  for (const [name, preprocess] of Object.entries(modes)) {
    it(`yields the main thread's batches bit for bit over two epochs (the second from its cache): ${name}`, async () => {
      const main = await open({ worker: false });
      const off = await open();
      expect(main.loadAugmented).toBeUndefined();
      expect(off.loadAugmented).toBeTypeOf('function');
      const tensors = tf.memory().numTensors;
      const want = await collect(main, preprocess);
      const got = await collect(off, preprocess);
      expect(got.length).toBe(want.length);
      expect(got.length).toBe(2 * 2 * 6); // x and y, 6 batches of 2, 2 epochs
      got.forEach((g, i) => expect(Buffer.from(g.buffer, g.byteOffset, g.byteLength).equals(Buffer.from(want[i]!.buffer, want[i]!.byteOffset, want[i]!.byteLength)), `array ${i}`).toBe(true));
      expect(tf.memory().numTensors).toBe(tensors);
      await off.close!();
    });
  }

  it('with no cache (cacheMiB 0) and after close() (a new thread) it still yields the same batches', async () => {
    const want = await collect(await open({ worker: false }), { loadSize: 72, cropSize: 64 }, 1);
    const off = await open({ cacheMiB: 0 });
    expect(await collect(off, { loadSize: 72, cropSize: 64 }, 1)).toEqual(want);
    await off.close!();
    expect(await collect(off, { loadSize: 72, cropSize: 64 }, 1)).toEqual(want);
    await off.close!();
  });

  it('a file that turns bad after the listing fails its batch with a DataError naming the file, as on the main thread', async () => {
    const root = join(tmp, 'turns-bad');
    mkdirSync(join(root, 'train'), { recursive: true });
    for (const f of ['1.jpg', '2.jpg']) copyFileSync(join(MINI, 'train', f), join(root, 'train', f));
    const ds = await openDataset({ root, split: 'train', direction: 'BtoA' });
    writeFileSync(join(root, 'train', '2.jpg'), 'not a jpeg any more');
    const run = collect(ds, { mode: 'none' }, 1);
    await expect(run).rejects.toBeInstanceOf(DataError);
    await expect(run).rejects.toThrow(join(root, 'train', '2.jpg'));
    await ds.close!();
  });

  it('warmUp with an order resizes those pairs into the cache ahead of the asks: the files may then vanish and the epoch still comes bit for bit', async () => {
    const root = join(tmp, 'warmed');
    mkdirSync(join(root, 'train'), { recursive: true });
    const files = ['1.jpg', '2.jpg', '3.jpg', '4.jpg'];
    for (const f of files) copyFileSync(join(MINI, 'train', f), join(root, 'train', f));
    const preprocess = { loadSize: 72, cropSize: 64 };
    const want = await collect(await openDataset({ root, split: 'train', direction: 'BtoA', worker: false }), preprocess, 1);
    const ds = await openDataset({ root, split: 'train', direction: 'BtoA' });
    expect(await ds.warmUp!({ order: [3, 1, 0, 2], preprocess })).toBe(4);
    for (const f of files) rmSync(join(root, 'train', f));
    expect(await collect(ds, preprocess, 1)).toEqual(want);
    await ds.close!();
  });

  it('warmUp stops where the cache is full (cacheMiB): room for 2.5 pairs caches 2', async () => {
    const pairBytes = 72 * 72 * 3 * 2 * 4; // x and y of one pair, float32, after the resize to 72
    const ds = await open({ cacheMiB: (2.5 * pairBytes) / 2 ** 20 });
    expect(await ds.warmUp!({ order: [0, 1, 2, 3], preprocess: { loadSize: 72, cropSize: 64 } })).toBe(2);
    await ds.close!();
  });

  it('warmUp goes past a file that turned bad (the others cached) and the ask for it still fails naming it', async () => {
    const root = join(tmp, 'warm-bad');
    mkdirSync(join(root, 'train'), { recursive: true });
    for (const f of ['1.jpg', '2.jpg', '3.jpg']) copyFileSync(join(MINI, 'train', f), join(root, 'train', f));
    const ds = await openDataset({ root, split: 'train', direction: 'BtoA' });
    writeFileSync(join(root, 'train', '2.jpg'), 'not a jpeg any more');
    const preprocess = { loadSize: 72, cropSize: 64 };
    expect(await ds.warmUp!({ order: [1, 0, 2], preprocess })).toBe(2);
    const run = collect(ds, preprocess, 1);
    await expect(run).rejects.toBeInstanceOf(DataError);
    await expect(run).rejects.toThrow(join(root, 'train', '2.jpg'));
    await ds.close!();
  });

  it('rejects a negative cache budget, naming the option', async () => {
    await expect(open({ cacheMiB: -1 })).rejects.toThrow(/cacheMiB must be a number of MiB >= 0, got -1/);
  });
});
