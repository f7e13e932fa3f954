/**
 * A checkpoint's layout from its contents, and its manifest's text: the
 * validation and planning both savers share (to disk, checkpoint.ts; to
 * bytes, checkpoint-bytes.ts). No file I/O and no Node built-ins.
 */
import type * as tf from '@tensorflow/tfjs';
import { flatten, isTensor, type Tree } from '../core/tree.ts';
import { describeValue, isPlainObject, joinPath, label, libraryVersion, littleEndian, showShape } from './common.ts';
import { CheckpointError } from './errors.ts';
import { BYTES_PER_ELEMENT, FORMAT, FORMAT_VERSION, WEIGHTS_FILE, type Dtype, type Skeleton } from './manifest.ts';

/**
 * What a checkpoint holds: named trees (e.g. `'g.params'`, `'d.state'`) and
 * caller metadata, which must be plain JSON (`undefined` is saved as null).
 */
export interface CheckpointContents {
  readonly trees: Readonly<Record<string, Tree>>;
  readonly meta: unknown;
}

export interface PlannedTensor {
  readonly tree: string;
  readonly path: string;
  readonly tensor: tf.Tensor;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
  readonly offset: number;
  readonly byteLength: number;
}

export interface Plan {
  readonly tensors: readonly PlannedTensor[];
  readonly structure: Readonly<Record<string, Skeleton>>;
  readonly byteLength: number;
  readonly meta: unknown;
}

/** Why a value is not plain JSON, or undefined when it is. */
const jsonProblem = (v: unknown, where: string): string | undefined => {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : `${where} is ${v}, which JSON cannot hold`;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const problem = jsonProblem(v[i], `${where}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) {
      const problem = jsonProblem(v[k], `${where}.${k}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  return `${where} is ${describeValue(v)}, which is not plain JSON`;
};

const skeletonOf = (dir: string, name: string, tree: unknown, p: string): Skeleton => {
  const where = `tree ${label(name, p)}`;
  if (isTensor(tree)) {
    if (tree.isDisposed) throw new CheckpointError(dir, `cannot save ${where}: the tensor is disposed`);
    if (tree.dtype !== 'float32' && tree.dtype !== 'int32')
      throw new CheckpointError(dir, `cannot save ${where}: its dtype is ${tree.dtype}, and checkpoints hold float32 and int32 tensors`);
    return null;
  }
  if (Array.isArray(tree)) return tree.map((child, i) => skeletonOf(dir, name, child, joinPath(p, String(i))));
  if (isPlainObject(tree))
    return Object.fromEntries(Object.keys(tree).map((k) => [k, skeletonOf(dir, name, tree[k], joinPath(p, k))]));
  throw new CheckpointError(dir, `cannot save ${where}: it is ${describeValue(tree)}, not a tensor, an array or a record`);
};

/** Validate the contents and lay the tensors out; reads no tensor data. */
export const planCheckpoint = (dir: string, contents: CheckpointContents): Plan => {
  if (!isPlainObject(contents.trees))
    throw new CheckpointError(dir, `cannot save: trees should be a record of trees, got ${describeValue(contents.trees)}`);
  const meta = contents.meta === undefined ? null : contents.meta;
  const problem = jsonProblem(meta, 'meta');
  if (problem !== undefined) throw new CheckpointError(dir, `cannot save: ${problem}`);
  const names = Object.keys(contents.trees).sort();
  const structure: Array<[string, Skeleton]> = [];
  const tensors: PlannedTensor[] = [];
  let offset = 0;
  for (const name of names) {
    const tree = contents.trees[name]!;
    structure.push([name, skeletonOf(dir, name, tree, '')]);
    const seen = new Set<string>();
    for (const [p, tensor] of flatten(tree)) {
      if (seen.has(p))
        throw new CheckpointError(dir, `cannot save tree ${name}: two tensors have the path '${p}' (a record key contains '/')`);
      seen.add(p);
      const byteLength = tensor.size * BYTES_PER_ELEMENT;
      tensors.push({ tree: name, path: p, tensor, shape: tensor.shape, dtype: tensor.dtype as Dtype, offset, byteLength });
      offset += byteLength;
    }
  }
  return { tensors, structure: Object.fromEntries(structure), byteLength: offset, meta };
};

export const manifestText = (plan: Plan, sha256: string): string =>
  `${JSON.stringify(
    {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      libraryVersion: libraryVersion(),
      createdAt: new Date().toISOString(),
      meta: plan.meta,
      tensors: plan.tensors.map(({ tree, path: p, shape, dtype, offset, byteLength }) => ({ tree, path: p, shape, dtype, offset, byteLength })),
      weightsFile: WEIGHTS_FILE,
      byteLength: plan.byteLength,
      sha256,
      structure: plan.structure,
    },
    null,
    2,
  )}\n`;

/** A tensor's stored bytes, from the typed array that `data()`/`dataSync()` gave. */
export const storedBytes = (dir: string, entry: PlannedTensor, data: ArrayBufferView): Uint8Array => {
  if (data.byteLength !== entry.byteLength)
    throw new CheckpointError(
      dir,
      `cannot save tree ${label(entry.tree, entry.path)}: its data is ${data.byteLength} bytes, expected ${entry.byteLength} for ${showShape(entry.shape)} ${entry.dtype}`,
    );
  return littleEndian(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
};

