// sRGB -> CIE Lab against published reference values, and the Lab histogram comparison (the paper's Fig. 7).
import { describe, expect, it } from 'vitest';
import {
  addToLabHistogram, binOf, compareLabHistograms, emptyLabHistogram, histogramIntersection, imageToLab, klDivergence, KL_EPSILON, LAB_BINNING,
  labHistogram, srgbToLab, type MetricImage,
} from '../lib/node.ts';

/** An image of 8-bit sRGB colours (one per pixel, cycled), as the library holds it: u8 / 127.5 - 1. */
const pixels = (height: number, width: number, colours: readonly (readonly [number, number, number])[]): MetricImage => ({
  height,
  width,
  channels: 3,
  data: Float32Array.from({ length: height * width * 3 }, (_, i) => colours[Math.floor(i / 3) % colours.length]![i % 3]! / 127.5 - 1),
});

// Reference L*, a*, b* (D65) from the standard formulas (IEC 61966-2-1 decoding, CIE 1976 L*a*b*).
const REFERENCE: [string, [number, number, number], [number, number, number]][] = [
  ['white', [255, 255, 255], [100, 0, 0]],
  ['black', [0, 0, 0], [0, 0, 0]],
  ['red', [255, 0, 0], [53.24, 80.09, 67.2]],
  ['green', [0, 255, 0], [87.73, -86.18, 83.18]],
  ['blue', [0, 0, 255], [32.3, 79.19, -107.86]],
  ['grey 128', [128, 128, 128], [53.59, 0, 0]],
  ['yellow', [255, 255, 0], [97.14, -21.55, 94.48]],
];

describe('sRGB -> Lab', () => {
  it.each(REFERENCE)('%s', (_name, rgb, lab) => {
    const got = srgbToLab(rgb[0] / 255, rgb[1] / 255, rgb[2] / 255);
    for (let c = 0; c < 3; c++) expect(Math.abs(got[c]! - lab[c]!)).toBeLessThan(0.05);
    // The same through a [-1, 1] image.
    const img = imageToLab(pixels(1, 1, [rgb]));
    for (let c = 0; c < 3; c++) expect(Math.abs(img[c]! - lab[c]!)).toBeLessThan(0.05);
  });

  it('dark colours use the linear segment of the sRGB curve and of L*', () => {
    // Grey 10: linear Y = (10 / 255) / 12.92 (below 0.04045), and L* = (29/3)^3 Y below (6/29)^3.
    const L = srgbToLab(10 / 255, 10 / 255, 10 / 255)[0];
    expect(Math.abs(L - 2.7418)).toBeLessThan(0.0005);
    expect(Math.abs(srgbToLab(1 / 255, 1 / 255, 1 / 255)[0] - 0.2742)).toBeLessThan(0.0005);
  });

  it('a 1-channel image is grey: a* = b* = 0', () => {
    const lab = imageToLab({ height: 1, width: 2, channels: 1, data: Float32Array.of(1, 128 / 127.5 - 1) });
    [100, 0, 0, 53.59, 0, 0].forEach((v, i) => expect(Math.abs(lab[i]! - v)).toBeLessThan(0.005));
  });
});

describe('Lab histograms', () => {
  const green = pixels(4, 4, [[0, 255, 0]]);
  const blue = pixels(4, 4, [[0, 0, 255]]);
  const mixed = pixels(4, 4, [[0, 255, 0], [0, 0, 255]]); // half green, half blue

  it('the documented binning: width-1 bins centred on the integers, L 0..100, a and b -128..127; ends clamp', () => {
    expect(LAB_BINNING).toEqual({ L: { min: -0.5, max: 100.5, bins: 101 }, a: { min: -128.5, max: 127.5, bins: 256 }, b: { min: -128.5, max: 127.5, bins: 256 } });
    expect(binOf(LAB_BINNING.L, 0)).toBe(0);
    expect(binOf(LAB_BINNING.L, 53.24)).toBe(53);
    expect(binOf(LAB_BINNING.L, 53.6)).toBe(54);
    expect(binOf(LAB_BINNING.L, 100)).toBe(100);
    expect(binOf(LAB_BINNING.a, -128)).toBe(0);
    expect(binOf(LAB_BINNING.a, -1e-6)).toBe(128); // neutral colours stay in the 0 bin
    expect(binOf(LAB_BINNING.a, 1e-6)).toBe(128);
    expect(binOf(LAB_BINNING.a, 127)).toBe(255);
    expect(binOf(LAB_BINNING.b, 300)).toBe(255);
    expect(binOf(LAB_BINNING.b, -300)).toBe(0);
  });

  it('counts every pixel once per channel, in the bin of its value', () => {
    const h = labHistogram([pixels(2, 3, [[255, 0, 0]]), pixels(1, 2, [[255, 255, 255]])]);
    expect(h.pixels).toBe(8);
    for (const c of ['L', 'a', 'b'] as const) expect(h[c].reduce((a, b) => a + b, 0)).toBe(8);
    expect(h.L[53]).toBe(6); // red, L 53.24
    expect(h.a[128 + 80]).toBe(6); // red, a 80.09
    expect(h.b[128 + 67]).toBe(6); // red, b 67.20
    expect(h.L[100]).toBe(2); // white, L 100
    expect(h.a[128]).toBe(2); // white, a 0
    expect(h.b[128]).toBe(2); // white, b 0
  });

  it('identical sets: intersection 1 and KL 0', () => {
    const real = labHistogram([mixed, green, pixels(5, 3, [[12, 200, 90], [250, 10, 128], [60, 60, 60]])]);
    const same = labHistogram([mixed, green, pixels(5, 3, [[12, 200, 90], [250, 10, 128], [60, 60, 60]])]);
    for (const c of Object.values(compareLabHistograms(real, same))) {
      expect(c.intersection).toBeCloseTo(1, 12);
      expect(c.kl).toBeCloseTo(0, 12);
    }
  });

  it('disjoint sets: intersection 0 and a large KL (each empty bin costs about p ln(p / epsilon))', () => {
    const cmp = compareLabHistograms(labHistogram([green]), labHistogram([blue]));
    for (const c of Object.values(cmp)) {
      expect(c.intersection).toBe(0);
      expect(c.kl).toBeCloseTo(Math.log(1 / KL_EPSILON), 3);
    }
  });

  it('half overlap: intersection 0.5; KL(real || generated) follows the documented smoothing', () => {
    // Real: half green, half blue. Generated: all green. Each channel has two bins of 0.5 vs one of 1.
    const cmp = compareLabHistograms(labHistogram([mixed]), labHistogram([green]));
    const kl = 0.5 * Math.log(0.5 / 1) + 0.5 * Math.log(0.5 / KL_EPSILON);
    for (const c of Object.values(cmp)) {
      expect(c.intersection).toBeCloseTo(0.5, 12);
      expect(c.kl).toBeCloseTo(kl, 4);
    }
    // KL is not symmetric: generated || real has no empty bin under mass, so it is small.
    const back = compareLabHistograms(labHistogram([green]), labHistogram([mixed]));
    expect(back.L.kl).toBeCloseTo(Math.log(2), 6);
  });

  it('epsilon is an option, and the direction is real || generated', () => {
    const p = [2, 2, 0];
    const q = [4, 0, 0];
    expect(klDivergence(p, q, 1e-3)).toBeLessThan(klDivergence(p, q, 1e-10));
    expect(klDivergence(p, q)).toBeCloseTo(0.5 * Math.log(0.5) + 0.5 * Math.log(0.5 / KL_EPSILON), 4);
    expect(histogramIntersection(p, q)).toBeCloseTo(0.5, 12);
    // Histograms are normalised: scale does not matter.
    expect(histogramIntersection([1, 3], [10, 30])).toBeCloseTo(1, 12);
  });

  it('streaming: adding images one at a time gives the histogram of the set', () => {
    const h = emptyLabHistogram();
    addToLabHistogram(h, green);
    addToLabHistogram(h, mixed);
    const all = labHistogram([green, mixed]);
    expect([...h.L]).toEqual([...all.L]);
    expect([...h.b]).toEqual([...all.b]);
    expect(h.pixels).toBe(32);
  });
});
