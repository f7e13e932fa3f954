/**
 * Checkpoints: named parameter/state trees and JSON metadata in a directory.
 *
 * A checkpoint directory holds two files (see docs/checkpoints.md):
 *
 * - `manifest.json` — `{ format: 'pix2pix-ts/checkpoint', formatVersion: 1,
 *   libraryVersion, createdAt, meta, tensors, weightsFile: 'weights.bin',
 *   byteLength, sha256, structure }`. `tensors` lists every tensor as
 *   `{ tree, path, shape, dtype, offset, byteLength }`: trees in sorted name
 *   order, and within a tree in `flatten` order (paths like `1/0/w`).
 *   `structure` maps each tree name to its skeleton (`null` for a tensor,
 *   arrays and records as themselves), so trees come back with the same
 *   arrays, records and empty subtrees.
 * - `weights.bin` — the tensors' elements, back to back in manifest order
 *   with no header, no padding and no alignment gaps: tensor *i* occupies
 *   bytes `[offset_i, offset_i + byteLength_i)`, `offset_0 = 0`,
 *   `offset_{i+1} = offset_i + byteLength_i`, `byteLength_i = 4 · ∏ shape_i`.
 *   Elements are row-major (C order, the last axis fastest), each a
 *   little-endian IEEE-754 binary32 (`float32`) or two's-complement int32
 *   (`int32`), whatever the host's byte order. `sha256` is the hex SHA-256
 *   of the whole file and `byteLength` its size.
 *
 * Saving is atomic (see `atomic.ts`): a crash leaves the old checkpoint or
 * the new one, never a mixture; loading falls back to `<dir>.old`, the
 * backup a save keeps while it swaps, when `<dir>` itself is missing.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { flatten, isTensor, withLeaves, type Tree } from '../core/tree.ts';
import { resolveDir, writeDirAtomically, writeDirAtomicallySync, type StepHook } from './atomic.ts';
import { CheckpointError } from './errors.ts';
import {
  BYTES_PER_ELEMENT,
  decodeManifest,
  FORMAT,
  FORMAT_VERSION,
  MANIFEST_FILE,
  WEIGHTS_FILE,
  type Dtype,
  type Manifest,
  type Skeleton,
  type TensorEntry,
} from './manifest.ts';

export { CheckpointError } from './errors.ts';
export type { SaveStep } from './atomic.ts';
export { FORMAT as CHECKPOINT_FORMAT, FORMAT_VERSION as CHECKPOINT_FORMAT_VERSION } from './manifest.ts';

/**
 * What a checkpoint holds: named trees (e.g. `'g.params'`, `'d.state'`) and
 * caller metadata, which must be plain JSON (`undefined` is saved as null).
 */
export interface CheckpointContents {
  readonly trees: Readonly<Record<string, Tree>>;
  readonly meta: unknown;
}

export interface SaveOptions {
  /**
   * Called at each stage of the save (`weights-written`, `written`,
   * `old-moved`, `new-in-place`, `done`). For crash tests: a hook can
   * snapshot the disk, or throw to make the save fail at that point.
   */
  readonly onStep?: StepHook;
}

// ------------------------------------------------------------- helpers

const errno = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

const describeValue = (v: unknown): string => {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `${typeof v} ${String(v)}`;
};

const showShape = (shape: readonly number[]): string => `[${shape.join(',')}]`;
const label = (tree: string, p: string): string => (p === '' ? tree : `${tree} ${p}`);
const join = (prefix: string, key: string): string => (prefix === '' ? key : `${prefix}/${key}`);
const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

let cachedVersion: string | undefined;
/** The `version` of this library's package.json. */
const libraryVersion = (): string => {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
};

const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * The little-endian bytes of 4-byte elements. On a little-endian host this is
 * a view, not a copy; elsewhere each 4-byte group is reversed (bit-exact,
 * NaN payloads included). The swap is its own inverse, so loading uses it too.
 */
const littleEndian = (bytes: Uint8Array): Uint8Array => {
  if (LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    out[i] = bytes[i + 3]!;
    out[i + 1] = bytes[i + 2]!;
    out[i + 2] = bytes[i + 1]!;
    out[i + 3] = bytes[i]!;
  }
  return out;
};

// ------------------------------------------------------------------ save

interface PlannedTensor {
  readonly tree: string;
  readonly path: string;
  readonly tensor: tf.Tensor;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
  readonly offset: number;
  readonly byteLength: number;
}

interface Plan {
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
  if (Array.isArray(tree)) return tree.map((child, i) => skeletonOf(dir, name, child, join(p, String(i))));
  if (isPlainObject(tree))
    return Object.fromEntries(Object.keys(tree).map((k) => [k, skeletonOf(dir, name, tree[k], join(p, k))]));
  throw new CheckpointError(dir, `cannot save ${where}: it is ${describeValue(tree)}, not a tensor, an array or a record`);
};

/** Validate the contents and lay the tensors out; reads no tensor data. */
const planCheckpoint = (dir: string, contents: CheckpointContents): Plan => {
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

const manifestText = (plan: Plan, sha256: string): string =>
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
const storedBytes = (dir: string, entry: PlannedTensor, data: ArrayBufferView): Uint8Array => {
  if (data.byteLength !== entry.byteLength)
    throw new CheckpointError(
      dir,
      `cannot save tree ${label(entry.tree, entry.path)}: its data is ${data.byteLength} bytes, expected ${entry.byteLength} for ${showShape(entry.shape)} ${entry.dtype}`,
    );
  return littleEndian(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
};

const writeAll = async (handle: fsp.FileHandle, bytes: Uint8Array): Promise<void> => {
  for (let done = 0; done < bytes.length; ) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
};

const writeAllSync = (fd: number, bytes: Uint8Array): void => {
  for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done, bytes.length - done);
};

/**
 * Save trees and metadata to the directory `dir`, atomically: `dir` holds
 * the previous checkpoint until the new one is complete and fsynced. The
 * parent directory is created if needed. `dir` may be missing, empty, or a
 * previous checkpoint; any other existing directory is refused.
 *
 * Tensor data is read with `await t.data()`, one tensor at a time, so the
 * tensors must not be disposed until the returned promise settles. Saves to
 * the same directory from this process run one after another.
 * A `CheckpointError` reports invalid contents; I/O errors are passed on.
 */
export async function saveCheckpoint(dir: string, contents: CheckpointContents, options: SaveOptions = {}): Promise<void> {
  const plan = planCheckpoint(path.resolve(dir), contents);
  await writeDirAtomically(
    dir,
    async (tmp) => {
      const target = path.resolve(dir);
      const hash = createHash('sha256');
      const handle = await fsp.open(path.join(tmp, WEIGHTS_FILE), 'wx');
      try {
        for (const entry of plan.tensors) {
          const bytes = storedBytes(target, entry, await entry.tensor.data());
          hash.update(bytes);
          await writeAll(handle, bytes);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      options.onStep?.('weights-written');
      const manifest = await fsp.open(path.join(tmp, MANIFEST_FILE), 'wx');
      try {
        await manifest.writeFile(manifestText(plan, hash.digest('hex')), 'utf8');
        await manifest.sync();
      } finally {
        await manifest.close();
      }
    },
    options.onStep,
  );
}

/**
 * `saveCheckpoint` with `dataSync()` and synchronous file I/O, for places
 * that cannot await (a SIGINT handler). Same layout, same atomic swap. It
 * throws if an async save to the same directory is still running.
 */
export function saveCheckpointSync(dir: string, contents: CheckpointContents, options: SaveOptions = {}): void {
  const target = path.resolve(dir);
  const plan = planCheckpoint(target, contents);
  writeDirAtomicallySync(
    dir,
    (tmp) => {
      const hash = createHash('sha256');
      const fd = fs.openSync(path.join(tmp, WEIGHTS_FILE), 'wx');
      try {
        for (const entry of plan.tensors) {
          const bytes = storedBytes(target, entry, entry.tensor.dataSync());
          hash.update(bytes);
          writeAllSync(fd, bytes);
        }
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      options.onStep?.('weights-written');
      const manifestFd = fs.openSync(path.join(tmp, MANIFEST_FILE), 'wx');
      try {
        fs.writeFileSync(manifestFd, manifestText(plan, hash.digest('hex')), 'utf8');
        fs.fsyncSync(manifestFd);
      } finally {
        fs.closeSync(manifestFd);
      }
    },
    options.onStep,
  );
}

// ------------------------------------------------------------------ load

/** Where errors of one checkpoint point: its directory, and the message prefix. */
interface Source {
  readonly dir: string;
  readonly manifestPath: string;
  readonly weightsPath: string;
  readonly fail: (file: string, message: string, cause?: unknown) => CheckpointError;
}

const sourceAt = (dir: string): Source => ({
  dir,
  manifestPath: path.join(dir, MANIFEST_FILE),
  weightsPath: path.join(dir, WEIGHTS_FILE),
  fail: (file, message, cause) =>
    new CheckpointError(file, `checkpoint ${dir}: ${message}`, cause === undefined ? undefined : { cause }),
});

const parseManifest = (src: Source, text: string): Manifest => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw src.fail(src.manifestPath, `manifest.json is not valid JSON (${messageOf(e)})`, e);
  }
  if (!isPlainObject(json)) throw src.fail(src.manifestPath, `manifest.json should hold a JSON object, not ${describeValue(json)}`);
  if (json['format'] !== FORMAT) {
    const found = json['format'] === undefined ? 'has no "format" field' : `is of format ${JSON.stringify(json['format'])}`;
    throw src.fail(src.manifestPath, `manifest.json ${found}, not '${FORMAT}': this is not a pix2pix-ts checkpoint`);
  }
  const version = json['formatVersion'];
  if (typeof version === 'number' && version > FORMAT_VERSION)
    throw src.fail(
      src.manifestPath,
      `the checkpoint has format version ${version}, newer than this pix2pix-ts (${libraryVersion()}) can read ` +
        `(up to version ${FORMAT_VERSION}): load it with a newer pix2pix-ts`,
    );
  const decoded = decodeManifest(json);
  if (E.isLeft(decoded)) throw src.fail(src.manifestPath, `manifest.json is malformed: ${decoded.left.join('; ')}`);
  return decoded.right;
};

const skeletonPaths = (s: Skeleton, p: string): string[] => {
  if (s === null) return [p];
  if (Array.isArray(s)) return (s as readonly Skeleton[]).flatMap((c, i) => skeletonPaths(c, join(p, String(i))));
  const record = s as { readonly [key: string]: Skeleton };
  return Object.keys(record).flatMap((k) => skeletonPaths(record[k]!, join(p, k)));
};

/** The tensors of each tree, by path, in manifest order. */
type Groups = ReadonlyMap<string, ReadonlyMap<string, TensorEntry>>;

/**
 * Manifest-internal consistency: each tensor's byteLength fits its shape and
 * dtype, tensors are back to back, the total is `byteLength`, no (tree,
 * path) twice, and `structure` (if present) has exactly the listed tensors.
 */
const checkLayout = (src: Source, manifest: Manifest): Groups => {
  const fail = (message: string) => src.fail(src.manifestPath, message);
  const groups = new Map<string, Map<string, TensorEntry>>();
  let end = 0;
  for (const entry of manifest.tensors) {
    const name = label(entry.tree, entry.path);
    const elements = entry.shape.reduce((n, d) => n * d, 1);
    const needed = elements * BYTES_PER_ELEMENT;
    if (entry.byteLength !== needed)
      throw fail(`tensor ${name} is listed as ${entry.byteLength} bytes, but shape ${showShape(entry.shape)} of ${entry.dtype} takes ${needed}`);
    if (entry.offset !== end)
      throw fail(
        `tensor ${name} starts at byte ${entry.offset}, but the tensors before it end at byte ${end} (tensors are stored back to back in manifest order)`,
      );
    end += entry.byteLength;
    const group = groups.get(entry.tree) ?? new Map<string, TensorEntry>();
    if (group.has(entry.path)) throw fail(`tensor ${name} is listed twice`);
    group.set(entry.path, entry);
    groups.set(entry.tree, group);
  }
  if (end !== manifest.byteLength)
    throw fail(`the tensors take ${end} bytes in all, but the manifest's byteLength is ${manifest.byteLength}`);
  const structure = manifest.structure;
  if (structure !== undefined) {
    for (const tree of groups.keys())
      if (!Object.hasOwn(structure, tree)) throw fail(`tree ${tree} has tensors but no entry in structure`);
    for (const [tree, skeleton] of Object.entries(structure)) {
      const paths = skeletonPaths(skeleton, '');
      const listed = groups.get(tree) ?? new Map<string, TensorEntry>();
      const unique = new Set(paths);
      const mismatch =
        unique.size !== paths.length || unique.size !== listed.size || paths.some((p) => !listed.has(p));
      if (mismatch)
        throw fail(
          `the structure of tree ${tree} has the tensors [${[...paths].sort().join(', ')}], ` +
            `but the tensors listed for it are [${[...listed.keys()].sort().join(', ')}]`,
        );
    }
  }
  return groups;
};

const readWeights = async (src: Source, manifest: Manifest): Promise<Buffer> => {
  const fail = (message: string, cause?: unknown) => src.fail(src.weightsPath, message, cause);
  const sizeMessage = (size: number) =>
    size < manifest.byteLength
      ? `weights.bin is ${size} bytes, the manifest says ${manifest.byteLength}: the checkpoint is truncated`
      : `weights.bin is ${size} bytes, the manifest says ${manifest.byteLength}: it holds data the manifest does not describe`;
  let size: number;
  try {
    size = (await fsp.stat(src.weightsPath)).size;
  } catch (e) {
    if (errno(e) === 'ENOENT') throw fail('weights.bin is missing');
    throw fail(`cannot read weights.bin (${messageOf(e)})`, e);
  }
  if (size !== manifest.byteLength) throw fail(sizeMessage(size));
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(src.weightsPath);
  } catch (e) {
    throw fail(`cannot read weights.bin (${messageOf(e)})`, e);
  }
  if (bytes.length !== manifest.byteLength) throw fail(sizeMessage(bytes.length));
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest !== manifest.sha256)
    throw fail(
      `the checksum does not match: weights.bin has sha256 ${digest}, the manifest says ${manifest.sha256}, ` +
        `so weights.bin is corrupt or was changed after saving`,
    );
  return bytes;
};

/** A fresh tensor holding a copy of the entry's bytes. */
const tensorOf = (bytes: Buffer, entry: TensorEntry): tf.Tensor => {
  const own = new Uint8Array(entry.byteLength);
  own.set(littleEndian(bytes.subarray(entry.offset, entry.offset + entry.byteLength)));
  const values = entry.dtype === 'float32' ? new Float32Array(own.buffer) : new Int32Array(own.buffer);
  return tf.tensor(values, [...entry.shape], entry.dtype);
};

const fromSkeleton = (s: Skeleton, p: string, leaf: (p: string) => tf.Tensor): Tree => {
  if (s === null) return leaf(p);
  if (Array.isArray(s)) return (s as readonly Skeleton[]).map((c, i) => fromSkeleton(c, join(p, String(i)), leaf));
  const record = s as { readonly [key: string]: Skeleton };
  return Object.fromEntries(Object.keys(record).map((k) => [k, fromSkeleton(record[k]!, join(p, k), leaf)]));
};

interface PathNode {
  leaf: boolean;
  readonly children: Map<string, PathNode>;
}

/**
 * A skeleton from paths alone, for manifests without `structure`: a level
 * whose keys are exactly `0..n-1` becomes an array, any other a record.
 */
const skeletonFromPaths = (src: Source, tree: string, paths: readonly string[]): Skeleton => {
  const root: PathNode = { leaf: false, children: new Map() };
  for (const p of paths) {
    let node = root;
    for (const segment of p === '' ? [] : p.split('/')) {
      if (node.leaf) break;
      const child = node.children.get(segment) ?? { leaf: false, children: new Map<string, PathNode>() };
      node.children.set(segment, child);
      node = child;
    }
    if (node.leaf || node.children.size > 0)
      throw src.fail(src.manifestPath, `tree ${tree}: tensor path '${p}' is also the prefix of another tensor's path`);
    node.leaf = true;
  }
  const toSkeleton = (node: PathNode): Skeleton => {
    if (node.leaf) return null;
    const keys = [...node.children.keys()];
    const isArray = keys.length > 0 && keys.every((k) => /^(0|[1-9]\d*)$/.test(k)) && keys.every((k) => Number(k) < keys.length);
    if (isArray) return keys.map((_, i) => toSkeleton(node.children.get(String(i))!));
    return Object.fromEntries(keys.map((k) => [k, toSkeleton(node.children.get(k)!)]));
  };
  return toSkeleton(root);
};

/** Check a template against the checkpoint's tensors: every difference, in one error. */
const checkTemplate = (src: Source, groups: Groups, treeNames: readonly string[], template: Readonly<Record<string, Tree>>): void => {
  const problems: string[] = [];
  for (const name of Object.keys(template).sort()) {
    if (!treeNames.includes(name))
      throw src.fail(
        src.manifestPath,
        `the checkpoint has no tree ${name} (its trees: ${treeNames.length === 0 ? 'none' : treeNames.join(', ')})`,
      );
    const listed = groups.get(name) ?? new Map<string, TensorEntry>();
    const expected = flatten(template[name]!);
    const expectedPaths = new Set(expected.map(([p]) => p));
    if (expectedPaths.size !== expected.length)
      throw src.fail(src.manifestPath, `the template of tree ${name} has two tensors with the same path (a record key contains '/')`);
    for (const [p, t] of expected) {
      const entry = listed.get(p);
      if (entry === undefined)
        problems.push(`${label(name, p)}: the model has ${showShape(t.shape)} ${t.dtype}, the checkpoint has no such tensor`);
      else if (!sameShape(entry.shape, t.shape))
        problems.push(`${label(name, p)}: checkpoint has ${showShape(entry.shape)}, the model expects ${showShape(t.shape)}`);
      else if (entry.dtype !== t.dtype)
        problems.push(`${label(name, p)}: checkpoint has ${entry.dtype}, the model expects ${t.dtype}`);
    }
    for (const [p, entry] of listed)
      if (!expectedPaths.has(p))
        problems.push(`${label(name, p)}: checkpoint has ${showShape(entry.shape)} ${entry.dtype}, the model has no such tensor`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 8).join('; ');
    const more = problems.length > 8 ? `; and ${problems.length - 8} more` : '';
    throw src.fail(src.manifestPath, `${shown}${more}: this checkpoint was saved from a different model`);
  }
};

/**
 * Load a checkpoint saved by `saveCheckpoint`. If `dir` is missing but the
 * backup `<dir>.old` of an interrupted save exists, that is loaded instead.
 *
 * Everything is checked before any tensor is made: the manifest (decoded
 * with io-ts; errors name the field), weights.bin's size and SHA-256, each
 * tensor's offset and byteLength against its shape and dtype. With a
 * `template` (trees of the same structure, e.g. freshly initialised
 * params), each template tree must be in the checkpoint with exactly the
 * same tensor paths, shapes and dtypes, and the result has the template's
 * structure; checkpoint trees the template does not name are not loaded.
 * Without a template, every tree is rebuilt as it was saved.
 *
 * The returned tensors are new, and the caller owns (and disposes) them.
 * Every failure is a `CheckpointError` whose `path` is the file at fault.
 */
export async function loadCheckpoint(dir: string, template?: Readonly<Record<string, Tree>>): Promise<CheckpointContents> {
  const requested = path.resolve(dir);
  let found: string | undefined;
  try {
    found = await resolveDir(requested);
  } catch (e) {
    throw new CheckpointError(requested, `cannot read checkpoint ${requested} (${messageOf(e)})`, { cause: e });
  }
  if (found === undefined) throw new CheckpointError(requested, `checkpoint directory ${requested} does not exist`);
  const src = sourceAt(found);

  let text: string;
  try {
    text = await fsp.readFile(src.manifestPath, 'utf8');
  } catch (e) {
    const code = errno(e);
    if (code === 'ENOENT')
      throw src.fail(src.manifestPath, 'manifest.json is missing: this is not a checkpoint, or its save never completed');
    if (code === 'ENOTDIR') throw src.fail(src.dir, `${src.dir} is not a directory`);
    throw src.fail(src.manifestPath, `cannot read manifest.json (${messageOf(e)})`, e);
  }
  const manifest = parseManifest(src, text);
  const groups = checkLayout(src, manifest);
  const bytes = await readWeights(src, manifest);
  const treeNames = manifest.structure !== undefined ? Object.keys(manifest.structure) : [...groups.keys()];

  if (template !== undefined) {
    checkTemplate(src, groups, treeNames, template);
    const trees = Object.fromEntries(
      Object.keys(template).map((name) => {
        const listed = groups.get(name) ?? new Map<string, TensorEntry>();
        const shape = template[name]!;
        return [name, withLeaves(shape, flatten(shape).map(([p]) => tensorOf(bytes, listed.get(p)!)))];
      }),
    );
    return { trees, meta: manifest.meta };
  }

  const structure = manifest.structure;
  const skeletons = treeNames.map((name): [string, Skeleton] => [
    name,
    structure !== undefined ? structure[name]! : skeletonFromPaths(src, name, [...(groups.get(name)?.keys() ?? [])]),
  ]);
  const trees = Object.fromEntries(
    skeletons.map(([name, skeleton]) => {
      const listed = groups.get(name) ?? new Map<string, TensorEntry>();
      return [name, fromSkeleton(skeleton, '', (p) => tensorOf(bytes, listed.get(p)!))];
    }),
  );
  return { trees, meta: manifest.meta };
}
