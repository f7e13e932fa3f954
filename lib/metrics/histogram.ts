/**
 * Marginal histograms of L*, a* and b* over a set of images, and how close
 * two such sets are: the analysis of the paper's Fig. 7 (are the outputs as
 * colourful as real photos?).
 *
 * Binning (LAB_BINNING): bins of width 1 centred on the integers, L* on
 * 0..100 (101 bins, [-0.5, 100.5)) and a* and b* on -128..127 (256 bins,
 * [-128.5, 127.5)); bin k holds [min + k, min + k + 1). Centred bins keep
 * neutral colours (a* = b* = 0 up to rounding) inside one bin instead of on
 * an edge. A value outside a range is counted in the nearest end bin; sRGB
 * colours never leave these ranges (a* is in about [-86, 98], b* [-108, 95]).
 */
import { imageToLab } from './lab.ts';
import type { ImageLike } from './image.ts';

export interface Bins {
  readonly min: number;
  readonly max: number;
  readonly bins: number;
}

export interface LabBinning {
  readonly L: Bins;
  readonly a: Bins;
  readonly b: Bins;
}

export const LAB_BINNING: LabBinning = {
  L: { min: -0.5, max: 100.5, bins: 101 },
  a: { min: -128.5, max: 127.5, bins: 256 },
  b: { min: -128.5, max: 127.5, bins: 256 },
};

export const LAB_CHANNELS = ['L', 'a', 'b'] as const;
export type LabChannel = (typeof LAB_CHANNELS)[number];

/** Pixel counts per bin of each channel (the same pixels in all three). */
export interface LabHistogram {
  readonly binning: LabBinning;
  readonly L: Float64Array;
  readonly a: Float64Array;
  readonly b: Float64Array;
  /** Pixels counted so far. */
  pixels: number;
}

export const emptyLabHistogram = (binning: LabBinning = LAB_BINNING): LabHistogram => ({
  binning,
  L: new Float64Array(binning.L.bins),
  a: new Float64Array(binning.a.bins),
  b: new Float64Array(binning.b.bins),
  pixels: 0,
});

/** The bin of `v` (clamped to the end bins). */
export const binOf = (bins: Bins, v: number): number => {
  const k = Math.floor(((v - bins.min) / (bins.max - bins.min)) * bins.bins);
  return k < 0 ? 0 : k >= bins.bins ? bins.bins - 1 : k;
};

/** Count every pixel of `img` into `h` (mutated, for streaming over a data set) and return it. */
export const addToLabHistogram = (h: LabHistogram, img: ImageLike): LabHistogram => {
  const lab = imageToLab(img);
  for (let i = 0; i < lab.length; i += 3) {
    h.L[binOf(h.binning.L, lab[i]!)]! += 1;
    h.a[binOf(h.binning.a, lab[i + 1]!)]! += 1;
    h.b[binOf(h.binning.b, lab[i + 2]!)]! += 1;
  }
  h.pixels += lab.length / 3;
  return h;
};

/** The histograms of a whole set of images. */
export const labHistogram = (images: Iterable<ImageLike>, binning: LabBinning = LAB_BINNING): LabHistogram => {
  const h = emptyLabHistogram(binning);
  for (const img of images) addToLabHistogram(h, img);
  return h;
};

/** Counts -> probabilities (sum 1; all zeros stays all zeros). */
export const normalise = (counts: ArrayLike<number>): Float64Array => {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  const p = new Float64Array(counts.length);
  if (total > 0) for (let i = 0; i < counts.length; i++) p[i] = counts[i]! / total;
  return p;
};

/** sum_i min(p_i, q_i) of the two normalised histograms: 1 for identical distributions, 0 for disjoint ones. */
export const histogramIntersection = (p: ArrayLike<number>, q: ArrayLike<number>): number => {
  if (p.length !== q.length) throw new RangeError(`histograms have ${p.length} and ${q.length} bins`);
  const a = normalise(p);
  const b = normalise(q);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.min(a[i]!, b[i]!);
  return s;
};

/** The default epsilon of `klDivergence`. */
export const KL_EPSILON = 1e-10;

/**
 * KL(p || q) in nats, sum_i p_i ln(p_i / q_i), of the normalised histograms.
 * Empty bins would make it infinite, so `epsilon` is added to every bin of
 * both normalised histograms, which are then renormalised: an empty q bin
 * where p has mass m costs about m ln(m / epsilon) (about 23 m at 1e-10).
 * 0 for identical distributions.
 */
export const klDivergence = (p: ArrayLike<number>, q: ArrayLike<number>, epsilon = KL_EPSILON): number => {
  if (p.length !== q.length) throw new RangeError(`histograms have ${p.length} and ${q.length} bins`);
  const smooth = (h: ArrayLike<number>) => {
    const n = normalise(h);
    for (let i = 0; i < n.length; i++) n[i]! += epsilon;
    return normalise(n);
  };
  const a = smooth(p);
  const b = smooth(q);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * Math.log(a[i]! / b[i]!);
  return Math.max(0, s); // rounding can leave -1e-17 for identical inputs
};

export interface HistogramComparison {
  /** Higher is better (1 = the same distribution). */
  readonly intersection: number;
  /** KL(real || generated) in nats. Lower is better (0 = the same distribution). */
  readonly kl: number;
}

export type LabComparison = Record<LabChannel, HistogramComparison>;

/** Per channel: intersection and KL(real || generated) of the two sets' histograms (same binning). */
export const compareLabHistograms = (real: LabHistogram, generated: LabHistogram, opts: { epsilon?: number } = {}): LabComparison => {
  const one = (c: LabChannel): HistogramComparison => ({
    intersection: histogramIntersection(real[c], generated[c]),
    kl: klDivergence(real[c], generated[c], opts.epsilon ?? KL_EPSILON),
  });
  return { L: one('L'), a: one('a'), b: one('b') };
};
