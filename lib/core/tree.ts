/**
 * Parameter and state trees: plain nested arrays and records of tensors.
 * No tf.Variable anywhere, so an optimiser update is an ordinary function.
 */
import * as tf from '@tensorflow/tfjs';

export type Tree = tf.Tensor | readonly Tree[] | { readonly [key: string]: Tree };

export const isTensor = (t: unknown): t is tf.Tensor => t instanceof tf.Tensor;

/** Every tensor of a tree with its path (`0/1/w`), in a stable order. */
export const flatten = (tree: Tree, prefix = ''): Array<[string, tf.Tensor]> => {
  if (isTensor(tree)) return [[prefix, tree]];
  const entries: Array<[string, Tree]> = Array.isArray(tree)
    ? (tree as readonly Tree[]).map((t, i) => [String(i), t])
    : Object.keys(tree)
        .sort()
        .map((k) => [k, (tree as { readonly [key: string]: Tree })[k]!]);
  return entries.flatMap(([k, t]) => flatten(t, prefix === '' ? k : `${prefix}/${k}`));
};

export const leaves = (tree: Tree): tf.Tensor[] => flatten(tree).map(([, t]) => t);

/** Number of scalars in a tree. */
export const size = (tree: Tree): number => leaves(tree).reduce((n, t) => n + t.size, 0);

/** The same tree with `f` applied to every tensor. */
export const mapTree = (tree: Tree, f: (t: tf.Tensor, path: string) => tf.Tensor, prefix = ''): Tree => {
  if (isTensor(tree)) return f(tree, prefix);
  const at = (k: string) => (prefix === '' ? k : `${prefix}/${k}`);
  if (Array.isArray(tree)) return (tree as readonly Tree[]).map((t, i) => mapTree(t, f, at(String(i))));
  const record = tree as { readonly [key: string]: Tree };
  return Object.fromEntries(Object.keys(record).map((k) => [k, mapTree(record[k]!, f, at(k))]));
};

export const disposeTree = (tree: Tree): void => leaves(tree).forEach((t) => t.dispose());

/** The same tree with its tensors replaced, in `flatten` order (e.g. by gradients from tf.grads). */
export const withLeaves = (tree: Tree, tensors: readonly tf.Tensor[]): Tree => {
  const paths = flatten(tree).map(([p]) => p);
  if (paths.length !== tensors.length)
    throw new Error(`withLeaves: the tree has ${paths.length} tensors, got ${tensors.length}`);
  const byPath = new Map(paths.map((p, i) => [p, tensors[i]!]));
  return mapTree(tree, (_t, path) => byPath.get(path)!);
};

/**
 * Every tensor anywhere in a nested value of arrays and records (a tree, an
 * optimiser state with its numbers, an image pool, a step's intermediate
 * results); everything else is passed over.
 */
export const tensorsIn = (v: unknown): tf.Tensor[] =>
  isTensor(v) ? [v] : Array.isArray(v) ? v.flatMap(tensorsIn) : v !== null && typeof v === 'object' ? Object.values(v).flatMap(tensorsIn) : [];
