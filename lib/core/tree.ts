/**
 * Parameter and state trees: plain nested arrays and records of tensors.
 * No tf.Variable anywhere, so an optimiser update is an ordinary function.
 */
import * as tf from '@tensorflow/tfjs';

export type Tree = tf.Tensor | readonly Tree[] | { readonly [key: string]: Tree };

export const isTensor = (t: unknown): t is tf.Tensor => t instanceof tf.Tensor;

/** Every tensor of a tree with its path (`0/1/w`), in a stable order: arrays in order, records by sorted key. */
export const flatten = (tree: Tree, prefix = ''): Array<[string, tf.Tensor]> => {
  const out: Array<[string, tf.Tensor]> = [];
  const walk = (t: Tree, path: string): void => {
    if (isTensor(t)) out.push([path, t]);
    else if (Array.isArray(t)) (t as readonly Tree[]).forEach((c, i) => walk(c, path === '' ? String(i) : `${path}/${i}`));
    else for (const k of Object.keys(t).sort()) walk((t as { readonly [key: string]: Tree })[k]!, path === '' ? k : `${path}/${k}`);
  };
  walk(tree, prefix);
  return out;
};

/** flatten's tensors without their paths (what a step walks many times: no strings made). */
export const leaves = (tree: Tree): tf.Tensor[] => {
  const out: tf.Tensor[] = [];
  const walk = (t: Tree): void => {
    if (isTensor(t)) out.push(t);
    else if (Array.isArray(t)) for (const c of t as readonly Tree[]) walk(c);
    else for (const k of Object.keys(t).sort()) walk((t as { readonly [key: string]: Tree })[k]!);
  };
  walk(tree);
  return out;
};

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

/** The same tree with its tensors replaced, in `flatten` order (e.g. by gradients from tf.grads); records keep their key order. */
export const withLeaves = (tree: Tree, tensors: readonly tf.Tensor[]): Tree => {
  const n = leaves(tree).length;
  if (n !== tensors.length) throw new Error(`withLeaves: the tree has ${n} tensors, got ${tensors.length}`);
  let next = 0;
  const build = (t: Tree): Tree => {
    if (isTensor(t)) return tensors[next++]!;
    if (Array.isArray(t)) return (t as readonly Tree[]).map(build);
    const record = t as { readonly [key: string]: Tree };
    const keys = Object.keys(record);
    const built = new Map<string, Tree>();
    for (const k of [...keys].sort()) built.set(k, build(record[k]!)); // consumed in flatten's order
    return Object.fromEntries(keys.map((k) => [k, built.get(k)!]));
  };
  return build(tree);
};

/**
 * Every tensor anywhere in a nested value of arrays and records (a tree, an
 * optimiser state with its numbers, an image pool, a step's intermediate
 * results); everything else is passed over.
 */
export const tensorsIn = (v: unknown): tf.Tensor[] => {
  const out: tf.Tensor[] = [];
  const walk = (x: unknown): void => {
    if (isTensor(x)) out.push(x);
    else if (Array.isArray(x)) for (const c of x) walk(c);
    else if (x !== null && typeof x === 'object') for (const c of Object.values(x)) walk(c);
  };
  walk(v);
  return out;
};
