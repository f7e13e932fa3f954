// decodeCheckpoint (the isomorphic entry's loader, from the files' contents)
// against loadCheckpoint reading the same checkpoint from disk.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, flatten, VERSION, type Tree } from '../lib/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../lib/node.ts';

const dir = mkdtempSync(join(tmpdir(), 'pix2pix-bytes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const trees = (): Record<string, Tree> => ({
  'g.params': [{ w: tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 1), b: tf.zeros([4]) }, { gamma: tf.ones([4]) }],
  step: { count: tf.tensor1d([7], 'int32') },
});
const files = () => ({ manifest: readFileSync(join(dir, 'ck', 'manifest.json'), 'utf8'), weights: new Uint8Array(readFileSync(join(dir, 'ck', 'weights.bin'))) });
const values = (t: Tree) => flatten(t).map(([p, x]) => [p, x.dtype, Array.from(x.dataSync())]);

describe('decodeCheckpoint(files, template?)', () => {
  it("gives loadCheckpoint's trees and metadata from the same files, with or without a template", async () => {
    const saved = trees();
    await saveCheckpoint(join(dir, 'ck'), { trees: saved, meta: { epoch: 3 } });
    const fromDisk = await loadCheckpoint(join(dir, 'ck'));
    const fromBytes = await decodeCheckpoint(files());
    expect(fromBytes.meta).toEqual({ epoch: 3 });
    for (const name of Object.keys(saved)) {
      expect(values(fromBytes.trees[name]!)).toEqual(values(saved[name]!));
      expect(values(fromBytes.trees[name]!)).toEqual(values(fromDisk.trees[name]!));
    }
    const templated = await decodeCheckpoint(files(), { 'g.params': trees()['g.params']! });
    expect(Object.keys(templated.trees)).toEqual(['g.params']);
    expect(values(templated.trees['g.params']!)).toEqual(values(saved['g.params']!));
  });

  it('checks the bytes as the loader from disk does: a changed byte fails the SHA-256, a short file its size, a wrong model its shapes', async () => {
    const f = files();
    const flipped = new Uint8Array(f.weights);
    flipped[5] = flipped[5]! ^ 1;
    await expect(decodeCheckpoint({ ...f, weights: flipped }, undefined, 'model.zip')).rejects.toThrow(/^checkpoint model\.zip: the checksum does not match: weights\.bin has sha256 [0-9a-f]{64}/);
    await expect(decodeCheckpoint({ ...f, weights: f.weights.subarray(0, 10) })).rejects.toThrow(/weights\.bin is 10 bytes, the manifest says \d+: the checkpoint is truncated/);
    await expect(decodeCheckpoint(f, { 'g.params': [{ w: tf.zeros([3, 3, 2, 5]), b: tf.zeros([4]) }, { gamma: tf.ones([4]) }] })).rejects.toThrow(
      /g\.params 0\/w: checkpoint has \[3,3,2,4\], the model expects \[3,3,2,5\].*saved from a different model/,
    );
    await expect(decodeCheckpoint({ ...f, manifest: '{"format": "x"}' })).rejects.toThrow(/is of format "x", not 'pix2pix-ts\/checkpoint'/);
  });

  it("encodeCheckpoint writes saveCheckpoint's files (but for the manifest's createdAt), and decodes back to its trees", async () => {
    const saved = trees();
    await saveCheckpoint(join(dir, 'ck2'), { trees: saved, meta: { epoch: 5, note: 'x' } });
    const encoded = await encodeCheckpoint({ trees: saved, meta: { epoch: 5, note: 'x' } });
    expect(Buffer.from(encoded.weights).equals(readFileSync(join(dir, 'ck2', 'weights.bin')))).toBe(true);
    const withoutTime = (text: string) => ({ ...(JSON.parse(text) as Record<string, unknown>), createdAt: undefined });
    expect(withoutTime(encoded.manifest)).toEqual(withoutTime(readFileSync(join(dir, 'ck2', 'manifest.json'), 'utf8')));
    const back = await decodeCheckpoint(encoded);
    for (const name of Object.keys(saved)) expect(values(back.trees[name]!)).toEqual(values(saved[name]!));
    await expect(encodeCheckpoint({ trees: { bad: [tf.scalar(true, 'bool')] }, meta: null }, 'page')).rejects.toThrow(/cannot save tree bad 0: its dtype is bool/);
  });

  it("VERSION, which manifests record, is package.json's version", () => {
    expect(VERSION).toBe((JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version);
    expect(JSON.parse(files().manifest).libraryVersion).toBe(VERSION);
  });
});
