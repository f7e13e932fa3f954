// Segmentation scores on hand-made label maps, nearest-palette mapping, and the FCN-style score plumbing.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  addToConfusion, confusionMatrix, disposeTree, emptyConfusion, FACADES_PALETTE, fcnScores, identity, labelsToImage, makeKey, nearestPaletteLabels, PALETTES,
  readImage, scoreLabels, segment, segmentationScores, splitHalves, unet, type Palette,
} from '../lib/node.ts';

const palette3: Palette = { name: 'three', classes: [{ name: 'sky', rgb: [0, 0, 255] }, { name: 'grass', rgb: [0, 255, 0] }, { name: 'road', rgb: [128, 128, 128] }] };

describe('segmentation scores', () => {
  // 4x4 maps: truth has 8 of class 0, 6 of class 1, 2 of class 2.
  const truth = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2];
  const pred = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0];

  it('per-pixel accuracy, per-class accuracy and mean IoU of a hand-made map', () => {
    const s = scoreLabels(pred, truth, palette3);
    expect(s.pixelAccuracy).toBe(10 / 16);
    // sky 6/8, grass 4/6, road 0/2.
    expect(s.perClass.map((c) => c.accuracy)).toEqual([6 / 8, 4 / 6, 0]);
    expect(s.meanClassAccuracy).toBeCloseTo((6 / 8 + 4 / 6 + 0) / 3, 12);
    // sky: 6 / (8 + 10 - 6); grass: 4 / (6 + 6 - 4); road: 0 / 2.
    expect(s.perClass.map((c) => c.iou)).toEqual([0.5, 0.5, 0]);
    expect(s.meanIoU).toBeCloseTo(1 / 3, 12);
    expect(s.perClass.map((c) => [c.name, c.truthPixels, c.predictedPixels])).toEqual([['sky', 8, 10], ['grass', 6, 6], ['road', 2, 0]]);
    expect(s.pixels).toBe(16);
  });

  it('class accuracy averages over classes in the ground truth; IoU over classes in either', () => {
    // 4 classes; truth only has 0; the prediction also says 3 once; 1 and 2 appear nowhere.
    const s = segmentationScores(confusionMatrix([0, 3], [0, 0], 4));
    expect(s.pixelAccuracy).toBe(0.5);
    expect(s.perClass.map((c) => c.accuracy)).toEqual([0.5, null, null, null]);
    expect(s.meanClassAccuracy).toBe(0.5);
    expect(s.perClass.map((c) => c.iou)).toEqual([0.5, null, null, 0]);
    expect(s.meanIoU).toBe(0.25);
    expect(s.perClass.map((c) => c.name)).toEqual(['0', '1', '2', '3']);
  });

  it('a perfect prediction scores 1 everywhere', () => {
    const s = scoreLabels(truth, truth, palette3);
    expect([s.pixelAccuracy, s.meanClassAccuracy, s.meanIoU]).toEqual([1, 1, 1]);
  });

  it('over a set, the confusion matrices are summed (pixels weigh, not images)', () => {
    const cm = emptyConfusion(3);
    addToConfusion(cm, pred, truth);
    addToConfusion(cm, [2, 2], [2, 2]);
    const s = segmentationScores(cm, palette3);
    expect(s.pixelAccuracy).toBe(12 / 18);
    expect(s.perClass[2]!.accuracy).toBe(2 / 4);
    expect(() => addToConfusion(cm, [0], [0, 1])).toThrow(/differ in size/);
    expect(() => addToConfusion(cm, [3], [0])).toThrow(/out of range/);
  });
});

describe('nearest palette colour', () => {
  it('the facades palette: the 12 CMP classes, by name and colour', () => {
    expect(PALETTES.facades).toBe(FACADES_PALETTE);
    expect(FACADES_PALETTE.classes.map((c) => c.name)).toEqual(['background', 'facade', 'window', 'door', 'cornice', 'sill', 'balcony', 'blind', 'deco', 'molding', 'pillar', 'shop']);
    expect(FACADES_PALETTE.classes[0]!.rgb).toEqual([0, 0, 222]);
    expect(FACADES_PALETTE.classes[11]!.rgb).toEqual([174, 0, 2]);
  });

  it('jittered colours map back to their class (jitter within half the closest pair distance)', () => {
    const cols = FACADES_PALETTE.classes.map((c) => c.rgb);
    let closest = Infinity;
    for (const [i, a] of cols.entries()) for (const b of cols.slice(i + 1)) closest = Math.min(closest, Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]));
    const amp = 12; // max distance sqrt(3) * 12 = 20.8
    expect(Math.sqrt(3) * amp).toBeLessThan(closest / 2);
    let seed = 1;
    const r = () => ((seed = (Math.imul(seed, 48271) >>> 0) % 0x7fffffff) / 0x7fffffff) * 2 - 1;
    const truth: number[] = [];
    const data: number[] = [];
    for (let k = 0; k < 12; k++)
      for (let j = 0; j < 20; j++) {
        truth.push(k);
        for (const v of cols[k]!) data.push(Math.max(0, Math.min(255, v + r() * amp)) / 127.5 - 1);
      }
    const labels = nearestPaletteLabels({ height: 12, width: 20, channels: 3, data: Float32Array.from(data) }, FACADES_PALETTE);
    expect([...labels]).toEqual(truth);
    // Off-palette colours go to the nearest class: (0, 0, 190) is background, (0, 40, 250) facade.
    expect([...nearestPaletteLabels({ height: 1, width: 1, channels: 3, data: Float32Array.from([0, 0, 190].map((v) => v / 127.5 - 1)) }, FACADES_PALETTE)]).toEqual([0]);
    expect([...nearestPaletteLabels({ height: 1, width: 1, channels: 3, data: Float32Array.from([0, 40, 250].map((v) => v / 127.5 - 1)) }, FACADES_PALETTE)]).toEqual([1]);
  });

  it('a colour equally far from two palette colours goes to the lower class index', () => {
    // (0, 127.5, 127.5) is exactly halfway between sky (0, 0, 255) and grass (0, 255, 0).
    const two: Palette = { name: 'two', classes: [palette3.classes[0]!, palette3.classes[1]!] };
    expect([...nearestPaletteLabels({ height: 1, width: 1, channels: 3, data: Float32Array.of(-1, 0, 0) }, two)]).toEqual([0]);
    const swapped: Palette = { name: 'swapped', classes: [palette3.classes[1]!, palette3.classes[0]!] };
    expect([...nearestPaletteLabels({ height: 1, width: 1, channels: 3, data: Float32Array.of(-1, 0, 0) }, swapped)]).toEqual([0]);
  });

  it('labelsToImage and back is the identity; tensors work too', () => {
    const labels = Uint8Array.from({ length: 6 * 7 }, (_, i) => (i * 5) % 12);
    const img = labelsToImage(labels, 6, 7, FACADES_PALETTE);
    expect([...nearestPaletteLabels(img, FACADES_PALETTE)]).toEqual([...labels]);
    const t = tf.tensor4d(img.data, [1, 6, 7, 3]);
    expect([...nearestPaletteLabels(t, FACADES_PALETTE)]).toEqual([...labels]);
    t.dispose();
  });

  it('a real JPEG label map from the fixtures reads as facades labels (mostly facade, several classes)', async () => {
    const [, labels] = splitHalves(await readImage('test/fixtures/facades/val/5.jpg'));
    const counts = new Array<number>(12).fill(0);
    for (const l of nearestPaletteLabels(labels, FACADES_PALETTE)) counts[l]!++;
    expect(counts.indexOf(Math.max(...counts))).toBe(1); // facade
    expect(counts.filter((c) => c > 20).length).toBeGreaterThanOrEqual(5);
  });
});

describe('FCN-style score', () => {
  const seg = { generator: identity(), params: {}, state: {} }; // "segments" a photo into itself

  it('a segmenter that recovers the labels scores 1; one that gets half the pixels wrong scores 0.5', () => {
    const labels = Uint8Array.from({ length: 8 * 8 }, (_, i) => i % 3);
    const labelMap = labelsToImage(labels, 8, 8, FACADES_PALETTE);
    const perfect = fcnScores(seg, [{ photo: labelMap, labels: labelMap }], FACADES_PALETTE);
    expect([perfect.pixelAccuracy, perfect.meanClassAccuracy, perfect.meanIoU]).toEqual([1, 1, 1]);
    // A "photo" whose second half the segmenter reads as class 5 (sill).
    const wrong = labelsToImage(labels.map((l, i) => (i < 32 ? l : 5)), 8, 8, FACADES_PALETTE);
    const before = tf.memory().numTensors;
    const half = fcnScores(seg, [{ photo: wrong, labels: labelMap }, { photo: labelMap, labels: labelMap }], FACADES_PALETTE);
    expect(tf.memory().numTensors).toBe(before);
    expect(half.pixelAccuracy).toBe(96 / 128);
    expect(half.perClass[5]!.iou).toBe(0);
    expect(half.perClass[5]!.accuracy).toBeNull();
  });

  it('segment runs a real generator and refuses a photo it does not fit', () => {
    const G = unet({ depth: 3, ngf: 4 });
    const { params, state } = G.init(makeKey(0), [8, 8, 3]);
    const photo = labelsToImage(new Uint8Array(64), 8, 8, FACADES_PALETTE);
    const before = tf.memory().numTensors;
    const a = segment({ generator: G, params, state }, photo, FACADES_PALETTE, { seed: 3 });
    const b = segment({ generator: G, params, state }, photo, FACADES_PALETTE, { seed: 3 });
    expect(tf.memory().numTensors).toBe(before);
    expect(a.length).toBe(64);
    expect([...a]).toEqual([...b]); // a fixed seed: the same labels
    expect(() => segment({ generator: G, params, state }, labelsToImage(new Uint8Array(36), 6, 6, FACADES_PALETTE), FACADES_PALETTE)).toThrow(/does not take a 6x6x3 photo/);
    disposeTree(params);
    disposeTree(state);
  });
});
