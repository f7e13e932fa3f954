/**
 * Combinators: layers made of layers. Each is an ordinary function from
 * layers to a layer, written against the same interface a user would use.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { parallel, pointwise, serial } from '../geometry/geom.ts';
import { foldIn } from './key.ts';
import type { Layer, Plan } from './layer.ts';
import { orThrow, shapeError, showSize, within, type Shape, type ShapeError } from './shape.ts';
import type { Tree } from './tree.ts';

const outputOf = (plan: E.Either<ShapeError, Plan>) => pipe(plan, E.map((p) => p.output));

/** Layers applied one after another: the output shape of each is the input of the next. */
export const seq = (...layers: readonly Layer[]): Layer => {
  const plan: Layer['plan'] = (input) => {
    const children: Plan[] = [];
    let shape: Shape = input;
    for (const layer of layers) {
      const child = layer.plan(shape);
      if (E.isLeft(child)) return child;
      children.push(child.right);
      shape = child.right.output;
    }
    return E.right({ name: 'seq', input, output: shape, params: 0, composition: 'serial', children, geom: serial(layers.map((l) => l.geom)) });
  };
  return {
    name: 'seq',
    geom: serial(layers.map((l) => l.geom)),
    plan,
    shape: (input) => outputOf(plan(input)),
    init: (key, input) => {
      const params: Tree[] = [];
      const state: Tree[] = [];
      let shape: Shape = input;
      layers.forEach((layer, i) => {
        const made = layer.init(foldIn(key, i), shape);
        params.push(made.params);
        state.push(made.state);
        shape = orThrow(layer.shape(shape));
      });
      return { params, state };
    },
    apply: (params, state, x, ctx) => {
      const ps = params as readonly Tree[];
      const ss = state as readonly Tree[];
      const newState: Tree[] = [];
      let y = x;
      layers.forEach((layer, i) => {
        const [out, s] = layer.apply(ps[i]!, ss[i]!, y, { ...ctx, key: foldIn(ctx.key, i) });
        newState.push(s);
        y = out;
      });
      return [y, newState];
    },
  };
};

/**
 * The U-Net skip: concatenate x with inner(x) along channels. The inner
 * layer must keep the spatial size.
 */
export const skip = (inner: Layer): Layer => {
  const plan: Layer['plan'] = (input) =>
    pipe(
      inner.plan(input),
      E.chain((child) =>
        child.output[0] === input[0] && child.output[1] === input[1]
          ? E.right<ShapeError, Plan>({
              name: 'skip',
              input,
              output: [input[0], input[1], input[2] + child.output[2]] as const,
              params: 0,
              composition: 'parallel',
              children: [child],
              geom: parallel([pointwise, inner.geom]),
            })
          : E.left(
              within('skip')(
                shapeError(
                  `inner output ${showSize(child.output)} does not match input ${showSize(input)}, ` +
                    `so they cannot be concatenated (each level halves the size: it must be divisible by 2 at every level)`,
                ),
              ),
            ),
      ),
    );
  return {
    name: 'skip',
    geom: parallel([pointwise, inner.geom]),
    plan,
    shape: (input) => outputOf(plan(input)),
    init: (key, input) => inner.init(key, input),
    apply: (params, state, x, ctx) => {
      const [y, s] = inner.apply(params, state, x, ctx);
      return [tf.concat([x, y], 3), s];
    },
  };
};

/**
 * Give a layer a name: it appears in error paths and summaries. Scopes of
 * one `group` nested directly in each other show only the innermost, so a
 * recursion reads `unet › level 8 › conv 4x4/2` rather than every level on
 * the way down.
 */
export const named = (name: string, layer: Layer, opts: { group?: string } = {}): Layer => {
  const plan: Layer['plan'] = (input) =>
    pipe(
      layer.plan(input),
      E.bimap(within(name, opts.group), (p) => ({
        name,
        ...(opts.group !== undefined ? { group: opts.group } : {}),
        input,
        output: p.output,
        params: 0,
        composition: 'serial' as const,
        children: [p],
        geom: p.geom,
      })),
    );
  return {
    ...layer,
    name,
    plan,
    shape: (input) => outputOf(plan(input)),
  };
};
