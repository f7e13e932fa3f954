/**
 * Objectives as values. A term is one of the paper's losses with a weight;
 * an objective is their weighted sum. The paper's ablations are one
 * expression each:
 *
 *   l1()                      L1 alone
 *   gan()                     unconditional GAN (D sees y only, Eq. 2)
 *   cgan()                    conditional GAN (D sees x and y, Eq. 1)
 *   plus(l1(100), gan())      L1 + GAN
 *   plus(l1(100), cgan())     L1 + cGAN, the default
 */
import type { GanMode } from './gan.ts';

export type Term =
  | { readonly kind: 'cgan'; readonly weight: number }
  | { readonly kind: 'gan'; readonly weight: number }
  | { readonly kind: 'l1'; readonly weight: number }
  | { readonly kind: 'l2'; readonly weight: number };

export interface Objective {
  readonly terms: readonly Term[];
  /** How the adversarial term scores D's logits. */
  readonly ganMode: GanMode;
}

const term = (kind: Term['kind'], weight: number): Objective => {
  if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`the weight of ${kind} must be a positive number, got ${weight}`);
  return { terms: [{ kind, weight }], ganMode: 'vanilla' };
};

export const cgan = (weight = 1): Objective => term('cgan', weight);
export const gan = (weight = 1): Objective => term('gan', weight);
export const l1 = (lambda = 100): Objective => term('l1', lambda);
export const l2 = (lambda = 100): Objective => term('l2', lambda);

/** The sum of objectives. At most one adversarial term: D plays one game. */
export const plus = (...objectives: readonly Objective[]): Objective => {
  const terms = objectives.flatMap((o) => o.terms);
  if (terms.filter((t) => t.kind === 'cgan' || t.kind === 'gan').length > 1)
    throw new Error('an objective can have at most one adversarial term (cgan or gan)');
  return { terms, ganMode: objectives.find((o) => o.terms.some(isAdversarial))?.ganMode ?? 'vanilla' };
};

/** Score the adversarial term with least squares (LSGAN) instead of cross-entropy. */
export const withGanMode = (objective: Objective, ganMode: GanMode): Objective => ({ ...objective, ganMode });

export const isAdversarial = (t: Term): boolean => t.kind === 'cgan' || t.kind === 'gan';

/** The adversarial term, if any: it decides whether there is a D to train and what it sees. */
export const adversarialTerm = (o: Objective): Term | undefined => o.terms.find(isAdversarial);

/** Channels D sees: concat(x, y) for cGAN, y alone for the unconditional GAN. */
export const discriminatorChannels = (o: Objective, inChannels: number, outChannels: number): number =>
  adversarialTerm(o)?.kind === 'gan' ? outChannels : inChannels + outChannels;

/** The paper's default: L1 + cGAN with lambda = 100. */
export const paperObjective: Objective = plus(cgan(), l1(100));

/**
 * Parse `l1+cgan` style names, with `lambda` weighting the reconstruction
 * terms: l1, l2, gan, cgan and their sums.
 */
export const parseObjective = (spec: string, lambda = 100, ganMode: GanMode = 'vanilla'): Objective => {
  const parts = spec.split('+').map((s) => s.trim().toLowerCase());
  const make = (p: string): Objective => {
    switch (p) {
      case 'l1':
        return l1(lambda);
      case 'l2':
        return l2(lambda);
      case 'gan':
        return gan();
      case 'cgan':
        return cgan();
      default:
        throw new RangeError(`unknown objective term '${p}' in '${spec}'; terms are l1, l2, gan, cgan joined by '+' (e.g. l1+cgan)`);
    }
  };
  return withGanMode(plus(...parts.map(make)), ganMode);
};

export const showObjective = (o: Objective): string =>
  o.terms.map((t) => (t.weight === 1 ? t.kind : `${t.weight}*${t.kind}`)).join(' + ') + (o.ganMode === 'lsgan' ? ' (lsgan)' : '');
