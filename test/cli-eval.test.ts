// `pix2pix eval` end to end: tiny runs trained here, evaluated, the JSON checked for structure and ranges.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';
import { disposeTree, FACADES_PALETTE, fcnScores, loadSegmenter, makeKey, nearestPaletteLabels, openDataset, preprocessPair, type Pair } from '../lib/node.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pix2pix-eval-'));
const labelsToPhoto = join(tmp, 'btoa'); // facades BtoA: labels -> photo
const photoToLabels = join(tmp, 'atob'); // facades AtoB: photo -> labels (a segmenter)
const data = 'test/fixtures/facades';

const run = runCli;

const train = (direction: string, out: string) =>
  run('train', '--data', data, '--direction', direction, '--size', '32', '--load-size', '36', '--generator', 'unet32', '--ngf', '8', '--ndf', '8', '--discriminator', 'patch16', '--steps', '5', '--out', out, '--backend', 'cpu', '--quiet');

beforeAll(async () => {
  expect((await train('BtoA', labelsToPhoto)).status).toBe(0);
  expect((await train('AtoB', photoToLabels)).status).toBe(0);
});

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const inUnit = (v: number) => v >= 0 && v <= 1;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The val pairs preprocessed as the tiny runs do (resize 36, centre crop 32), in a direction. */
const valPairs = async (direction: 'AtoB' | 'BtoA'): Promise<Pair[]> => {
  const ds = await openDataset({ root: data, split: 'val', direction });
  const pairs: Pair[] = [];
  for (let i = 0; i < ds.size; i++) pairs.push(preprocessPair(await ds.load(i), makeKey(0), { loadSize: 36, cropSize: 32, train: false }));
  return pairs;
};
const rgb = (p: Pair, which: 'x' | 'y') => ({ height: p.height, width: p.width, channels: 3, data: p[which] });

/** Pixels per facades class in the label halves (B) of the val pairs, preprocessed as the tiny runs do (resize 36, centre crop 32). */
const valLabelCounts = async (): Promise<number[]> => {
  const counts = new Array<number>(12).fill(0);
  for (const p of await valPairs('AtoB')) for (const l of nearestPaletteLabels(rgb(p, 'y'), FACADES_PALETTE)) counts[l]!++;
  return counts;
};

const expectSegmentation = (s: { pixelAccuracy: number; meanClassAccuracy: number; meanIoU: number; pixels: number; perClass: { name: string; truthPixels: number; accuracy: number | null; iou: number | null }[] }, pixels: number) => {
  for (const v of [s.pixelAccuracy, s.meanClassAccuracy, s.meanIoU]) expect(inUnit(v)).toBe(true);
  expect(s.pixels).toBe(pixels);
  expect(s.perClass.map((c) => c.name)).toEqual(FACADES_PALETTE.classes.map((c) => c.name));
  expect(s.perClass.reduce((a, c) => a + c.truthPixels, 0)).toBe(pixels);
  for (const c of s.perClass) for (const v of [c.accuracy, c.iou]) expect(v === null || inUnit(v)).toBe(true);
};

describe('pix2pix eval', () => {
  it('labels -> photo: a table, and a JSON with per-image and aggregate scores in range; outputs are those of pix2pix test', async () => {
    const json = join(tmp, 'out', 'eval.json');
    const before = tf.memory().numTensors;
    const r = await run('eval', '--run', labelsToPhoto, '--data', data, '--split', 'val', '--json', json, '--backend', 'cpu');
    expect(r.status, r.err).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.out).toMatch(/2 pairs, BtoA, 32x32, mode paper, seed 0/);
    expect(r.out).toMatch(/image\s+L1\s+L2\s+PSNR dB\s+SSIM/);
    expect(r.out).toMatch(/^all\s+0\.\d{4}/m);
    expect(r.out).toMatch(/KL\(targets\|\|outputs\)/);
    const j = readJson(json);
    expect(j).toMatchObject({ run: labelsToPhoto, split: 'val', direction: 'BtoA', size: [32, 32], mode: 'paper', seed: 0, count: 2, backend: 'cpu', warnings: [] });
    expect(j.segmentation).toBeUndefined();
    expect(j.fcn).toBeUndefined();
    expect(j.images.map((i: { name: string }) => i.name)).toEqual(['5', '6']);
    for (const im of j.images) {
      expect(im.l1).toBeGreaterThan(0);
      expect(im.l1).toBeLessThanOrEqual(2);
      expect(im.l2).toBeGreaterThan(0);
      expect(im.l2).toBeLessThanOrEqual(4);
      expect(im.l2).toBeGreaterThanOrEqual(im.l1 * im.l1); // Jensen: E[d^2] >= E[|d|]^2
      expect(im.psnr).toBeCloseTo(-10 * Math.log10(im.l2 / 4), 10);
      expect(im.ssim).toBeGreaterThanOrEqual(-1);
      expect(im.ssim).toBeLessThan(1);
    }
    for (const k of ['l1', 'l2', 'psnr', 'ssim']) expect(j.mean[k]).toBeCloseTo(mean(j.images.map((i: Record<string, number>) => i[k]!)), 12);
    // The run's objective (l1+cgan): its D-free term, l1, by name, per image (tf ops) == the metric's L1 (a loop in double).
    for (const im of j.images) expect(im.terms.l1).toBeCloseTo(im.l1, 5);
    expect(Object.keys(j.terms)).toEqual(['l1']);
    expect(j.terms.l1).toBeCloseTo(j.mean.l1, 5);
    expect(r.out).toMatch(/the run's objective \(terms without a discriminator, unweighted, mean\): l1 0\.\d{4}/);
    expect(j.lab.binning.L.bins).toBe(101);
    for (const c of ['L', 'a', 'b']) {
      // After 5 steps the outputs are far from photos: the colour distributions clearly differ.
      expect(j.lab.channels[c].intersection).toBeGreaterThan(0);
      expect(j.lab.channels[c].intersection).toBeLessThan(0.95);
      expect(j.lab.channels[c].kl).toBeGreaterThan(0.05);
    }
    // The same images as `pix2pix test` (same preprocessing, dropout key seed + i): the same mean L1.
    const t = await run('test', '--run', labelsToPhoto, '--data', data, '--split', 'val', '--backend', 'cpu');
    expect(t.out).toContain(`mean L1 ${j.mean.l1.toFixed(4)} over 2 pairs`);
  });

  it('--seed picks the dropout noise (same seed, same scores); --max takes the first N; --json - prints only JSON', async () => {
    // unet32 has no dropout (the paper's sits at depth 6 and below), so this needs a unet64.
    const noisy = join(tmp, 'unet64');
    const t = await run('train', '--data', data, '--direction', 'BtoA', '--size', '64', '--load-size', '64', '--generator', 'unet64', '--ngf', '4', '--ndf', '4', '--discriminator', 'patch16', '--steps', '2', '--out', noisy, '--backend', 'cpu', '--quiet');
    expect(t.status, t.err).toBe(0);
    const evalJson = async (...extra: string[]) => {
      const r = await run('eval', '--run', noisy, '--data', data, '--split', 'val', '--json', '-', '--backend', 'cpu', ...extra);
      expect(r.status, r.err).toBe(0);
      return JSON.parse(r.out); // nothing but the JSON on stdout
    };
    const [a, b, c, first] = [await evalJson('--seed', '3'), await evalJson('--seed', '3'), await evalJson('--seed', '4'), await evalJson('--seed', '3', '--max', '1')];
    expect(a.size).toEqual([64, 64]);
    expect(a.images).toEqual(b.images);
    expect(c.images[0].l1).not.toBe(a.images[0].l1);
    expect(first.count).toBe(1);
    expect(first.images).toEqual([a.images[0]]);
    // Pair i gets the key of seed + i, as in `pix2pix test`: the same outputs, so the same mean L1.
    const tested = await run('test', '--run', noisy, '--data', data, '--split', 'val', '--seed', '3', '--backend', 'cpu');
    expect(tested.out).toContain(`mean L1 ${a.mean.l1.toFixed(4)} over 2 pairs`);
  });

  it('photo -> labels with --labels facades: segmentation scores of the outputs against the target label maps', async () => {
    const json = join(tmp, 'seg.json');
    const r = await run('eval', '--run', photoToLabels, '--data', data, '--split', 'val', '--labels', 'facades', '--json', json, '--backend', 'cpu');
    expect(r.status, r.err).toBe(0);
    expect(r.out).toMatch(/segmentation: the outputs read as facades labels/);
    expect(r.out).toMatch(/^background\s+\d+/m);
    const j = readJson(json);
    expect(j.direction).toBe('AtoB');
    expect(j.segmentation.palette).toBe('facades');
    expectSegmentation(j.segmentation.scores, 2 * 32 * 32);
    // The ground truth is the targets (label maps) read through the palette.
    expect(j.segmentation.scores.perClass.map((c: { truthPixels: number }) => c.truthPixels)).toEqual(await valLabelCounts());
    for (const im of j.images) for (const v of Object.values(im.segmentation) as number[]) expect(inUnit(v)).toBe(true);
  });

  it('labels -> photo with --segmenter: FCN-style scores of generated and real photos; a segmenter of the wrong direction is flagged', async () => {
    const json = join(tmp, 'fcn.json');
    const r = await run('eval', '--run', labelsToPhoto, '--data', data, '--split', 'val', '--segmenter', photoToLabels, '--json', json, '--backend', 'cpu');
    expect(r.status, r.err).toBe(0);
    expect(r.out).toMatch(/FCN-style score/);
    const j = readJson(json);
    expect(j.fcn.segmenter).toBe(photoToLabels);
    expectSegmentation(j.fcn.generated, 2 * 32 * 32);
    expectSegmentation(j.fcn.real, 2 * 32 * 32);
    // The ground truth is the inputs (label maps), not the photos.
    const counts = await valLabelCounts();
    expect(j.fcn.generated.perClass.map((c: { truthPixels: number }) => c.truthPixels)).toEqual(counts);
    expect(j.fcn.real.perClass.map((c: { truthPixels: number }) => c.truthPixels)).toEqual(counts);
    // The reference row is the segmenter on the real photos (the targets), computed here with the library's pieces.
    const seg = await loadSegmenter(photoToLabels);
    const real = fcnScores(seg, (await valPairs('BtoA')).map((p) => ({ photo: rgb(p, 'y'), labels: rgb(p, 'x') })), FACADES_PALETTE);
    disposeTree(seg.params);
    disposeTree(seg.state);
    expect(j.fcn.real.perClass).toEqual(real.perClass);
    expect(j.fcn.real.pixelAccuracy).toBe(real.pixelAccuracy);
    expect(j.warnings).toEqual([]);
    for (const im of j.images) expect(inUnit(im.fcn.meanIoU)).toBe(true);
    const wrong = await run('eval', '--run', labelsToPhoto, '--data', data, '--split', 'val', '--segmenter', labelsToPhoto, '--backend', 'cpu');
    expect(wrong.status).toBe(0);
    expect(wrong.out).toMatch(/warning: segmenter .* same direction \(BtoA\)/);
  });

  it('bad usage exits 2 naming the flag; a missing split exits 1 naming it', async () => {
    const noRun = await run('eval', '--data', data);
    expect(noRun.status).toBe(2);
    expect(noRun.err).toMatch(/--run is required/);
    const badLabels = await run('eval', '--run', labelsToPhoto, '--data', data, '--labels', 'cityscapes');
    expect(badLabels.status).toBe(2);
    expect(badLabels.err).toMatch(/--labels: expected facades, got "cityscapes"/);
    const noSplit = await run('eval', '--run', labelsToPhoto, '--data', data, '--backend', 'cpu');
    expect(noSplit.status).toBe(1);
    expect(noSplit.err).toMatch(/split folder .*test not found; the splits that exist are: train, val/);
    expect((await run('eval', '--help')).out).toMatch(/--segmenter RUN/);
  });
});
