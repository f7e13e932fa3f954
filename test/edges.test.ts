// Canny edges: where the edges are on images with known edges.
import { describe, expect, it } from 'vitest';
import { cannyEdges, intensity, sobel } from '../lib/data/edges.ts';
import type { FloatImage } from '../lib/data/image.ts';

const image = (h: number, w: number, f: (y: number, x: number) => number): FloatImage => {
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = f(y, x);
  return { height: h, width: w, channels: 3, data };
};
const isEdge = (e: FloatImage, y: number, x: number) => e.data[(y * e.width + x) * e.channels] === -1;

describe('edges', () => {
  it('a vertical step gives one thin vertical edge at the step, nothing elsewhere', () => {
    const img = image(32, 32, (_y, x) => (x < 16 ? -1 : 1));
    const e = cannyEdges(img, { sigma: 1 });
    for (let y = 4; y < 28; y++) {
      const cols = Array.from({ length: 32 }, (_, x) => x).filter((x) => isEdge(e, y, x));
      expect(cols.length).toBeGreaterThanOrEqual(1);
      expect(cols.length).toBeLessThanOrEqual(2);
      for (const x of cols) expect(Math.abs(x - 15.5)).toBeLessThanOrEqual(1);
    }
  });

  it('a flat image has no edges; a square has its outline', () => {
    expect(Array.from(cannyEdges(image(16, 16, () => 0.3)).data).every((v) => v === 1)).toBe(true);
    const e = cannyEdges(image(40, 40, (y, x) => (y >= 10 && y < 30 && x >= 10 && x < 30 ? 1 : -1)));
    expect(isEdge(e, 20, 20)).toBe(false); // inside
    expect(isEdge(e, 2, 2)).toBe(false); // outside
    expect([9, 10].some((x) => isEdge(e, 20, x))).toBe(true); // left side
    expect([9, 10].some((y) => isEdge(e, y, 20))).toBe(true); // top side
  });

  it('Sobel: a unit step has magnitude 1 and points across the step', () => {
    const h = 8, w = 8;
    const src = intensity(image(h, w, (_y, x) => (x < 4 ? -1 : 1)));
    const { magnitude, angle } = sobel(src, h, w);
    // Both pixels beside the boundary see the full step; the others see none.
    expect(magnitude[4 * w + 3]).toBeCloseTo(1, 5);
    expect(magnitude[4 * w + 4]).toBeCloseTo(1, 5);
    expect(angle[4 * w + 4]).toBeCloseTo(0, 5);
    expect(magnitude[4 * w + 1]).toBe(0);
    expect(magnitude[4 * w + 6]).toBe(0);
  });
});
