/**
 * Evaluate a trained run over a split of a data set: G (test-time mode
 * 'paper', a fixed seed, as `pix2pix test` runs it) on each pair, then
 *
 *  - per image and averaged: L1, L2, PSNR, SSIM of output vs target;
 *  - the Lab colour histograms of all outputs vs all targets (Fig. 7);
 *  - with `labels`: the targets are label maps of that palette (e.g. a
 *    photo -> labels run on facades), and the outputs are scored as a
 *    segmentation of them;
 *  - with `segmenter`: the inputs are label maps (a labels -> photo run),
 *    and a photo -> labels run scores the outputs FCN-style (and the real
 *    photos, for reference).
 *
 * Pairs are decoded and preprocessed one at a time exactly as `pix2pix
 * test` does (centre crop, no flip) and pair i gets the dropout key of
 * seed + i, so the outputs are the images `test` writes for the same seed.
 */
import type { Phrasing } from '../core/options.ts';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { makeKey } from '../core/key.ts';
import type { Term } from '../losses/objective.ts';
import type { Mode } from '../core/layer.ts';
import { formatShapeError } from '../core/shape.ts';
import { disposeTree } from '../core/tree.ts';
import { openDataset, type Direction } from '../data/dataset.ts';
import { outputSize, preprocessPair } from '../data/preprocess.ts';
import { loadGenerator, type TrainedGenerator } from '../train/run-model.ts';
import { RunError } from '../train/run-dir.ts';
import type { MetricImage } from './image.ts';
import { addToLabHistogram, compareLabHistograms, emptyLabHistogram, KL_EPSILON, LAB_BINNING, type LabBinning, type LabComparison } from './histogram.ts';
import { FACADES_PALETTE, nearestPaletteLabels, type Palette } from './palette.ts';
import { addToConfusion, confusionMatrix, emptyConfusion, segmentationScores, type SegmentationScores } from './segmentation.ts';
import { imageScores, meanScores, type ImageScores } from './scores.ts';
import { segment } from './fcn-score.ts';
import { loadSegmenter } from './load-segmenter.ts';

export interface EvaluateOptions {
  /** A run directory written by `pix2pix train`. */
  readonly run: string;
  /** The data set folder; layout, direction and channels come from the run's config. */
  readonly data: string;
  /** Default 'test' (as `pix2pix test`). */
  readonly split?: string;
  /** Files [start, end) of the sorted split (negative from the end, as Array.slice; end omitted: to the end). */
  readonly range?: readonly [number, number?];
  /** At most this many pairs (the first ones, naturally sorted). Default all. */
  readonly max?: number;
  /** Dropout noise: pair i uses seed + i. Default 0. */
  readonly seed?: number;
  /** Default 'paper'. */
  readonly mode?: Mode;
  /** The targets are label maps in this palette: score the outputs as segmentations. */
  readonly labels?: Palette;
  /** A photo -> labels run directory: FCN-style scores of the outputs against the input label maps. */
  readonly segmenter?: string;
  /** The palette of the input label maps for `segmenter`. Default FACADES_PALETTE. */
  readonly segmenterPalette?: Palette;
  readonly binning?: LabBinning;
  /** KL smoothing (see `klDivergence`). Default KL_EPSILON. */
  readonly epsilon?: number;
  /** Called after each image (progress). */
  readonly onImage?: (result: ImageResult, index: number, total: number) => void;
  /** How data errors name the options (the CLI names its flags). */
  readonly phrasing?: Phrasing;
}

/** The three summary numbers of a segmentation. */
export interface SegmentationSummary {
  readonly pixelAccuracy: number;
  readonly meanClassAccuracy: number;
  readonly meanIoU: number;
}

export interface ImageResult extends ImageScores {
  readonly name: string;
  /**
   * The run's objective's G terms that read no discriminator (l1, l2, a
   * user's term ...), unweighted, by term name: what they measured of this
   * output, as `G/<term>` in the training log.
   */
  readonly terms: Readonly<Record<string, number>>;
  /** With `labels`: the output read as labels vs the target label map. */
  readonly segmentation?: SegmentationSummary;
  /** With `segmenter`: segmenter(output) vs the input label map. */
  readonly fcn?: SegmentationSummary;
}

export interface EvalReport {
  readonly run: string;
  /** The folder the pairs came from (DATA/SPLIT). */
  readonly data: string;
  readonly split: string;
  readonly direction: Direction;
  /** [height, width] the pairs were evaluated at. */
  readonly size: readonly [number, number];
  readonly mode: Mode;
  readonly seed: number;
  readonly count: number;
  readonly images: readonly ImageResult[];
  /** Mean of the per-image scores. */
  readonly mean: ImageScores;
  /** Mean of the per-image `terms`, by term name. */
  readonly terms: Readonly<Record<string, number>>;
  /** Lab histograms of all outputs vs all targets: intersection and KL(targets || outputs) per channel. */
  readonly lab: { readonly binning: LabBinning; readonly epsilon: number; readonly channels: LabComparison };
  /** With `labels`: from the confusion matrix summed over the set. */
  readonly segmentation?: { readonly palette: string; readonly scores: SegmentationScores };
  /** With `segmenter`: the outputs (`generated`) and the real photos (`real`, the reference) segmented, vs the input label maps. */
  readonly fcn?: { readonly segmenter: string; readonly palette: string; readonly generated: SegmentationScores; readonly real: SegmentationScores };
  /** Things that make a score doubtful (e.g. a segmenter trained in the wrong direction). */
  readonly warnings: readonly string[];
}

/** Each term's G loss on one output (y disposed here). */
const termValues = async (terms: readonly Term[], x: tf.Tensor4D, y: tf.Tensor4D, fake: tf.Tensor4D): Promise<Record<string, number>> => {
  const none = (): never => {
    throw new Error('evaluation loads no discriminator');
  };
  if (terms.length === 0) {
    y.dispose();
    return {};
  }
  const stacked = tf.tidy(() => tf.stack(terms.map((t) => t.g!({ x, y, fake, critics: 0, onReal: none, onFake: none }))));
  y.dispose();
  const values = await stacked.data(); // one async read (webgpu in Node has no synchronous ones)
  stacked.dispose();
  return Object.fromEntries(terms.map((t, i) => [t.name, values[i]!]));
};

const summary = (s: SegmentationScores): SegmentationSummary => ({ pixelAccuracy: s.pixelAccuracy, meanClassAccuracy: s.meanClassAccuracy, meanIoU: s.meanIoU });

/** Checks that the segmenter fits the run it scores; returns warnings for what is only suspicious. */
const checkSegmenter = (run: TrainedGenerator, runDir: string, seg: TrainedGenerator, segDir: string): string[] => {
  if (run.config.inChannels !== 3) throw new RunError(`--segmenter needs RGB label maps as the inputs of ${runDir}, but it takes ${run.config.inChannels} channel(s)`);
  if (run.config.outChannels !== 3) throw new RunError(`--segmenter needs RGB outputs from ${runDir}, but it makes ${run.config.outChannels} channel(s)`);
  return seg.config.direction === run.config.direction
    ? [`segmenter ${segDir} was trained in the same direction (${seg.config.direction}) as ${runDir}: it should map the run's outputs (photos) back to its inputs (label maps)`]
    : [];
};

export const evaluateRun = async (opts: EvaluateOptions): Promise<EvalReport> => {
  const split = opts.split ?? 'test';
  const seed = opts.seed ?? 0;
  const mode = opts.mode ?? 'paper';
  const binning = opts.binning ?? LAB_BINNING;
  const epsilon = opts.epsilon ?? KL_EPSILON;
  const segPalette = opts.segmenterPalette ?? FACADES_PALETTE;
  const run = await loadGenerator(opts.run);
  let seg: TrainedGenerator | undefined;
  try {
    const { config, generator: G, params, state, objective } = run;
    // Terms that read a discriminator (cgan, fm) need the D, which evaluation does not load.
    const gTerms = objective.terms.filter((t) => t.g !== undefined && t.sees === undefined);
    if (opts.labels !== undefined && config.outChannels !== 3) throw new RunError(`--labels needs RGB label maps as targets, but ${opts.run} makes ${config.outChannels} channel(s)`);
    const warnings: string[] = [];
    if (opts.segmenter !== undefined) {
      seg = await loadSegmenter(opts.segmenter);
      warnings.push(...checkSegmenter(run, opts.run, seg, opts.segmenter));
    }
    const data = await openDataset({ root: opts.data, layout: config.layout, split, direction: config.direction, inputChannels: config.inChannels, outputChannels: config.outChannels, ...(opts.range ? { range: opts.range } : {}), ...(opts.phrasing ? { phrasing: opts.phrasing } : {}) });
    const preprocess = { mode: config.preprocess, loadSize: config.loadSize, cropSize: config.size, noFlip: true, train: false };
    const ex = data.examples[0]!;
    const [h, w] = outputSize(ex.height, ex.width, preprocess);
    const fits = G.shape([h, w, config.inChannels]);
    if (E.isLeft(fits)) throw new RunError(`${opts.run}'s generator does not take the ${h}x${w} pairs of ${data.dir}: ${formatShapeError(fits.left)}`);

    const count = Math.min(opts.max ?? data.size, data.size);
    const images: ImageResult[] = [];
    const real = emptyLabHistogram(binning);
    const fake = emptyLabHistogram(binning);
    const segCm = opts.labels ? emptyConfusion(opts.labels.classes.length) : undefined;
    const fcnGen = seg ? emptyConfusion(segPalette.classes.length) : undefined;
    const fcnReal = seg ? emptyConfusion(segPalette.classes.length) : undefined;
    for (let i = 0; i < count; i++) {
      // fixedPairs' preprocessing and translatePairs' key, one pair at a time (a whole split need not fit in memory).
      const pair = preprocessPair(await data.load(i), makeKey(0), preprocess);
      const x = tf.tensor4d(pair.x, [1, pair.height, pair.width, pair.xChannels]);
      const out = tf.tidy(() => G.apply(params, state, x, { mode, key: makeKey(seed + i) })[0]);
      const terms = await termValues(gTerms, x, tf.tensor4d(pair.y, [1, pair.height, pair.width, pair.yChannels]), out);
      x.dispose();
      // A copy of the data: some backends lend their buffer until the tensor is freed.
      const output: MetricImage = { height: out.shape[1], width: out.shape[2], channels: out.shape[3], data: ((await out.data()) as Float32Array).slice() };
      out.dispose();
      const input: MetricImage = { height: pair.height, width: pair.width, channels: pair.xChannels, data: pair.x };
      const target: MetricImage = { height: pair.height, width: pair.width, channels: pair.yChannels, data: pair.y };
      const scores = imageScores(output, target);
      addToLabHistogram(real, target);
      addToLabHistogram(fake, output);
      let segmentation: SegmentationSummary | undefined;
      if (opts.labels && segCm) {
        const predicted = nearestPaletteLabels(output, opts.labels);
        const truth = nearestPaletteLabels(target, opts.labels);
        addToConfusion(segCm, predicted, truth);
        segmentation = summary(segmentationScores(confusionMatrix(predicted, truth, opts.labels.classes.length)));
      }
      let fcn: SegmentationSummary | undefined;
      if (seg && fcnGen && fcnReal) {
        const truth = nearestPaletteLabels(input, segPalette);
        const predicted = segment(seg, output, segPalette, { mode, seed: seed + i });
        addToConfusion(fcnGen, predicted, truth);
        addToConfusion(fcnReal, segment(seg, target, segPalette, { mode, seed: seed + i }), truth);
        fcn = summary(segmentationScores(confusionMatrix(predicted, truth, segPalette.classes.length)));
      }
      const result: ImageResult = { name: pair.name, ...scores, terms, ...(segmentation && { segmentation }), ...(fcn && { fcn }) };
      images.push(result);
      opts.onImage?.(result, i, count);
    }
    return {
      run: opts.run,
      data: data.dir,
      split,
      direction: config.direction,
      size: [h, w],
      mode,
      seed,
      count,
      images,
      mean: meanScores(images),
      terms: Object.fromEntries(gTerms.map((t) => [t.name, images.reduce((a, im) => a + im.terms[t.name]!, 0) / Math.max(images.length, 1)])),
      lab: { binning, epsilon, channels: compareLabHistograms(real, fake, { epsilon }) },
      ...(opts.labels && segCm && { segmentation: { palette: opts.labels.name, scores: segmentationScores(segCm, opts.labels) } }),
      ...(seg &&
        fcnGen &&
        fcnReal && {
          fcn: { segmenter: opts.segmenter!, palette: segPalette.name, generated: segmentationScores(fcnGen, segPalette), real: segmentationScores(fcnReal, segPalette) },
        }),
      warnings,
    };
  } finally {
    disposeTree(run.params);
    disposeTree(run.state);
    if (seg) {
      disposeTree(seg.params);
      disposeTree(seg.state);
    }
  }
};
