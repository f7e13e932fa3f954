/**
 * Exact footprints and receptive fields by backward propagation of position
 * sets through a Geom tree.
 *
 * The footprint of output position o is the set of input positions that o
 * depends on, on an unbounded input (padding only shifts coordinates); the
 * receptive field is its extent, max - min + 1. A conv's footprint moves by
 * its stride when o moves by one; a transposed conv's moves by one when o
 * moves by its stride, so with transposed convs the field depends on o's
 * phase. It repeats with a period dividing the product of their strides,
 * and `receptiveField` reports the maximum over one period.
 */
import type { Geom } from './geom.ts';

/** Sorted, disjoint, non-adjacent inclusive ranges of integer positions. */
export type Positions = ReadonlyArray<readonly [number, number]>;

const normalise = (ranges: Array<readonly [number, number]>): Positions => {
  const sorted = ranges.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
};

const points = function* (ranges: Positions): Generator<number> {
  for (const [a, b] of ranges) for (let i = a; i <= b; i++) yield i;
};

const throughConv = (out: Positions, k: number, s: number, p: number, d: number): Positions => {
  if (d === 1 && k >= s) {
    // Consecutive outputs read overlapping or touching windows: ranges map to ranges.
    return normalise(out.map(([a, b]) => [a * s - p, b * s - p + k - 1] as const));
  }
  const taps: Array<readonly [number, number]> = [];
  for (const o of points(out)) for (let j = 0; j < k; j++) taps.push([o * s - p + j * d, o * s - p + j * d]);
  return normalise(taps);
};

const throughConvT = (out: Positions, k: number, s: number, p: number): Positions => {
  // Output t receives input i when t = i*s - p + j for some tap j < k.
  const reads: Array<readonly [number, number]> = [];
  for (const t of points(out)) reads.push([Math.ceil((t + p - k + 1) / s), Math.floor((t + p) / s)]);
  return normalise(reads);
};

/** The input positions that the output positions `out` depend on. */
export const footprintOf = (geom: Geom, out: Positions): Positions => {
  switch (geom.kind) {
    case 'pointwise':
      return out;
    case 'conv':
      return throughConv(out, geom.kernel, geom.stride, geom.pad, geom.dilation);
    case 'convT':
      return throughConvT(out, geom.kernel, geom.stride, geom.pad);
    case 'serial':
      return geom.parts.reduceRight((acc, part) => footprintOf(part, acc), out);
    case 'parallel':
      return normalise(geom.branches.flatMap((b) => [...footprintOf(b, out)]));
  }
};

/** Input positions that output position `o` depends on. */
export const footprint = (geom: Geom, o: number): Positions => footprintOf(geom, [[o, o]]);

export const extent = (ps: Positions): number =>
  ps.length === 0 ? 0 : ps[ps.length - 1]![1] - ps[0]![0] + 1;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
const lcm = (a: number, b: number): number => (a / gcd(a, b)) * b;

/**
 * A period (in output positions) after which footprints repeat, shifted:
 * along each path the product of its transposed convs' strides; lcm across
 * branches.
 */
export const period = (geom: Geom): number => {
  switch (geom.kind) {
    case 'pointwise':
    case 'conv':
      return 1;
    case 'convT':
      return geom.stride;
    case 'serial':
      return geom.parts.reduce((acc, part) => acc * period(part), 1);
    case 'parallel':
      return geom.branches.reduce((acc, b) => lcm(acc, period(b)), 1);
  }
};

/** The receptive field along one axis: the largest footprint extent over one period of output positions. */
export const receptiveFieldOf = (geom: Geom): number => {
  const p = period(geom);
  let best = 0;
  for (let o = 0; o < p; o++) best = Math.max(best, extent(footprint(geom, o)));
  return best;
};
