/**
 * Decoding a checkpoint's manifest and weights into trees, with every check
 * (the manifest's fields, the tensors' layout, a template's shapes) done
 * before any tensor is made. No file I/O: checkpoint-load.ts reads the
 * files and hands their contents here.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { flatten, withLeaves, type Tree } from '../core/tree.ts';
import { describeValue, isPlainObject, joinPath, label, libraryVersion, littleEndian, messageOf, sameShape, showShape } from './common.ts';
import type { CheckpointError } from './errors.ts';
import { BYTES_PER_ELEMENT, decodeManifest, FORMAT, FORMAT_VERSION, type Manifest, type Skeleton, type TensorEntry } from './manifest.ts';

/** Where errors of one checkpoint point: its directory, and the message prefix. */
export interface Source {
  readonly dir: string;
  readonly manifestPath: string;
  readonly weightsPath: string;
  readonly fail: (file: string, message: string, cause?: unknown) => CheckpointError;
}

export const parseManifest = (src: Source, text: string): Manifest => {
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
export type Groups = ReadonlyMap<string, ReadonlyMap<string, TensorEntry>>;

/**
 * Manifest-internal consistency: each tensor's byteLength fits its shape and
 * dtype, tensors are back to back, the total is `byteLength`, no (tree,
 * path) twice, and `structure` (if present) has exactly the listed tensors.
 */
export const checkLayout = (src: Source, manifest: Manifest): Groups => {
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

/** weights.bin's bytes against the manifest: their size, then their SHA-256 (hex), each failure saying which. */
export const checkWeights = (src: Source, manifest: Manifest, size: number, digest?: string): void => {
  if (size !== manifest.byteLength)
    throw src.fail(
      src.weightsPath,
      size < manifest.byteLength
        ? `weights.bin is ${size} bytes, the manifest says ${manifest.byteLength}: the checkpoint is truncated`
        : `weights.bin is ${size} bytes, the manifest says ${manifest.byteLength}: it holds data the manifest does not describe`,
    );
  if (digest !== undefined && digest !== manifest.sha256)
    throw src.fail(
      src.weightsPath,
      `the checksum does not match: weights.bin has sha256 ${digest}, the manifest says ${manifest.sha256}, ` +
        `so weights.bin is corrupt or was changed after saving`,
    );
};

/** A fresh tensor holding a copy of the entry's bytes. */
const tensorOf = (bytes: Uint8Array, entry: TensorEntry): tf.Tensor => {
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
export const checkTemplate = (src: Source, groups: Groups, treeNames: readonly string[], template: Readonly<Record<string, Tree>>): void => {
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
 * The trees of a checked manifest from its weights: in the template's
 * structure (checked against it first), or each as it was saved.
 */
export const treesOf = (src: Source, manifest: Manifest, groups: Groups, bytes: Uint8Array, template?: Readonly<Record<string, Tree>>): Record<string, Tree> => {
  const treeNames = manifest.structure !== undefined ? Object.keys(manifest.structure) : [...groups.keys()];

  if (template !== undefined) {
    checkTemplate(src, groups, treeNames, template);
    return Object.fromEntries(
      Object.keys(template).map((name) => {
        const listed = groups.get(name) ?? new Map<string, TensorEntry>();
        const shape = template[name]!;
        return [name, withLeaves(shape, flatten(shape).map(([p]) => tensorOf(bytes, listed.get(p)!)))];
      }),
    );
  }

  const structure = manifest.structure;
  const skeletons = treeNames.map((name): [string, Skeleton] => [
    name,
    structure !== undefined ? structure[name]! : skeletonFromPaths(src, name, [...(groups.get(name)?.keys() ?? [])]),
  ]);
  return Object.fromEntries(
    skeletons.map(([name, skeleton]) => {
      const listed = groups.get(name) ?? new Map<string, TensorEntry>();
      return [name, fromSkeleton(skeleton, '', (p) => tensorOf(bytes, listed.get(p)!))];
    }),
  );
};
