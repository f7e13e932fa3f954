// Checkpoints: bit-exact round trips, the errors a damaged or mismatched
// checkpoint gives, and what is left on disk when a save dies part-way.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeTree, isTensor, leaves, type Tree } from '../lib/core/tree.ts';
import {
  CheckpointError,
  loadCheckpoint,
  saveCheckpoint,
  saveCheckpointSync,
  type CheckpointContents,
  type SaveStep,
  findCheckpoint,
  settleCheckpoint,
} from '../lib/io/checkpoint.ts';

let root: string;
let cases = 0;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'pix2pix-ckpt-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A checkpoint path `<fresh folder>/ck`, so the folder's listing shows every leftover. */
const freshDir = (): string => {
  const folder = path.join(root, `case-${cases++}`);
  fs.mkdirSync(folder);
  return path.join(folder, 'ck');
};
const siblings = (dir: string): string[] => fs.readdirSync(path.dirname(dir)).sort();

// A tree as plain data: structure, shape, dtype and exact bytes of every tensor.
type Described = { shape: number[]; dtype: string; bytes: string } | Described[] | { [key: string]: Described };
const describeTree = (tree: Tree): Described => {
  if (isTensor(tree)) {
    const data = tree.dataSync();
    return { shape: [...tree.shape], dtype: tree.dtype, bytes: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex') };
  }
  if (Array.isArray(tree)) return (tree as readonly Tree[]).map(describeTree);
  const record = tree as { readonly [key: string]: Tree };
  return Object.fromEntries(Object.keys(record).sort().map((k) => [k, describeTree(record[k]!)]));
};
const describeTrees = (trees: Readonly<Record<string, Tree>>): Record<string, Described> =>
  Object.fromEntries(Object.keys(trees).sort().map((k) => [k, describeTree(trees[k]!)]));
const disposeAll = (trees: Readonly<Record<string, Tree>>): void => Object.values(trees).forEach(disposeTree);
const leafCount = (trees: Readonly<Record<string, Tree>>): number => Object.values(trees).reduce((n, t) => n + leaves(t).length, 0);

const failure = async (p: Promise<unknown>): Promise<CheckpointError> => {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return e as CheckpointError;
  }
  throw new Error('expected a CheckpointError, but the call succeeded');
};

// ---------------------------------------------------------- random trees

/** A tensor to build: float32 values are given as raw bits, so NaN payloads and -0 are exercised. */
class TensorSpec {
  constructor(
    readonly shape: number[],
    readonly dtype: 'float32' | 'int32',
    readonly bits: number[],
  ) {}
  build(): tf.Tensor {
    const ints = Int32Array.from(this.bits);
    return tf.tensor(this.dtype === 'float32' ? new Float32Array(ints.buffer) : ints, this.shape, this.dtype);
  }
}
type Spec = TensorSpec | Spec[] | { [key: string]: Spec };

const arbTensorSpec: fc.Arbitrary<TensorSpec> = fc
  .record({ shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }), dtype: fc.constantFrom('float32' as const, 'int32' as const) })
  .chain(({ shape, dtype }) => {
    const n = shape.reduce((a, d) => a * d, 1);
    return fc
      .array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { minLength: n, maxLength: n })
      .map((bits) => new TensorSpec(shape, dtype, bits));
  });

const { spec: arbSpec } = fc.letrec<{ spec: Spec; array: Spec[]; record: { [key: string]: Spec } }>((tie) => ({
  spec: fc.oneof({ depthSize: 'small', withCrossShrink: true }, arbTensorSpec, tie('array'), tie('record')),
  array: fc.array(tie('spec'), { maxLength: 3 }),
  // '0' and '10' check that records with numeric keys stay records.
  record: fc.dictionary(fc.constantFrom('w', 'b', '0', '10', 'gamma', 'running mean', 'x.y'), tie('spec'), { maxKeys: 3 }),
}));

const build = (s: Spec): Tree => {
  if (s instanceof TensorSpec) return s.build();
  if (Array.isArray(s)) return s.map(build);
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, build(v)]));
};

const arbTrees = fc.dictionary(fc.constantFrom('g.params', 'g.state', 'd.params', 'opt'), arbSpec, { maxKeys: 3 });

describe('round trip', () => {
  it('random trees come back bit-identical, with the same structure and meta', async () => {
    await fc.assert(
      fc.asyncProperty(arbTrees, fc.jsonValue({ maxDepth: 2 }), async (specs, meta) => {
        const dir = freshDir();
        const start = tf.memory().numTensors;
        const trees = Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, build(s)]));
        const before = tf.memory().numTensors;
        try {
          await saveCheckpoint(dir, { trees, meta });
          expect(tf.memory().numTensors).toBe(before);
          expect(siblings(dir)).toEqual(['ck']);

          const loaded = await loadCheckpoint(dir);
          expect(tf.memory().numTensors - before).toBe(leafCount(trees));
          expect(describeTrees(loaded.trees)).toStrictEqual(describeTrees(trees));
          // JSON has no -0: that is the one change meta may see.
          expect(loaded.meta).toStrictEqual(JSON.parse(JSON.stringify(meta)));
          disposeAll(loaded.trees);

          const viaTemplate = await loadCheckpoint(dir, trees);
          expect(describeTrees(viaTemplate.trees)).toStrictEqual(describeTrees(trees));
          disposeAll(viaTemplate.trees);
        } finally {
          disposeAll(trees);
        }
        expect(tf.memory().numTensors).toBe(start);
      }),
      { numRuns: 60 },
    );
  });

  it('empty subtrees, bare tensors and numeric record keys survive without a template', async () => {
    const dir = freshDir();
    const trees: Record<string, Tree> = {
      'g.params': [{ w: tf.ones([2, 2]) }, {}, [], { '0': tf.zeros([1]), '1': { b: tf.scalar(3, 'int32') } }],
      'step': tf.scalar(7, 'int32'),
      'empty': {},
    };
    const meta = { epoch: 3, note: 'ok', lr: [2e-4, 0.5], nested: { flag: true, none: null } };
    await saveCheckpoint(dir, { trees, meta });
    const loaded = await loadCheckpoint(dir);
    expect(describeTrees(loaded.trees)).toStrictEqual(describeTrees(trees));
    expect(Array.isArray((loaded.trees['g.params'] as Tree[])[3])).toBe(false);
    expect(loaded.meta).toStrictEqual(meta);
    disposeAll(loaded.trees);
    disposeAll(trees);
  });

  it('the files are laid out as documented: little-endian, back to back, in manifest order', async () => {
    const dir = freshDir();
    const trees = { b: { x: tf.tensor([1.5, -2], [2], 'float32') }, a: tf.tensor([[258]], [1, 1], 'int32') };
    await saveCheckpoint(dir, { trees, meta: null });
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    const weights = fs.readFileSync(path.join(dir, 'weights.bin'));
    expect(manifest).toMatchObject({
      format: 'pix2pix-ts/checkpoint',
      formatVersion: 1,
      libraryVersion: JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
      weightsFile: 'weights.bin',
      byteLength: 12,
      tensors: [
        { tree: 'a', path: '', shape: [1, 1], dtype: 'int32', offset: 0, byteLength: 4 },
        { tree: 'b', path: 'x', shape: [2], dtype: 'float32', offset: 4, byteLength: 8 },
      ],
    });
    expect(manifest.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(weights.readInt32LE(0)).toBe(258);
    expect(weights.readFloatLE(4)).toBe(1.5);
    expect(weights.readFloatLE(8)).toBe(-2);
    disposeAll(trees);
  });

  it('rejects what a checkpoint cannot hold, before touching the disk', async () => {
    const dir = freshDir();
    const b = tf.tensor([true], [1], 'bool');
    expect((await failure(saveCheckpoint(dir, { trees: { t: { m: b } }, meta: null }))).message).toMatch(
      /tree t m: its dtype is bool, and checkpoints hold float32 and int32 tensors/,
    );
    const x = tf.ones([1]);
    expect((await failure(saveCheckpoint(dir, { trees: { t: x }, meta: { lr: Number.NaN } }))).message).toMatch(
      /meta\.lr is NaN, which JSON cannot hold/,
    );
    expect((await failure(saveCheckpoint(dir, { trees: { t: { 'a/b': x, a: { b: x } } }, meta: null }))).message).toMatch(
      /two tensors have the path 'a\/b'/,
    );
    expect(siblings(dir)).toEqual([]);
    b.dispose();
    x.dispose();
  });
});

// ------------------------------------------------------- damaged checkpoints

/** A small checkpoint whose paths match the messages below. */
type Conv = { w: tf.Tensor; b: tf.Tensor };
const makeTrees = (wChannels = 32): { 'g.params': [Conv, [Conv]]; 'g.state': { step: tf.Tensor } } => ({
  'g.params': [{ w: tf.ones([4, 4, 3, 8]), b: tf.zeros([8]) }, [{ w: tf.ones([4, 4, 3, wChannels]), b: tf.zeros([wChannels]) }]],
  'g.state': { step: tf.scalar(5, 'int32') },
});

const savedFixture = async (): Promise<{ dir: string; trees: ReturnType<typeof makeTrees> }> => {
  const dir = freshDir();
  const trees = makeTrees();
  await saveCheckpoint(dir, { trees, meta: { epoch: 3 } });
  return { dir, trees };
};

const editManifest = (dir: string, edit: (m: Record<string, any>) => void): void => {
  const file = path.join(dir, 'manifest.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(m);
  fs.writeFileSync(file, JSON.stringify(m));
};

describe('damaged or mismatched checkpoints', () => {
  it('a truncated weights.bin', async () => {
    const { dir, trees } = await savedFixture();
    const weights = path.join(dir, 'weights.bin');
    const size = fs.statSync(weights).size;
    fs.truncateSync(weights, size - 4);
    const e = await failure(loadCheckpoint(dir));
    expect(e.message).toContain(`weights.bin is ${size - 4} bytes, the manifest says ${size}: the checkpoint is truncated`);
    expect(e.path).toBe(weights);
    disposeAll(trees);
  });

  it('a flipped byte in weights.bin', async () => {
    const { dir, trees } = await savedFixture();
    const weights = path.join(dir, 'weights.bin');
    const bytes = fs.readFileSync(weights);
    bytes[100] = bytes[100]! ^ 0x10;
    fs.writeFileSync(weights, bytes);
    const e = await failure(loadCheckpoint(dir));
    expect(e.message).toMatch(/the checksum does not match: weights\.bin has sha256 [0-9a-f]{64}, the manifest says [0-9a-f]{64}/);
    expect(e.path).toBe(weights);
    disposeAll(trees);
  });

  it('a missing weights.bin', async () => {
    const { dir, trees } = await savedFixture();
    fs.rmSync(path.join(dir, 'weights.bin'));
    expect((await failure(loadCheckpoint(dir))).message).toContain('weights.bin is missing');
    disposeAll(trees);
  });

  it('hand-edited manifests: the error names the field', async () => {
    const { dir, trees } = await savedFixture();
    const original = fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8');
    const cases: Array<[(m: Record<string, any>) => void, string]> = [
      [(m) => (m.tensors[1].shape = 'abc'), 'manifest.json is malformed: tensors.1.shape should be an array of non-negative integers, got "abc"'],
      [(m) => (m.tensors[0].shape[2] = -3), 'tensors.0.shape.2 should be a non-negative integer, got -3'],
      [(m) => (m.tensors[2].dtype = 'float64'), `tensors.2.dtype should be 'float32' or 'int32', got "float64"`],
      [(m) => delete m.byteLength, 'byteLength should be a non-negative integer, got nothing'],
      [(m) => (m.sha256 = 42), 'sha256 should be a sha-256 digest (64 lowercase hex digits), got 42'],
      [(m) => (m.structure['g.state'] = 5), 'structure.g.state should be null or an array of subtrees or a record of subtrees, got 5'],
      [(m) => (m.tensors[0].byteLength = 36), 'tensor g.params 0/b is listed as 36 bytes, but shape [8] of float32 takes 32'],
      [(m) => (m.tensors[1].offset = 0), 'tensor g.params 0/w starts at byte 0, but the tensors before it end at byte 32'],
      [(m) => (m.structure['g.state'] = { step: null, extra: null }), 'the structure of tree g.state has the tensors [extra, step], but the tensors listed for it are [step]'],
      [(m) => (m.format = 'tfjs-layers'), `manifest.json is of format "tfjs-layers", not 'pix2pix-ts/checkpoint': this is not a pix2pix-ts checkpoint`],
      [(m) => (m.formatVersion = 2), 'the checkpoint has format version 2, newer than this pix2pix-ts'],
    ];
    for (const [edit, message] of cases) {
      fs.writeFileSync(path.join(dir, 'manifest.json'), original);
      editManifest(dir, edit);
      const e = await failure(loadCheckpoint(dir));
      expect(e.message).toContain(message);
      expect(e.path).toBe(path.join(dir, 'manifest.json'));
    }
    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"format": ');
    expect((await failure(loadCheckpoint(dir))).message).toContain('manifest.json is not valid JSON');
    disposeAll(trees);
  });

  it('a missing manifest, a missing directory', async () => {
    const { dir, trees } = await savedFixture();
    fs.rmSync(path.join(dir, 'manifest.json'));
    expect((await failure(loadCheckpoint(dir))).message).toContain('manifest.json is missing');
    const nowhere = path.join(root, 'no-such-checkpoint');
    const e = await failure(loadCheckpoint(nowhere));
    expect(e.message).toBe(`checkpoint directory ${nowhere} does not exist`);
    expect(e.path).toBe(nowhere);
    disposeAll(trees);
  });

  it('a template of a different model: shapes, extra and missing tensors, dtypes, trees', async () => {
    const { dir, trees } = await savedFixture();
    const before = tf.memory().numTensors;

    const wider = makeTrees(64);
    const shape = await failure(loadCheckpoint(dir, { 'g.params': wider['g.params'] }));
    expect(shape.message).toContain(
      'g.params 1/0/b: checkpoint has [32], the model expects [64]; g.params 1/0/w: checkpoint has [4,4,3,32], the model expects [4,4,3,64]: this checkpoint was saved from a different model',
    );

    const withExtra = { 'g.params': [trees['g.params'][0], [{ ...trees['g.params'][1][0], gamma: wider['g.params'][1][0].b }]] };
    expect((await failure(loadCheckpoint(dir, withExtra))).message).toContain(
      'g.params 1/0/gamma: the model has [64] float32, the checkpoint has no such tensor: this checkpoint was saved from a different model',
    );

    const withMissing = { 'g.params': [{ w: trees['g.params'][0].w }, trees['g.params'][1]] };
    expect((await failure(loadCheckpoint(dir, withMissing))).message).toContain(
      'g.params 0/b: checkpoint has [8] float32, the model has no such tensor',
    );

    const floatStep = { 'g.state': { step: tf.scalar(0) } };
    expect((await failure(loadCheckpoint(dir, floatStep))).message).toContain('g.state step: checkpoint has int32, the model expects float32');

    expect((await failure(loadCheckpoint(dir, { 'd.params': [] }))).message).toContain(
      'the checkpoint has no tree d.params (its trees: g.params, g.state)',
    );

    // Nothing was allocated by the failed loads.
    expect(tf.memory().numTensors).toBe(before + leafCount(wider) + 1);
    disposeAll(wider);
    disposeAll(floatStep);
    disposeAll(trees);
  });

  it('a manifest without structure: trees are rebuilt from the paths', async () => {
    const { dir, trees } = await savedFixture();
    editManifest(dir, (m) => delete m.structure);
    const loaded = await loadCheckpoint(dir);
    expect(describeTrees(loaded.trees)).toStrictEqual(describeTrees(trees));
    disposeAll(loaded.trees);
    disposeAll(trees);
  });

  it('a template selects trees and gives its own structure', async () => {
    const { dir, trees } = await savedFixture();
    const loaded = await loadCheckpoint(dir, { 'g.state': { step: tf.scalar(0, 'int32') } });
    expect(Object.keys(loaded.trees)).toEqual(['g.state']);
    expect(describeTree(loaded.trees['g.state']!)).toStrictEqual(describeTree(trees['g.state']));
    expect(loaded.meta).toEqual({ epoch: 3 });
    disposeAll(loaded.trees);
    disposeAll(trees);
  });
});

// ---------------------------------------------------------------- leaks

describe('tensor ownership', () => {
  it('save creates no tensors; load creates exactly the loaded ones, all new', async () => {
    const dir = freshDir();
    const trees = makeTrees();
    const before = tf.memory().numTensors;
    await saveCheckpoint(dir, { trees, meta: null });
    saveCheckpointSync(dir, { trees, meta: null });
    expect(tf.memory().numTensors).toBe(before);

    const loaded = await loadCheckpoint(dir, trees);
    const fresh = Object.values(loaded.trees).flatMap(leaves);
    expect(tf.memory().numTensors - before).toBe(fresh.length);
    expect(fresh.length).toBe(leafCount(trees));
    const originals = new Set(Object.values(trees).flatMap(leaves).map((t) => t.id));
    expect(fresh.some((t) => originals.has(t.id))).toBe(false);
    // The caller owns them: disposing the originals does not touch them.
    disposeAll(trees);
    expect(describeTree(fresh[0]!)).toMatchObject({ shape: [8] });
    disposeAll(loaded.trees);
    expect(tf.memory().numTensors).toBe(before - fresh.length);
  });
});

// ------------------------------------------------------------- atomicity

const steps: SaveStep[] = ['weights-written', 'written', 'old-moved', 'new-in-place', 'done'];
// From 'written' on, the new checkpoint is complete on disk: a crash from there on loads it.
const newFrom: ReadonlySet<SaveStep> = new Set(['written', 'old-moved', 'new-in-place', 'done']);

const contentsWith = (value: number): CheckpointContents => ({
  trees: { p: { w: tf.fill([3, 5], value), k: tf.scalar(value, 'int32') } },
  meta: { value },
});
const valueOf = async (dir: string): Promise<unknown> => {
  const loaded = await loadCheckpoint(dir);
  disposeAll(loaded.trees);
  return (loaded.meta as { value: number }).value;
};

describe('atomic saves', () => {
  it('a crash at any point leaves the old or the new checkpoint: the newest complete one loads, and the next save cleans up', async () => {
    const dir = freshDir();
    const [a, b, c] = [contentsWith(1), contentsWith(2), contentsWith(3)];
    await saveCheckpoint(dir, a);
    // Freeze the disk at each step: the copy is what a crash right there leaves behind.
    const images = path.join(root, `images-${cases++}`);
    await saveCheckpoint(dir, b, {
      onStep: (step) => fs.cpSync(path.dirname(dir), path.join(images, step), { recursive: true }),
    });
    expect(fs.readdirSync(images).sort()).toEqual([...steps].sort());

    for (const step of steps) {
      const image = path.join(images, step, 'ck');
      const left = siblings(image);
      if (step === 'weights-written' || step === 'written') expect(left).toEqual(['ck', expect.stringMatching(/^ck\.tmp-\d+-[0-9a-f]+$/)]);
      if (step === 'weights-written')
        expect(fs.readdirSync(path.join(images, step, left[1]!))).toEqual(['weights.bin']);
      if (step === 'old-moved') expect(left).toEqual(['ck.old', expect.stringMatching(/^ck\.tmp-/)]);
      if (step === 'new-in-place') expect(left).toEqual(['ck', 'ck.old']);
      if (step === 'done') expect(left).toEqual(['ck']);

      expect({ step, value: await valueOf(image) }).toEqual({ step, value: newFrom.has(step) ? 2 : 1 });

      await saveCheckpoint(image, c);
      expect({ step, value: await valueOf(image) }).toEqual({ step, value: 3 });
      expect(siblings(image)).toEqual(['ck']);
    }
    [a, b, c].forEach((x) => disposeAll(x.trees));
  });

  it('a crash during the very first save: nothing before the weights and manifest are written, the new checkpoint after', async () => {
    const dir = freshDir();
    const a = contentsWith(1);
    const images = path.join(root, `images-${cases++}`);
    await saveCheckpoint(dir, a, {
      onStep: (step) => fs.cpSync(path.dirname(dir), path.join(images, step), { recursive: true }),
    });
    const first = path.join(images, 'weights-written', 'ck');
    expect((await failure(loadCheckpoint(first))).message).toBe(`checkpoint directory ${first} does not exist`);
    expect(await findCheckpoint(first)).toBeUndefined();
    for (const step of ['written', 'old-moved', 'new-in-place'] as const) expect(await valueOf(path.join(images, step, 'ck'))).toBe(1);
    disposeAll(a.trees);
  });

  it('settleCheckpoint finishes or rolls back the swap a crash interrupted: one directory left, the newest complete one', async () => {
    const dir = freshDir();
    const [a, b] = [contentsWith(1), contentsWith(2)];
    await saveCheckpoint(dir, a);
    const images = path.join(root, `images-${cases++}`);
    await saveCheckpoint(dir, b, {
      onStep: (step) => fs.cpSync(path.dirname(dir), path.join(images, step), { recursive: true }),
    });
    const did: Record<string, string | undefined> = {};
    for (const step of steps) {
      const image = path.join(images, step, 'ck');
      did[step] = await settleCheckpoint(image);
      expect({ step, left: siblings(image) }).toEqual({ step, left: ['ck'] });
      expect({ step, value: await valueOf(image) }).toEqual({ step, value: newFrom.has(step) ? 2 : 1 });
      expect(await settleCheckpoint(image)).toBeUndefined(); // settled: nothing more to do
    }
    // A partial temporary copy is removed; complete ones are swapped in; a lone backup is renamed back.
    expect(did).toEqual({ 'weights-written': 'cleaned', written: 'finished', 'old-moved': 'finished', 'new-in-place': 'cleaned', done: undefined });
    // The backup alone (the new copy lost): rolled back.
    const lone = path.join(images, 'old-moved-lone');
    fs.cpSync(path.join(images, 'weights-written'), lone, { recursive: true });
    fs.renameSync(path.join(lone, 'ck'), path.join(lone, 'ck.old'));
    expect(await settleCheckpoint(path.join(lone, 'ck'))).toBe('rolled back');
    expect(await valueOf(path.join(lone, 'ck'))).toBe(1);
    expect(siblings(path.join(lone, 'ck'))).toEqual(['ck']);
    [a, b].forEach((x) => disposeAll(x.trees));
  });

  it('a save that fails at any step leaves the directory as it was (or done), with nothing left over', async () => {
    const a = contentsWith(1);
    const b = contentsWith(2);
    for (const step of steps) {
      for (const sync of [false, true]) {
        const dir = freshDir();
        await saveCheckpoint(dir, a);
        const boom = new Error(`injected failure at ${step}`);
        const onStep = (s: SaveStep) => {
          if (s === step) throw boom;
        };
        if (sync) expect(() => saveCheckpointSync(dir, b, { onStep })).toThrow(boom);
        else await expect(saveCheckpoint(dir, b, { onStep })).rejects.toBe(boom);
        // Before the new one is in place, a failure puts the old one back.
        const inPlace = step === 'new-in-place' || step === 'done';
        expect({ step, sync, value: await valueOf(dir) }).toEqual({ step, sync, value: inPlace ? 2 : 1 });
        expect(siblings(dir)).toEqual(['ck']);
      }
    }
    disposeAll(a.trees);
    disposeAll(b.trees);
  });

  it('saves twice over the same directory, and queues concurrent saves', async () => {
    const dir = freshDir();
    const all = [1, 2, 3, 4].map(contentsWith);
    await saveCheckpoint(dir, all[0]!);
    await saveCheckpoint(dir, all[1]!);
    expect(await valueOf(dir)).toBe(2);
    const pending = saveCheckpoint(dir, all[2]!);
    expect(() => saveCheckpointSync(dir, all[3]!)).toThrow(/an asynchronous save to .* is in progress/);
    await Promise.all([pending, saveCheckpoint(dir, all[3]!)]);
    expect(await valueOf(dir)).toBe(4);
    saveCheckpointSync(dir, all[0]!);
    expect(await valueOf(dir)).toBe(1);
    expect(siblings(dir)).toEqual(['ck']);
    all.forEach((x) => disposeAll(x.trees));
  });

  it('refuses to replace a directory that is not a checkpoint', async () => {
    const dir = freshDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const a = contentsWith(1);
    const e = await failure(saveCheckpoint(dir, a));
    expect(e.message).toBe(`refusing to replace ${dir}: it is not empty and has no manifest.json, so it is not a checkpoint`);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    expect(siblings(dir)).toEqual(['ck']);
    // An empty directory is fine.
    fs.rmSync(path.join(dir, 'notes.txt'));
    await saveCheckpoint(dir, a);
    expect(await valueOf(dir)).toBe(1);
    disposeAll(a.trees);
  });
});
