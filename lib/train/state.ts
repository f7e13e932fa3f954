/**
 * What a pix2pix run is (the spec: networks, objective, optimisers, the
 * game's settings) and where it is (the state: weights, optimiser states,
 * the image pool, counters, key).
 */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { initialize } from '../core/analysis.ts';
import { foldIn, type Key } from '../core/key.ts';
import type { Initialised, Layer } from '../core/layer.ts';
import { within, type Shape, type ShapeError } from '../core/shape.ts';
import { leaves, tensorsIn, type Tree } from '../core/tree.ts';
import { adversarialTerm, discriminatorChannels, needsDiscriminator, type Objective } from '../losses/objective.ts';
import { adam, adamDefaults, type AdamConfig } from '../optim/adam.ts';
import type { GradientTransformation, OptState } from '../optim/transform.ts';
import { emptyPool, poolTensors, type ImagePool } from './pool.ts';

export interface Pix2PixSpec {
  readonly generator: Layer;
  /**
   * One discriminator, or several (pix2pixHD's `multiscaleDiscriminator`),
   * each with its own weights. Unused (and may be absent) when no term of
   * the objective reads a discriminator.
   */
  readonly discriminator?: Layer | readonly Layer[];
  readonly objective: Objective;
  /** [height, width, channels] of the input images x. */
  readonly inputShape: Shape;
  /** Channels of the output images y. */
  readonly outChannels: number;
  /**
   * G's and D's optimisers: one for both, or `{ g, d }` (two time-scale
   * updates, e.g. SPADE's adam({ lr: 1e-4, beta1: 0, beta2: 0.9 }) for G and
   * lr 4e-4 for D). Default: Adam from `adam` and `schedule`.
   */
  readonly optimizer?: GradientTransformation | { readonly g: GradientTransformation; readonly d: GradientTransformation };
  /** Without `optimizer`: Adam's settings for both (the paper's Adam(2e-4, 0.5, 0.999) by default). */
  readonly adam?: AdamConfig;
  /** Without `optimizer`: the multiplier of Adam's learning rate in a (0-based) epoch; constant 1 by default. */
  readonly schedule?: (epoch: number, step: number) => number;
  /** D updates per G update (SPADE's D_steps_per_G): G is updated on every n-th step. Default 1. */
  readonly dStepsPerG?: number;
  /** Past fakes D may see instead of the newest (the reference's pool_size): 0 for pix2pix (default), 50 for CycleGAN. */
  readonly poolSize?: number;
}

export interface TrainState {
  readonly g: Initialised;
  /** One discriminator's parameters and state, or an array of them (one per discriminator) when there are several. */
  readonly d: Initialised;
  readonly gOpt: OptState;
  readonly dOpt: OptState;
  /** The image pool (empty unless the spec has a poolSize). */
  readonly pool?: ImagePool;
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

/** The discriminators the game trains: none when no term reads one. */
export const discriminatorsOf = (spec: Pix2PixSpec): readonly Layer[] =>
  !needsDiscriminator(spec.objective) || spec.discriminator === undefined
    ? []
    : Array.isArray(spec.discriminator)
      ? (spec.discriminator as readonly Layer[])
      : [spec.discriminator as Layer];

/** G's and D's optimisers. */
export const optimizersOf = (spec: Pix2PixSpec): { readonly g: GradientTransformation; readonly d: GradientTransformation } => {
  const o = spec.optimizer;
  if (o !== undefined) return 'init' in o ? { g: o, d: o } : o;
  const shared = adam({ ...(spec.adam ?? adamDefaults), ...(spec.schedule ? { schedule: spec.schedule } : {}) });
  return { g: shared, d: shared };
};

/** D's input shape: concat(x, y) for a conditional D, y alone for an unconditional one. */
export const dShapeOf = (spec: Pix2PixSpec): Shape => {
  const [h, w, inC] = spec.inputShape;
  return [h, w, discriminatorChannels(spec.objective, inC, spec.outChannels)];
};

/** The key of discriminator i: one D draws from foldIn(key, 'D') as it always has. */
export const dKey = (key: Key, i: number, count: number): Key => (count === 1 ? foldIn(key, 'D') : foldIn(foldIn(key, 'D'), i));

const checkGame = (spec: Pix2PixSpec): string | undefined => {
  const { dStepsPerG = 1, poolSize = 0 } = spec;
  if (!Number.isInteger(dStepsPerG) || dStepsPerG < 1) return `dStepsPerG must be an integer >= 1, got ${dStepsPerG}`;
  if (!Number.isInteger(poolSize) || poolSize < 0) return `poolSize must be an integer >= 0, got ${poolSize}`;
  if (needsDiscriminator(spec.objective) && discriminatorsOf(spec).length === 0)
    return `the objective's ${spec.objective.terms.filter((t) => t.sees !== undefined).map((t) => t.name).join(', ')} term reads a discriminator, and the spec has none`;
  if (needsDiscriminator(spec.objective) && !adversarialTerm(spec.objective))
    return `the objective's ${spec.objective.terms.filter((t) => t.sees === 'any').map((t) => t.name).join(', ')} term reads the discriminator an adversarial term (cgan or gan) trains, and the objective has none`;
  return undefined;
};

/**
 * The checks alone, allocating nothing: G maps the input shape to
 * [h, w, outChannels], every D takes what it is given, and the game's
 * settings make sense. A Left names the layer (or setting) that does not fit.
 */
export const checkSpec = (spec: Pix2PixSpec): E.Either<ShapeError, void> => {
  const [h, w] = spec.inputShape;
  const game = checkGame(spec);
  if (game !== undefined) return E.left({ path: ['spec'], message: game });
  const ds = discriminatorsOf(spec);
  return pipe(
    spec.generator.shape(spec.inputShape),
    E.mapLeft(within('generator')),
    E.chain((out) =>
      out[0] === h && out[1] === w && out[2] === spec.outChannels
        ? E.right(out)
        : E.left(within('generator')({ path: [], message: `output ${out.join('x')} should be ${h}x${w}x${spec.outChannels}` })),
    ),
    E.chain(() => {
      for (const [i, d] of ds.entries()) {
        const r = d.shape(dShapeOf(spec));
        if (E.isLeft(r)) return E.left(within(ds.length === 1 ? 'discriminator' : `discriminator ${i + 1}`)(r.left));
      }
      return E.right(undefined);
    }),
  );
};

/** Shapes are checked (G's output must fit D's input) before any weight is allocated. */
export const initTrainState = (spec: Pix2PixSpec, key: Key): E.Either<ShapeError, TrainState> =>
  pipe(
    checkSpec(spec),
    E.chain(() => pipe(initialize(spec.generator, foldIn(key, 'G'), spec.inputShape), E.mapLeft(within('generator')))),
    E.map((g) => {
      const ds = discriminatorsOf(spec);
      const made = ds.map((d, i) => d.init(dKey(key, i, ds.length), dShapeOf(spec)));
      const d: Initialised =
        made.length === 0 ? { params: [], state: [] } : made.length === 1 ? made[0]! : { params: made.map((m) => m.params), state: made.map((m) => m.state) };
      const opt = optimizersOf(spec);
      const [h, w, c] = dShapeOf(spec);
      return { g, d, gOpt: opt.g.init(g.params), dOpt: opt.d.init(d.params), pool: emptyPool(spec.poolSize ?? 0, [h, w, c]), step: 0, epoch: 0, position: 0, key };
    }),
  );

/** The tensors of an optimiser state (its numbers left out). */
export const optTensors = (s: OptState): tf.Tensor[] => tensorsIn(s);

/** Every tensor a state holds. */
export const stateTensors = (s: TrainState): tf.Tensor[] => [
  ...[s.g.params, s.g.state, s.d.params, s.d.state].flatMap((t: Tree) => leaves(t)),
  ...optTensors(s.gOpt),
  ...optTensors(s.dOpt),
  ...(s.pool ? poolTensors(s.pool) : []),
];

/** Dispose what `old` holds that `next` does not share. */
export const disposeReplaced = (old: TrainState, next: TrainState): void => {
  const kept = new Set(stateTensors(next));
  for (const t of stateTensors(old)) if (!kept.has(t) && !t.isDisposed) t.dispose();
};

export const disposeState = (s: TrainState): void => stateTensors(s).forEach((t) => t.isDisposed || t.dispose());

/** Adam's settings when the spec has no `optimizer` (the paper's by default). */
export const adamOf = (spec: Pix2PixSpec): AdamConfig => spec.adam ?? adamDefaults;
