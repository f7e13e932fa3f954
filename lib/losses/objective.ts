/**
 * Objectives as values. A term is a name, a weight, and functions of a
 * context (x, y, G(x), and each discriminator's logits and features on the
 * real and on the fake pair) to scalars: one for G's loss (weighted), and
 * parts of D's loss (each with its own weight). An objective is a list of
 * terms; the training step is derived from it. The paper's ablations and
 * pix2pixHD are one expression each:
 *
 *   l1()                                        L1 alone
 *   plus(l1(100), gan())                        L1 + GAN (D sees y only, Eq. 2)
 *   plus(l1(100), cgan())                       L1 + cGAN (Eq. 1), the default
 *   plus(cgan({ mode: 'lsgan' }), featureMatching(10))   pix2pixHD
 *
 * A new term is a few lines (see docs/guide.md): `term({ name, weight, g })`.
 */
import * as tf from '@tensorflow/tfjs';
import { addN } from '../ops/add-n.ts';
import { discriminatorLoss, generatorLoss, type GanMode } from './gan.ts';

/** A discriminator's verdict on one input: its logits and its intermediate features (see `feature`). */
export interface Critique {
  readonly logits: tf.Tensor4D;
  readonly features: readonly tf.Tensor4D[];
}

/**
 * What a term reads. In G's loss `fake` is G(x) on G's gradient tape, the
 * discriminators are the ones just updated, and their verdicts on the real
 * pair are constants; in D's loss `fake` is held fixed (a past one, with an
 * image pool). Verdicts are computed once per step, however many terms read them.
 */
export interface LossContext {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor4D;
  readonly fake: tf.Tensor4D;
  /** How many discriminators there are (pix2pixHD's scales). */
  readonly critics: number;
  onReal(i: number): Critique;
  onFake(i: number): Critique;
}

/** One named, weighted part of D's loss (the reference halves real and fake). */
export type DPart = readonly [part: string, loss: tf.Scalar, weight: number];

export interface Term {
  readonly name: string;
  /** Its weight in G's loss. */
  readonly weight: number;
  /**
   * What the discriminators see when this term reads them: the pair
   * concat(x, y) (`pair`, a conditional GAN), the output alone (`output`), or
   * whichever the objective's adversarial term decides (`any`). Absent: the
   * term reads no discriminator.
   */
  readonly sees?: 'pair' | 'output' | 'any';
  /** G's loss, unweighted; absent: the term does not train G. */
  readonly g?: (c: LossContext) => tf.Scalar;
  /** D's loss in parts; absent: the term does not train D. */
  readonly d?: (c: LossContext) => readonly DPart[];
  /** An adversarial term's GAN mode, and the same term in another (how `withGanMode` and `--gan-mode` change it). */
  readonly ganMode?: GanMode;
  readonly withMode?: (mode: GanMode) => Term;
}

export interface Objective {
  readonly terms: readonly Term[];
}

const checkWeight = (name: string, weight: number) => {
  if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`the weight of ${name} must be a positive number, got ${weight}`);
};

/** An objective of one term: `term({ name: 'tv', weight: 1e-4, g: ({ fake }) => ... })`. */
export const term = (t: Term): Objective => {
  checkWeight(t.name, t.weight);
  if (!t.g && !t.d) throw new Error(`term ${t.name} has neither a G loss (g) nor D parts (d)`);
  return { terms: [t] };
};

/** The same objective with every term's weight multiplied by `k`. */
export const scale = (k: number, o: Objective): Objective => {
  checkWeight(`scale(${k})`, k);
  return { terms: o.terms.map((t) => ({ ...t, weight: t.weight * k })) };
};

/** Sum over the discriminators: the single value itself for one. */
export const overCritics = (n: number, f: (i: number) => tf.Scalar): tf.Scalar =>
  n === 1 ? f(0) : (addN(Array.from({ length: n }, (_, i) => f(i))) as tf.Scalar);

const meanAbs = (a: tf.Tensor, b: tf.Tensor) => tf.mean(tf.abs(tf.sub(a, b))) as tf.Scalar;

/** L1 to the target, mean |y - G(x)| (the paper's lambda = 100). */
export const l1 = (lambda = 100): Objective => term({ name: 'l1', weight: lambda, g: ({ y, fake }) => meanAbs(y, fake) });

/** Mean (y - G(x))^2. */
export const l2 = (lambda = 100): Objective => term({ name: 'l2', weight: lambda, g: ({ y, fake }) => tf.mean(tf.square(tf.sub(y, fake))) as tf.Scalar });

export interface GanOptions {
  readonly weight?: number;
  /** `vanilla` (cross-entropy, the paper), `lsgan` (least squares), `hinge`. */
  readonly mode?: GanMode;
}

const adversarial = (name: 'gan' | 'cgan', weight: number, mode: GanMode): Term => ({
  name,
  weight,
  sees: name === 'cgan' ? 'pair' : 'output',
  g: (c) => overCritics(c.critics, (i) => generatorLoss(mode, c.onFake(i).logits)),
  d: (c) => [
    ['real', overCritics(c.critics, (i) => discriminatorLoss(mode, c.onReal(i).logits, true)), 0.5],
    ['fake', overCritics(c.critics, (i) => discriminatorLoss(mode, c.onFake(i).logits, false)), 0.5],
  ],
  ganMode: mode,
  withMode: (m) => adversarial(name, weight, m),
});

const ganTerm = (name: 'gan' | 'cgan', o: number | GanOptions): Objective => {
  const { weight = 1, mode = 'vanilla' } = typeof o === 'number' ? { weight: o } : o;
  return term(adversarial(name, weight, mode));
};

/** The conditional GAN: D judges concat(x, y) (Eq. 1). Summed over the discriminators. */
export const cgan = (o: number | GanOptions = {}): Objective => ganTerm('cgan', o);
/** The unconditional GAN: D judges y alone (Eq. 2). */
export const gan = (o: number | GanOptions = {}): Objective => ganTerm('gan', o);

/**
 * pix2pixHD's feature matching: L1 between each discriminator's features on
 * the real pair and on the fake one, every feature layer weighted 4 / (its
 * count) and every discriminator 1 / (their count); lambda 10. It reads the
 * discriminators the adversarial term trains.
 */
export const featureMatching = (lambda = 10): Objective =>
  term({
    name: 'fm',
    weight: lambda,
    sees: 'any',
    g: (c) =>
      overCritics(c.critics, (i) => {
        const real = c.onReal(i).features;
        const fake = c.onFake(i).features;
        if (real.length === 0) throw new Error(`featureMatching: discriminator ${i + 1} marks no features (wrap its blocks in feature())`);
        return tf.mul(addN(fake.map((f, j) => meanAbs(f, real[j]!))), 4 / fake.length / c.critics) as tf.Scalar;
      }),
  });

/** The sum of objectives. At most one adversarial term (one that decides what D sees), and names are unique. */
export const plus = (...objectives: readonly Objective[]): Objective => {
  const terms = objectives.flatMap((o) => o.terms);
  if (terms.filter(decidesD).length > 1)
    throw new Error(`an objective can have at most one adversarial term (cgan or gan), got ${terms.filter(decidesD).map((t) => t.name).join(' and ')}`);
  const names = terms.map((t) => t.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new Error(`an objective names each term once; '${twice}' appears twice (add their weights instead)`);
  return { terms };
};

/** Every adversarial term in `ganMode` (vanilla, lsgan or hinge). */
export const withGanMode = (objective: Objective, ganMode: GanMode): Objective => ({
  terms: objective.terms.map((t) => (t.withMode ? t.withMode(ganMode) : t)),
});

const decidesD = (t: Term): boolean => t.sees === 'pair' || t.sees === 'output';
export const isAdversarial = decidesD;

/** The adversarial term, if any: it decides whether there is a D to train and what it sees. */
export const adversarialTerm = (o: Objective): Term | undefined => o.terms.find(decidesD);

/** Whether the objective reads a discriminator at all. */
export const needsDiscriminator = (o: Objective): boolean => o.terms.some((t) => t.sees !== undefined);

/** Channels D sees: concat(x, y) for cGAN, y alone for the unconditional GAN. */
export const discriminatorChannels = (o: Objective, inChannels: number, outChannels: number): number =>
  adversarialTerm(o)?.sees === 'output' ? outChannels : inChannels + outChannels;

/** The paper's default: L1 + cGAN with lambda = 100. */
export const paperObjective: Objective = plus(cgan(), l1(100));

const TERMS = ['l1', 'l2', 'gan', 'cgan', 'fm'] as const;

/**
 * Parse `l1+cgan` style names with optional weights, `l1:100+cgan+fm:10`.
 * Without a weight, `lambda` weights the reconstruction terms (l1, l2), 1 the
 * adversarial ones and 10 feature matching (pix2pixHD's).
 */
export const parseObjective = (spec: string, lambda = 100, ganMode: GanMode = 'vanilla'): Objective => {
  const make = (part: string): Objective => {
    const m = /^([a-z0-9]+)(?::(.+))?$/.exec(part.trim().toLowerCase());
    const name = m?.[1] ?? part;
    const weight = m?.[2] === undefined ? undefined : Number(m[2]);
    if (weight !== undefined && !(weight > 0 && Number.isFinite(weight)))
      throw new RangeError(`the weight of '${name}' in '${spec}' must be a positive number, got '${m?.[2]}'`);
    switch (name) {
      case 'l1':
        return l1(weight ?? lambda);
      case 'l2':
        return l2(weight ?? lambda);
      case 'gan':
        return gan({ weight: weight ?? 1, mode: ganMode });
      case 'cgan':
        return cgan({ weight: weight ?? 1, mode: ganMode });
      case 'fm':
        return featureMatching(weight ?? 10);
      default:
        throw new RangeError(`unknown objective term '${name}' in '${spec}'; terms are ${TERMS.join(', ')} joined by '+', each with an optional :weight (e.g. l1:100+cgan+fm:10)`);
    }
  };
  const o = plus(...spec.split('+').map(make));
  if (o.terms.some((t) => t.sees === 'any') && !adversarialTerm(o))
    throw new RangeError(`'${spec}': feature matching reads the discriminator that an adversarial term (cgan or gan) trains; add one`);
  return o;
};

export const showObjective = (o: Objective): string =>
  o.terms.map((t) => (t.weight === 1 ? t.name : `${t.weight}*${t.name}`) + (t.ganMode !== undefined && t.ganMode !== 'vanilla' ? ` (${t.ganMode})` : '')).join(' + ');
