/**
 * `leaf` turns a small description into a Layer: the way every primitive
 * (conv, norm, relu, ...) is written, and the way to write your own.
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Geom } from '../geometry/geom.ts';
import { foldIn, seedOf, type Key } from './key.ts';
import { normalValues } from './normal.ts';
import { planFor } from './combinator.ts';
import type { Ctx, Layer } from './layer.ts';
import type { GraphBuilder } from './graph.ts';
import type { Tree } from './tree.ts';
import { shapeError, within, type Shape } from './shape.ts';

/** How a parameter (or state) tensor starts. */
export type Initializer =
  | { readonly kind: 'normal'; readonly mean: number; readonly std: number }
  | { readonly kind: 'constant'; readonly value: number };

export interface TensorSpec {
  readonly shape: readonly number[];
  readonly init: Initializer;
}

export const normal = (shape: readonly number[], mean: number, std: number): TensorSpec => ({
  shape,
  init: { kind: 'normal', mean, std },
});
export const constant = (shape: readonly number[], value: number): TensorSpec => ({
  shape,
  init: { kind: 'constant', value },
});
export const zeros = (shape: readonly number[]): TensorSpec => constant(shape, 0);
export const ones = (shape: readonly number[]): TensorSpec => constant(shape, 1);

export type Tensors = { readonly [name: string]: tf.Tensor };

export interface LeafSpec {
  readonly name: string;
  readonly geom: Geom;
  /** The output shape, or a message saying why this input is invalid. */
  readonly output: (input: Shape) => E.Either<string, Shape>;
  readonly params?: (input: Shape) => { readonly [name: string]: TensorSpec };
  readonly state?: (input: Shape) => { readonly [name: string]: TensorSpec };
  /** Return the output, or [output, new state] for stateful layers. */
  readonly apply: (
    params: Tensors,
    state: Tensors,
    x: tf.Tensor4D,
    ctx: Ctx,
  ) => tf.Tensor4D | readonly [tf.Tensor4D, Tensors];
  /** The layer as graph nodes (export), from the name of its input; `input` is its planned input shape (HWC). */
  readonly graph?: (params: Tensors, state: Tensors, x: string, g: GraphBuilder) => string;
}

const materialise = (spec: TensorSpec, key: Key): tf.Tensor => {
  const shape = [...spec.shape];
  return spec.init.kind === 'normal'
    ? tf.tensor(normalValues(shape.reduce((a, b) => a * b, 1), spec.init.mean, spec.init.std, seedOf(key)), shape, 'float32')
    : tf.fill(shape, spec.init.value, 'float32');
};

const count = (specs: { readonly [name: string]: TensorSpec }): number =>
  Object.values(specs).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);

export const leaf = (spec: LeafSpec): Layer => {
  const plan: Layer['plan'] = (input) =>
    pipe(
      spec.output(input),
      E.mapLeft((message) => within(spec.name)(shapeError(message))),
      E.map((output) => ({
        name: spec.name,
        input,
        output,
        params: spec.params ? count(spec.params(input)) : 0,
        composition: 'leaf' as const,
        children: [],
        geom: spec.geom,
      })),
    );
  const build = (specs: { readonly [name: string]: TensorSpec } | undefined, key: Key) =>
    Object.fromEntries(Object.entries(specs ?? {}).map(([name, s]) => [name, materialise(s, foldIn(key, name))]));
  const graph = spec.graph;
  const self: Layer = {
    name: spec.name,
    geom: spec.geom,
    ...(graph ? { graph: (params: Tree, state: Tree, x: string, g: GraphBuilder) => graph(params as Tensors, state as Tensors, x, g) } : {}),
    plan,
    shape: (input) => pipe(plan(input), E.map((p) => p.output)),
    init: (key, at) => {
      const { input } = planFor(self, at);
      return { params: build(spec.params?.(input), key), state: build(spec.state?.(input), foldIn(key, 'state')) };
    },
    apply: (params, state, x, ctx) => {
      const result = spec.apply(params as Tensors, state as Tensors, x, ctx);
      return Array.isArray(result) ? [result[0], result[1]] : [result as tf.Tensor4D, state];
    },
  };
  return self;
};
