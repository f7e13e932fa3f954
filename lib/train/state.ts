/**
 * What a pix2pix run is (the spec: networks, objective, optimiser) and
 * where it is (the state: weights, optimiser moments, counters, key).
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { initialize } from '../core/analysis.ts';
import { foldIn, type Key } from '../core/key.ts';
import type { Initialised, Layer } from '../core/layer.ts';
import { within, type Shape, type ShapeError } from '../core/shape.ts';
import { leaves, type Tree } from '../core/tree.ts';
import { adversarialTerm, discriminatorChannels, type Objective } from '../losses/objective.ts';
import { adamDefaults, adamInit, type AdamConfig, type AdamState } from '../optim/adam.ts';

export interface Pix2PixSpec {
  readonly generator: Layer;
  readonly discriminator: Layer;
  readonly objective: Objective;
  /** [height, width, channels] of the input images x. */
  readonly inputShape: Shape;
  /** Channels of the output images y. */
  readonly outChannels: number;
  /** Shared by G and D; the paper's Adam(2e-4, 0.5, 0.999) by default. */
  readonly adam?: AdamConfig;
  /** Multiplier of the learning rate in a (0-based) epoch; constant 1 by default. */
  readonly schedule?: (epoch: number) => number;
}

export interface TrainState {
  readonly g: Initialised;
  readonly d: Initialised;
  readonly gOpt: AdamState;
  readonly dOpt: AdamState;
  /** Steps taken. */
  readonly step: number;
  /** The epoch of the last batch, and how many batches of that epoch have been consumed. */
  readonly epoch: number;
  readonly position: number;
  /** The run's key; step n draws from foldIn(key, n). */
  readonly key: Key;
}

export interface Batch {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor4D;
  readonly epoch?: number;
  /** Index of the batch within its epoch. */
  readonly index?: number;
}

/** D's input shape: concat(x, y) for a conditional D, y alone for an unconditional one. */
const dShapeOf = (spec: Pix2PixSpec): Shape => {
  const [h, w, inC] = spec.inputShape;
  return [h, w, discriminatorChannels(spec.objective, inC, spec.outChannels)];
};

/**
 * The shape checks alone, allocating nothing: G maps the input shape to
 * [h, w, outChannels], and D takes what it is given (if the objective has
 * a D). A Left names the layer that does not fit.
 */
export const checkSpec = (spec: Pix2PixSpec): E.Either<ShapeError, void> => {
  const [h, w] = spec.inputShape;
  return pipe(
    spec.generator.shape(spec.inputShape),
    E.mapLeft(within('generator')),
    E.chain((out) =>
      out[0] === h && out[1] === w && out[2] === spec.outChannels
        ? E.right(out)
        : E.left(within('generator')({ path: [], message: `output ${out.join('x')} should be ${h}x${w}x${spec.outChannels}` })),
    ),
    E.chain(() => (adversarialTerm(spec.objective) ? pipe(spec.discriminator.shape(dShapeOf(spec)), E.mapLeft(within('discriminator'))) : E.right(dShapeOf(spec)))),
    E.map(() => undefined),
  );
};

/** Shapes are checked (G's output must fit D's input) before any weight is allocated. */
export const initTrainState = (spec: Pix2PixSpec, key: Key): E.Either<ShapeError, TrainState> =>
  pipe(
    checkSpec(spec),
    E.chain(() => pipe(initialize(spec.generator, foldIn(key, 'G'), spec.inputShape), E.mapLeft(within('generator')))),
    E.map((g) => {
      const d: Initialised = adversarialTerm(spec.objective)
        ? spec.discriminator.init(foldIn(key, 'D'), dShapeOf(spec))
        : { params: [], state: [] };
      return { g, d, gOpt: adamInit(g.params), dOpt: adamInit(d.params), step: 0, epoch: 0, position: 0, key };
    }),
  );

/** Every tensor a state holds. */
export const stateTensors = (s: TrainState): tf.Tensor[] =>
  [s.g.params, s.g.state, s.d.params, s.d.state, s.gOpt.m, s.gOpt.v, s.dOpt.m, s.dOpt.v].flatMap((t: Tree) => leaves(t));

/** Dispose what `old` holds that `next` does not share. */
export const disposeReplaced = (old: TrainState, next: TrainState): void => {
  const kept = new Set(stateTensors(next));
  for (const t of stateTensors(old)) if (!kept.has(t) && !t.isDisposed) t.dispose();
};

export const disposeState = (s: TrainState): void => stateTensors(s).forEach((t) => t.isDisposed || t.dispose());

export const adamOf = (spec: Pix2PixSpec): AdamConfig => spec.adam ?? adamDefaults;
