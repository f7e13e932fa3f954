/**
 * The full training configuration: what `pix2pix train` writes to
 * `config.json` and what `test`, `translate` and `--resume` read back, so
 * train and test can never disagree about the model.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { describeErrors as describeAll, Int, NonNegativeInt, PositiveInt } from '../core/codecs.ts';
import type { Layer } from '../core/layer.ts';
import { discriminatorChannels, parseObjective, type Objective } from '../losses/objective.ts';
import { discriminator, generator } from '../nets/presets.ts';
import { multiscaleDiscriminator, type Discriminators } from '../nets/multiscale.ts';
import { adam } from '../optim/adam.ts';
import { linearDecay } from '../optim/schedule.ts';
import { chain, clipByGlobalNorm, type GradientTransformation } from '../optim/transform.ts';
import type { Pix2PixSpec } from './state.ts';

const Channels = t.union([t.literal(1), t.literal(3)], '1 or 3');

/** An interval of numbers; open at an end where `minOpen` / `maxOpen`. */
export interface Range {
  readonly min: number;
  readonly max: number;
  readonly minOpen?: boolean;
  readonly maxOpen?: boolean;
}

export const inRange = (r: Range, n: number): boolean =>
  Number.isFinite(n) && (r.minOpen ? n > r.min : n >= r.min) && (r.max === Infinity || (r.maxOpen ? n < r.max : n <= r.max));

/** "a number in (0, 1]", or "a positive number" for (0, inf). */
export const showRange = (r: Range): string =>
  r.max === Infinity
    ? r.min === 0 && r.minOpen
      ? 'a positive number'
      : `a number ${r.minOpen ? '>' : '>='} ${r.min}`
    : `a number in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`;

/**
 * The valid values of the numeric settings that are not counts: Adam's
 * learning rate (a step above 1 per update is no learning rate) and decay
 * rates, a dropout probability, a loss weight.
 */
export const ranges = {
  lr: { min: 0, max: 1, minOpen: true },
  beta1: { min: 0, max: 1, maxOpen: true },
  beta2: { min: 0, max: 1, maxOpen: true },
  dropout: { min: 0, max: 1, maxOpen: true },
  lambda: { min: 0, max: Infinity, minOpen: true },
} as const satisfies Record<string, Range>;

const numberIn = (r: Range) => t.refinement(t.number, (n) => inRange(r, n), showRange(r));

const TrainConfigCore = t.type(
  {
    data: t.string,
    layout: t.keyof({ aligned: null, separate: null }),
    direction: t.keyof({ AtoB: null, BtoA: null }),
    /** Network input size (the random crop). */
    size: PositiveInt,
    /** Size images are resized to before cropping (the reference's load_size). */
    loadSize: PositiveInt,
    preprocess: t.keyof({ resize_and_crop: null, crop: null, scale_width: null, none: null }),
    flip: t.boolean,
    inChannels: Channels,
    outChannels: Channels,
    generator: t.string,
    discriminator: t.string,
    ngf: PositiveInt,
    ndf: PositiveInt,
    norm: t.keyof({ batch: null, instance: null, none: null }),
    dropout: numberIn(ranges.dropout),
    objective: t.string,
    lambda: numberIn(ranges.lambda),
    ganMode: t.keyof({ vanilla: null, lsgan: null, hinge: null }),
    batch: PositiveInt,
    epochs: NonNegativeInt,
    epochsDecay: NonNegativeInt,
    lr: numberIn(ranges.lr),
    beta1: numberIn(ranges.beta1),
    beta2: numberIn(ranges.beta2),
    seed: NonNegativeInt,
    /** Stop after this many steps in total (0: run all epochs). */
    steps: NonNegativeInt,
    checkpointEvery: PositiveInt,
    sampleEvery: PositiveInt,
    /** Files of the train split used: [start, end) of the sorted list, negative from the end as Array.slice (end 0: all). */
    trainRange: t.tuple([Int, Int]),
    valSplit: t.string,
  },
  'TrainConfig',
);

/** Settings added after the first runs were saved: absent in their config.json, with the defaults below. */
const TrainConfigAdded = t.partial({
  /** pix2pixHD's multi-scale D: copies of the discriminator at 1, 1/2, ... of the size (1: the paper's). */
  scales: PositiveInt,
  /** D's learning rate (two time-scale updates); absent: --lr. */
  lrD: numberIn(ranges.lr),
  /** Clip each network's gradient to this global L2 norm before Adam; absent: no clipping. */
  gradClip: numberIn(ranges.lambda),
  /** Batch norm keeps running statistics (for --mode eval), as PyTorch's does: runs imported from the reference. Absent: false. */
  trackRunningStats: t.boolean,
});

export const TrainConfig = t.intersection([TrainConfigCore, TrainConfigAdded], 'TrainConfig');
export type TrainConfig = t.TypeOf<typeof TrainConfig>;

export const defaultConfig: Omit<TrainConfig, 'data'> = {
  layout: 'aligned',
  direction: 'AtoB',
  size: 256,
  loadSize: 286,
  preprocess: 'resize_and_crop',
  flip: true,
  inChannels: 3,
  outChannels: 3,
  generator: 'unet256',
  discriminator: 'patch70',
  ngf: 64,
  ndf: 64,
  norm: 'batch',
  dropout: 0.5,
  objective: 'l1+cgan',
  lambda: 100,
  ganMode: 'vanilla',
  batch: 1,
  epochs: 100,
  epochsDecay: 100,
  lr: 2e-4,
  beta1: 0.5,
  beta2: 0.999,
  seed: 0,
  steps: 0,
  checkpointEvery: 500,
  sampleEvery: 100,
  trainRange: [0, 0],
  valSplit: 'val',
};

/** `size should be a positive integer, got -3` (one clause per wrong field; see lib/core/codecs.ts). */
export const describeErrors = (errors: t.Errors): string => describeAll(errors, 'the config');

export const decodeConfig = (json: unknown): E.Either<string, TrainConfig> =>
  E.mapLeft(describeErrors)(TrainConfig.decode(json));

export interface Networks {
  readonly generator: Layer;
  /** One discriminator, or one per scale (--scales). */
  readonly discriminator: Layer | Discriminators;
  readonly objective: Objective;
}

/** The networks and objective a config names (an unknown name is a Left naming the field). */
export const networksOf = (c: TrainConfig, opts: { trackRunningStats?: boolean } = {}): E.Either<string, Networks> => {
  let objective: Objective;
  try {
    objective = parseObjective(c.objective, c.lambda, c.ganMode);
  } catch (e) {
    return E.left(`objective: ${(e as Error).message}`);
  }
  const track = { trackRunningStats: opts.trackRunningStats ?? c.trackRunningStats ?? false };
  const g = generator(c.generator, { ngf: c.ngf, norm: c.norm, inChannels: c.inChannels, outChannels: c.outChannels, dropout: c.dropout, ...track });
  if (E.isLeft(g)) return E.left(`generator: ${g.left}`);
  const d = discriminator(c.discriminator, { ndf: c.ndf, norm: c.norm, ...track });
  if (E.isLeft(d)) return E.left(`discriminator: ${d.left}`);
  const scales = c.scales ?? 1;
  return E.right({ generator: g.right, discriminator: scales === 1 ? d.right : multiscaleDiscriminator(scales, d.right), objective });
};

/** Adam with the config's settings at learning rate `lr`, after clipping if --grad-clip is set. */
const optimizerOf = (c: TrainConfig, lr: number): GradientTransformation => {
  const a = adam({ lr, beta1: c.beta1, beta2: c.beta2, eps: 1e-8, schedule: linearDecay({ epochs: c.epochs, epochsDecay: c.epochsDecay }) });
  return c.gradClip === undefined ? a : chain(clipByGlobalNorm(c.gradClip), a);
};

export const specOf = (c: TrainConfig, nets: Networks): Pix2PixSpec => ({
  generator: nets.generator,
  discriminator: nets.discriminator,
  objective: nets.objective,
  inputShape: [c.size, c.size, c.inChannels],
  outChannels: c.outChannels,
  optimizer: { g: optimizerOf(c, c.lr), d: optimizerOf(c, c.lrD ?? c.lr) },
});

export const dInputChannels = (c: TrainConfig, nets: Networks): number =>
  discriminatorChannels(nets.objective, c.inChannels, c.outChannels);
