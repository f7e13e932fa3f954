/**
 * The Layer: a value with static geometry, shape inference, initialisation
 * and a pure apply. Combinators build bigger layers from smaller ones.
 *
 *   plan(in)            -> Either<ShapeError, Plan>   (allocates nothing)
 *   shape(in)           -> Either<ShapeError, Shape>  (plan(in).output)
 *   init(key, plan)     -> { params, state }          (plain tensor trees)
 *   apply(p, s, x, ctx) -> [y, s']                    (pure; no mutation)
 *   geom                                              (receptive fields)
 */
import type { GraphBuilder } from './graph.ts';
import type * as tf from '@tensorflow/tfjs';
import type * as E from 'fp-ts/lib/Either.js';
import type { Geom } from '../geometry/geom.ts';
import type { Key } from './key.ts';
import type { Shape, ShapeError } from './shape.ts';
import type { Tree } from './tree.ts';

/**
 * What a forward pass means, named rather than implied:
 * - `train`: dropout on, batch statistics; running statistics are updated
 *   where the network tracks them.
 * - `paper`: the paper's test time: dropout still on, statistics of the test
 *   batch (instance normalisation at batch size 1). Nothing is updated.
 * - `eval`: the conventional test time: no dropout, running statistics
 *   (only for networks built with `trackRunningStats: true`).
 */
export type Mode = 'train' | 'paper' | 'eval';

export interface Ctx {
  readonly mode: Mode;
  /** Randomness for this call (dropout); combinators split it for their children. */
  readonly key: Key;
  /**
   * Where layers marked with `feature` put their outputs, in the order they
   * run (a discriminator's intermediate features, for feature matching).
   * Absent: nothing is collected.
   */
  readonly features?: tf.Tensor4D[];
}

/** The result of shape inference for one layer, with its children. */
export interface Plan {
  readonly name: string;
  /** Set by `named(name, layer, { group })`: nested scopes of one group show only the innermost. */
  readonly group?: string;
  readonly input: Shape;
  readonly output: Shape;
  /** Scalars in this layer's own parameters (children not included). */
  readonly params: number;
  /** How children see the input: one after another, or each the same input. */
  readonly composition: 'leaf' | 'serial' | 'parallel';
  /** A structural part (`seq`, `skip`, ...): summary rows do not show its name. */
  readonly transparent?: true;
  readonly children: readonly Plan[];
  readonly geom: Geom;
}

export interface Initialised {
  readonly params: Tree;
  readonly state: Tree;
}

export interface Layer {
  /** Shown in error paths and summaries (`conv 4x4/2`, `level 3`, ...). */
  readonly name: string;
  readonly geom: Geom;
  /** The identity: as a branch of a `parallel` combinator it stands for the input itself. */
  readonly identity?: true;
  plan(input: Shape): E.Either<ShapeError, Plan>;
  shape(input: Shape): E.Either<ShapeError, Shape>;
  /**
   * Parameters and state from the layer's plan, or from an input shape
   * (planned first: a bad shape throws a ShapeException naming the layer;
   * `initialize` returns it as a Left instead).
   */
  init(key: Key, at: Shape | Plan): Initialised;
  apply(params: Tree, state: Tree, x: tf.Tensor4D, ctx: Ctx): [tf.Tensor4D, Tree];
  /** Add this layer to an exported graph (see ./graph.ts); absent where the layer cannot be exported. */
  readonly graph?: (params: Tree, state: Tree, x: string, g: GraphBuilder) => string;
}
