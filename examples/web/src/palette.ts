/**
 * The 12 CMP facade classes with the label colours of the pix2pix facades
 * data (the library's FACADES_PALETTE), and a random facade label map to
 * start drawing from.
 */
import { FACADES_PALETTE, type PaletteClass } from 'pix2pix-ts';

export type LabelClass = PaletteClass;

/** The library's facades palette (the colours of the label halves of the pix2pix facades data). */
export const CLASSES: readonly LabelClass[] = FACADES_PALETTE.classes;

export const css = (c: LabelClass): string => `rgb(${c.rgb.join(',')})`;
const byName = (name: string): LabelClass => CLASSES.find((c) => c.name === name)!;

/** A small seeded generator (mulberry32), so a "random facade" can be reproduced by its seed. */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
};

/**
 * A facade as the CMP label maps draw one: background sky, the facade, a
 * cornice, floors of windows (with sills, some with blinds or balconies),
 * a shop or doors on the ground floor, pillars at the sides.
 */
export const drawRandomFacade = (ctx: CanvasRenderingContext2D, seed: number): void => {
  const { width: w, height: h } = ctx.canvas;
  const r = rng(seed);
  const between = (lo: number, hi: number) => lo + (hi - lo) * r();
  const fill = (name: string, x: number, y: number, fw: number, fh: number) => {
    ctx.fillStyle = css(byName(name));
    ctx.fillRect(Math.round(x), Math.round(y), Math.max(1, Math.round(fw)), Math.max(1, Math.round(fh)));
  };
  fill('background', 0, 0, w, h);
  const top = between(0, 0.12) * h;
  fill('facade', 0, top, w, h - top);
  fill('cornice', 0, top, w, between(0.02, 0.05) * h);
  const floors = 3 + Math.floor(r() * 3);
  const columns = 3 + Math.floor(r() * 3);
  const ground = between(0.18, 0.26) * h;
  const floorH = (h - top - ground - 0.06 * h) / floors;
  const colW = w / columns;
  const winW = colW * between(0.4, 0.6);
  const winH = floorH * between(0.5, 0.7);
  const balconyFloor = Math.floor(r() * floors);
  for (let f = 0; f < floors; f++) {
    const y = top + 0.06 * h + f * floorH + (floorH - winH) / 2;
    for (let c = 0; c < columns; c++) {
      const x = c * colW + (colW - winW) / 2;
      fill('window', x, y, winW, winH);
      if (r() < 0.3) fill('blind', x, y, winW, winH * 0.3);
      fill('sill', x - 2, y + winH, winW + 4, Math.max(2, floorH * 0.06));
    }
    if (f === balconyFloor) fill('balcony', 0.05 * w, y + winH * 0.65, 0.9 * w, winH * 0.35);
    if (f > 0) fill('molding', 0, top + 0.06 * h + f * floorH - 1, w, 2);
  }
  const gy = h - ground;
  if (r() < 0.5) {
    fill('shop', 0.08 * w, gy + ground * 0.15, 0.84 * w, ground * 0.85);
  } else {
    for (let c = 0; c < columns; c++) {
      const x = c * colW + (colW - winW) / 2;
      if (c === Math.floor(columns / 2)) fill('door', x, gy + ground * 0.1, winW, ground * 0.9);
      else fill('window', x, gy + ground * 0.2, winW, ground * 0.5);
    }
  }
  fill('pillar', 0, gy, 0.04 * w, ground);
  fill('pillar', 0.96 * w, gy, 0.04 * w, ground);
  if (r() < 0.5) fill('deco', w * 0.4, top + 0.01 * h, w * 0.2, 0.04 * h);
};
