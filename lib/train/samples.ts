/**
 * Sample triplets (input / output / target) from fixed held-out pairs, and
 * the HTML report that shows them with the loss curves.
 */
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { makeKey } from '../core/key.ts';
import type { Layer, Mode } from '../core/layer.ts';
import type { Tree } from '../core/tree.ts';
import type { Dataset, Pair } from '../data/dataset.ts';
import { writeImage } from '../data/image.ts';
import type { Channels, FloatImage } from '../data/pixels.ts';
import { preprocessPair, type PreprocessOptions } from '../data/preprocess.ts';
import { renderReport, type Triplet } from '../report/html.ts';
import { writeFileAtomic } from '../io/file.ts';
import { readLosses, runPaths } from './run-dir.ts';

/** The first `count` pairs of a dataset, preprocessed deterministically (centre crop, no flip). */
export const fixedPairs = async (dataset: Dataset, count: number, preprocess: PreprocessOptions): Promise<Pair[]> => {
  const options = { ...preprocess, train: false };
  const one = async (i: number): Promise<Pair> =>
    dataset.loadAugmented ? dataset.loadAugmented(i, makeKey(0), options) : preprocessPair(await dataset.load(i), makeKey(0), options);
  return Promise.all(Array.from({ length: Math.min(count, dataset.size) }, (_, i) => one(i)));
};

export const pairTensors = (p: Pair): { x: tf.Tensor4D; y: tf.Tensor4D } => ({
  x: tf.tensor4d(p.x, [1, p.height, p.width, p.xChannels]),
  y: tf.tensor4d(p.y, [1, p.height, p.width, p.yChannels]),
});

export interface Translated {
  readonly name: string;
  readonly l1: number;
}

/** A translated pair: its L1, and its three images as [-1, 1] HWC floats, off the backend. */
export interface Translation extends Translated {
  readonly input: FloatImage;
  readonly output: FloatImage;
  readonly target: FloatImage;
}

/** The images of a translation, by the suffix of their file names. */
export type TranslationImage = 'input' | 'output' | 'target';

/** Where a pair's images go: NAME-input.png etc. under `dir`, the name made safe for a file system. */
const imageBase = (dir: string, name: string): string => join(dir, name.replace(/[^\w.-]+/g, '_'));

/**
 * Run G on each pair (one at a time: the paper's batch-1 test time) and
 * return each pair's L1 and images; nothing is written.
 */
export const translate = async (G: Layer, params: Tree, state: Tree, pairs: readonly Pair[], opts: { mode?: Mode; seed?: number } = {}): Promise<Translation[]> => {
  const out: Translation[] = [];
  for (const [i, p] of pairs.entries()) {
    const { x, y } = pairTensors(p);
    const fake = tf.tidy(() => G.apply(params, state, x, { mode: opts.mode ?? 'paper', key: makeKey((opts.seed ?? 0) + i) })[0]);
    const l1t = tf.tidy(() => tf.mean(tf.abs(tf.sub(fake, y))));
    const l1 = (await l1t.data())[0]!; // async reads: webgpu in Node has no synchronous ones
    // A copy: some backends lend their buffer only until the tensor is freed.
    const output = { height: p.height, width: p.width, channels: fake.shape[3] as Channels, data: ((await fake.data()) as Float32Array).slice() };
    tf.dispose([x, y, fake, l1t]);
    out.push({ name: p.name, l1, input: { height: p.height, width: p.width, channels: p.xChannels, data: p.x }, output, target: { height: p.height, width: p.width, channels: p.yChannels, data: p.y } });
  }
  return out;
};

/** Write `which` images of each translation as NAME-input/-output/-target.png under `dir`, all at once. */
export const writeTranslations = async (dir: string, ts: readonly Translation[], which: readonly TranslationImage[] = ['input', 'output', 'target']): Promise<void> => {
  await Promise.all(ts.flatMap((t) => which.map((w) => writeImage(`${imageBase(dir, t.name)}-${w}.png`, t[w]))));
};

/**
 * Run G on each pair (see `translate`), write NAME-input/-output/-target.png
 * under `dir`, and return the L1 of each.
 */
export const translatePairs = async (G: Layer, params: Tree, state: Tree, pairs: readonly Pair[], dir: string, opts: { mode?: Mode; seed?: number } = {}): Promise<Translated[]> => {
  const ts = await translate(G, params, state, pairs, opts);
  await writeTranslations(dir, ts);
  return ts.map(({ name, l1 }) => ({ name, l1 }));
};

export const tripletsFor = (pageDir: string, imageDir: string, results: readonly Translated[]): Triplet[] =>
  results.map((r) => {
    const base = relative(pageDir, imageBase(imageDir, r.name));
    return { name: r.name, input: `${base}-input.png`, output: `${base}-output.png`, target: `${base}-target.png`, note: `L1 ${r.l1.toFixed(4)}` };
  });

export const writeRunReport = async (
  dir: string,
  title: string,
  facts: ReadonlyArray<readonly [string, string]>,
  samples: readonly Translated[],
  samplesTitle: string,
): Promise<void> => {
  const paths = runPaths(dir);
  const losses = (await readLosses(dir)) as Array<{ step: number; epoch: number; [k: string]: number }>;
  const html = renderReport({ title, facts, losses, triplets: tripletsFor(dir, paths.samples, samples), tripletsTitle: samplesTitle });
  await writeFileAtomic(paths.report, html);
};
