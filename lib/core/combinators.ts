/**
 * Combinators: layers made of layers, each written with `combinator`, the
 * builder a user's own combinator uses too.
 *
 *   seq(a, b, c)                     one after another
 *   parallel(merge, a, b)            every branch sees the input; merge joins them
 *   skip(inner)                      parallel(concat, identity(), inner): the U-Net skip
 *   residual(inner)                  parallel(add, identity(), inner): x + inner(x)
 *   named(name, layer)               a name in error paths and summaries
 *   identity()                       the input itself
 *   feature(layer)                   its output is an intermediate feature (ctx.features)
 */
import * as tf from '@tensorflow/tfjs';
import { addN } from '../ops/add-n.ts';
import type { GraphBuilder } from './graph.ts';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { combinator, planFor } from './combinator.ts';
import type { Layer, Plan } from './layer.ts';
import { showShape, showSize, within, type Shape } from './shape.ts';
import { leaf } from './leaf.ts';
import { pointwise } from '../geometry/geom.ts';

/** Layers applied one after another: the output shape of each is the input of the next. */
export const seq = (...layers: readonly Layer[]): Layer =>
  combinator({
    name: 'seq',
    children: layers,
    composition: 'serial',
    apply: (x, children) => children.reduce((y, child) => child(y), x),
    graph: (x, children) => children.reduce((y, child) => child(y), x),
  });

/** How `parallel` joins its branches' outputs: the output shape (or why they do not fit) and the tensor. */
export interface Merge {
  readonly name: string;
  readonly output: (shapes: readonly Shape[]) => E.Either<string, Shape>;
  readonly apply: (ys: readonly tf.Tensor4D[]) => tf.Tensor4D;
  /** The join as a graph node (export); absent: not exportable. */
  readonly graph?: (ys: readonly string[], g: GraphBuilder) => string;
}

export const merge = (name: string, output: Merge['output'], apply: Merge['apply'], graph?: Merge['graph']): Merge => ({ name, output, apply, ...(graph ? { graph } : {}) });

const sameSize = (shapes: readonly Shape[]) => shapes.every((s) => s[0] === shapes[0]![0] && s[1] === shapes[0]![1]);

/** Concatenation along channels: the branches must agree in height and width. */
export const concat: Merge = merge(
  'concat',
  (shapes) =>
    sameSize(shapes)
      ? E.right([shapes[0]![0], shapes[0]![1], shapes.reduce((c, s) => c + s[2], 0)] as const)
      : E.left(`branch outputs ${shapes.map(showSize).join(', ')} differ in size, so they cannot be concatenated`),
  (ys) => (ys.length === 1 ? ys[0]! : (tf.concat(ys as tf.Tensor4D[], 3) as tf.Tensor4D)),
  (ys, g) => (ys.length === 1 ? ys[0]! : g.node('Concat', ys, { axis: 1 })), // channels: axis 1 in NCHW
);

/** The element-wise sum: the branches must agree in shape. */
export const add: Merge = merge(
  'add',
  (shapes) =>
    sameSize(shapes) && shapes.every((s) => s[2] === shapes[0]![2])
      ? E.right(shapes[0]!)
      : E.left(`branch outputs ${shapes.map(showShape).join(', ')} differ in shape, so they cannot be added`),
  (ys) => (ys.length === 1 ? ys[0]! : (addN(ys as tf.Tensor4D[]) as tf.Tensor4D)),
  (ys, g) => (ys.length === 1 ? ys[0]! : g.node('Sum', ys)),
);

/**
 * Branches applied to the same input, joined by `merge` (`concat`, `add`, or
 * a user's `merge(name, output, apply)`). An `identity()` branch is the
 * input itself. Its geometry is the union of the branches' footprints.
 */
export const parallel = (join: Merge, ...branches: readonly Layer[]): Layer => {
  if (branches.length === 0) throw new RangeError(`parallel(${join.name}) needs at least one branch`);
  return combinator({
    name: join.name,
    children: branches,
    composition: 'parallel',
    output: (_input, outputs) => join.output(outputs),
    apply: (x, children) => join.apply(children.map((child) => child(x))),
    ...(join.graph ? { graph: (x: string, children: ReadonlyArray<(x: string) => string>, g: GraphBuilder) => join.graph!(children.map((child) => child(x)), g) } : {}),
  });
};

/** The identity. As a branch of `parallel` it is the input itself (`skip`, `residual`). */
export const identity = (): Layer => ({ ...leaf({ name: 'identity', geom: pointwise, output: (s) => E.right(s), apply: (_p, _s, x) => x, graph: (_p, _s, x) => x }), identity: true });

const skipConcat = merge(
  'skip',
  ([x, y]) =>
    x![0] === y![0] && x![1] === y![1]
      ? concat.output([x!, y!])
      : E.left(
          `inner output ${showSize(y!)} does not match input ${showSize(x!)}, ` +
            `so they cannot be concatenated (each level halves the size: it must be divisible by 2 at every level)`,
        ),
  concat.apply,
  concat.graph,
);

/**
 * The U-Net skip: concatenate x with inner(x) along channels. The inner
 * layer must keep the spatial size. Its weights are inner's, unrenamed.
 */
export const skip = (inner: Layer): Layer => parallel(skipConcat, identity(), inner);

/** x + inner(x): the inner layer must keep the shape (a ResNet block's connection). */
export const residual = (inner: Layer): Layer =>
  parallel(merge('residual', (shapes) => E.mapLeft(() => `inner output ${showShape(shapes[1]!)} must equal its input ${showShape(shapes[0]!)}`)(add.output(shapes)), add.apply, add.graph), identity(), inner);

/**
 * Give a layer a name: it appears in error paths and summaries. Scopes of
 * one `group` nested directly in each other show only the innermost, so a
 * recursion reads `unet › level 8 › conv 4x4/2` rather than every level on
 * the way down.
 */
export const named = (name: string, layer: Layer, opts: { group?: string } = {}): Layer => {
  const plan: Layer['plan'] = (at) =>
    pipe(
      layer.plan(at),
      E.bimap(within(name, opts.group), (p): Plan => ({
        name,
        ...(opts.group !== undefined ? { group: opts.group } : {}),
        input: at,
        output: p.output,
        params: 0,
        composition: 'serial',
        children: [p],
        geom: p.geom,
      })),
    );
  const self: Layer = {
    ...layer,
    name,
    plan,
    shape: (at) => pipe(plan(at), E.map((p) => p.output)),
    init: (key, at) => layer.init(key, planFor(self, at).children[0]!),
  };
  return self;
};

/**
 * Mark a layer's output as one of the network's intermediate features:
 * when the context collects them (`ctx.features`), the output is appended.
 * Nothing else changes: not its plan, its weights, nor its key.
 */
export const feature = (layer: Layer): Layer => ({
  ...layer,
  apply: (params, state, x, ctx) => {
    const out = layer.apply(params, state, x, ctx);
    ctx.features?.push(out[0]);
    return out;
  },
});
