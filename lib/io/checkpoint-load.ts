/**
 * Loading checkpoints (the format: checkpoint.ts, docs/checkpoints.md), and
 * finding the newest complete one after a crash (recover.ts).
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { flatten, withLeaves, type Tree } from '../core/tree.ts';
import { describeValue, isPlainObject, joinPath, label, libraryVersion, littleEndian, messageOf, sameShape, showShape } from './common.ts';
import { CheckpointError, errnoOf } from './errors.ts';
import {
  BYTES_PER_ELEMENT,
  decodeManifest,
  FORMAT,
  FORMAT_VERSION,
  MANIFEST_FILE,
  WEIGHTS_FILE,
  type Manifest,
  type Skeleton,
  type TensorEntry,
} from './manifest.ts';
import { settleDir, versionsOf, type Version } from './recover.ts';
import type { CheckpointContents } from './checkpoint.ts';

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
  if (Array.isArray(s)) return (s as readonly Skeleton[]).flatMap((c, i) => skeletonPaths(c, joinPath(p, String(i))));
  const record = s as { readonly [key: string]: Skeleton };
  return Object.keys(record).flatMap((k) => skeletonPaths(record[k]!, joinPath(p, k)));
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
    if (errnoOf(e) === 'ENOENT') throw fail('weights.bin is missing');
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
  if (Array.isArray(s)) return (s as readonly Skeleton[]).map((c, i) => fromSkeleton(c, joinPath(p, String(i)), leaf));
  const record = s as { readonly [key: string]: Skeleton };
  return Object.fromEntries(Object.keys(record).map((k) => [k, fromSkeleton(record[k]!, joinPath(p, k), leaf)]));
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
 * Load a checkpoint saved by `saveCheckpoint`: the newest complete version
 * of `dir` (`findCheckpoint`), so after a crash in the middle of a save this
 * is the checkpoint that save completed, or else the one before it. A save
 * by another process that moves the version away while it is read makes
 * the load look again (twice at most).
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
  for (let attempt = 1; ; attempt++) {
    const version = await findCheckpoint(requested);
    if (version === undefined) throw new CheckpointError(requested, `checkpoint directory ${requested} does not exist`);
    const before = await signature(version);
    try {
      return await loadFrom(sourceAt(version.path), template);
    } catch (e) {
      const now = await findCheckpoint(requested).catch(() => undefined);
      const moved = now === undefined || now.path !== version.path || (await signature(now)) !== before;
      if (attempt < 3 && e instanceof CheckpointError && moved) continue;
      throw e;
    }
  }
}

/** Which version, and when its manifest was written: it changes when a save replaces it. */
const signature = async (v: CheckpointVersion): Promise<string> => {
  try {
    return `${v.path} ${(await fsp.stat(path.join(v.path, MANIFEST_FILE))).mtimeMs}`;
  } catch {
    return `${v.path} -`;
  }
};

const loadFrom = async (src: Source, template?: Readonly<Record<string, Tree>>): Promise<CheckpointContents> => {
  let text: string;
  try {
    text = await fsp.readFile(src.manifestPath, 'utf8');
  } catch (e) {
    const code = errnoOf(e);
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
};

/** A version of a checkpoint directory: where it is, and whether it is `dir` itself, its backup or a save's completed temporary copy. */
export type CheckpointVersion = Version;

/** Manifest decodes and weights.bin has its size: a save got as far as writing both (no checksum: loading checks that). */
const looksComplete = async (dir: string): Promise<boolean> => {
  try {
    const decoded = decodeManifest(JSON.parse(await fsp.readFile(path.join(dir, MANIFEST_FILE), 'utf8')));
    return E.isRight(decoded) && (await fsp.stat(path.join(dir, WEIGHTS_FILE))).size === decoded.right.byteLength;
  } catch {
    return false;
  }
};

/**
 * The newest complete version of checkpoint `dir` (see recover.ts): the
 * finished temporary copy of a save that crashed before its rename, else
 * `dir`, else its backup `dir.old`; undefined when there is none.
 */
export const findCheckpoint = async (dir: string): Promise<CheckpointVersion | undefined> => {
  try {
    return (await versionsOf(dir, looksComplete))[0];
  } catch (e) {
    throw new CheckpointError(path.resolve(dir), `cannot read checkpoint ${path.resolve(dir)} (${messageOf(e)})`, { cause: e });
  }
};

/**
 * Make `dir` the newest complete checkpoint again after a crash: finish
 * the interrupted swap or roll it back, and remove leftovers. Only for the
 * process that writes `dir` (the holder of the run's lock).
 */
export const settleCheckpoint = (dir: string): Promise<'finished' | 'rolled back' | 'cleaned' | undefined> => settleDir(dir, looksComplete);
