// Parameter trees (lib/core/tree.ts) against a second, plain implementation
// (the recursive path-string forms these walks had before they were made
// allocation-light), on random nested arrays and records.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { flatten, leaves, tensorsIn, withLeaves, type Tree } from '../lib/core/tree.ts';

const made: tf.Tensor[] = [];
afterAll(() => tf.dispose(made));
const scalar = () => {
  const t = tf.scalar(made.length);
  made.push(t);
  return t;
};

/** Random trees: records with keys that sort differently from their insertion order, arrays, scalars. */
const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null).map(() => scalar() as Tree),
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.uniqueArray(fc.tuple(fc.constantFrom('w', 'b', 'gamma', 'beta', '10', '2', 'Z', 'a'), tie('tree')), { selector: ([k]) => k, maxLength: 4 }).map((es) => Object.fromEntries(es) as Tree),
  ),
})).tree;

// The oracle: flatten and withLeaves as first written (paths, then a lookup by path).
const isT = (t: unknown): t is tf.Tensor => t instanceof tf.Tensor;
const flattenRef = (tree: Tree, prefix = ''): Array<[string, tf.Tensor]> => {
  if (isT(tree)) return [[prefix, tree]];
  const entries: Array<[string, Tree]> = Array.isArray(tree)
    ? (tree as readonly Tree[]).map((t, i) => [String(i), t])
    : Object.keys(tree).sort().map((k) => [k, (tree as Record<string, Tree>)[k]!]);
  return entries.flatMap(([k, t]) => flattenRef(t, prefix === '' ? k : `${prefix}/${k}`));
};
const mapRef = (tree: Tree, f: (path: string) => tf.Tensor, prefix = ''): Tree => {
  if (isT(tree)) return f(prefix);
  const at = (k: string) => (prefix === '' ? k : `${prefix}/${k}`);
  if (Array.isArray(tree)) return (tree as readonly Tree[]).map((t, i) => mapRef(t, f, at(String(i))));
  return Object.fromEntries(Object.keys(tree).map((k) => [k, mapRef((tree as Record<string, Tree>)[k]!, f, at(k))]));
};
const withLeavesRef = (tree: Tree, xs: readonly tf.Tensor[]): Tree => {
  const byPath = new Map(flattenRef(tree).map(([p], i) => [p, xs[i]!]));
  return mapRef(tree, (p) => byPath.get(p)!);
};
const tensorsRef = (v: unknown): tf.Tensor[] =>
  isT(v) ? [v] : Array.isArray(v) ? v.flatMap(tensorsRef) : v !== null && typeof v === 'object' ? Object.values(v).flatMap(tensorsRef) : [];

/** A tree's shape and the ids of its tensors, key order included. */
const show = (t: unknown): unknown => (isT(t) ? `t${t.id}` : Array.isArray(t) ? t.map(show) : Object.entries(t as object).map(([k, c]) => [k, show(c)]));

describe('parameter trees', () => {
  it('flatten and leaves give the paths and tensors of the plain recursive form, in its order', () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const want = flattenRef(tree);
        expect(flatten(tree).map(([p, t]) => [p, t.id])).toEqual(want.map(([p, t]) => [p, t.id]));
        expect(leaves(tree).map((t) => t.id)).toEqual(want.map(([, t]) => t.id));
        expect(flatten(tree, 'g').map(([p]) => p)).toEqual(flattenRef(tree, 'g').map(([p]) => p));
      }),
      { numRuns: 300, seed: 15 },
    );
  });

  it('withLeaves puts tensors where the path lookup put them and keeps every record\'s key order', () => {
    fc.assert(
      fc.property(treeArb, (tree) => {
        const xs = leaves(tree).map(() => scalar()).reverse();
        expect(show(withLeaves(tree, xs))).toEqual(show(withLeavesRef(tree, xs)));
        expect(leaves(withLeaves(tree, xs)).map((t) => t.id)).toEqual(xs.map((t) => t.id));
      }),
      { numRuns: 300, seed: 16 },
    );
  });

  it('withLeaves names both counts when they differ', () => {
    const tree = { w: scalar(), b: [scalar(), scalar()] };
    expect(() => withLeaves(tree, [scalar()])).toThrow('withLeaves: the tree has 3 tensors, got 1');
  });

  it('tensorsIn finds every tensor of any nested value, numbers and nulls passed over, in the plain form\'s order', () => {
    fc.assert(
      fc.property(treeArb, fc.integer(), (tree, n) => {
        const value = { count: n, none: null, tree, more: [tree, 'x', { t: tree }] };
        expect(tensorsIn(value).map((t) => t.id)).toEqual(tensorsRef(value).map((t) => t.id));
      }),
      { numRuns: 200, seed: 17 },
    );
  });
});
