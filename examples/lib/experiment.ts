/**
 * What the example scripts share: train a variant (networks + objective as
 * expressions) on a fixed train split, run it over a fixed held-out split,
 * score it, and write tables and image grids. Everything here is built from
 * the library's public API.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import {
  showLosses,
  batches,
  cgan,
  compareLabHistograms,
  FACADES_PALETTE,
  fcnScores,
  disposeState,
  disposeTree,
  fit,
  floatToBytes,
  foldIn,
  imageScores,
  initTrainState,
  labHistogram,
  l1,
  linearDecay,
  makeKey,
  makeStep,
  meanScores,
  openDataset,
  patchDiscriminator,
  plus,
  preprocessPair,
  unet,
  useBackend,
  type Dataset,
  type Direction,
  type FloatImage,
  type ImageScores,
  type LabComparison,
  type Layer,
  type Layout,
  type Objective,
  type Pair,
  type Pix2PixSpec,
  type Schedule,
  type Segmenter,
  type StepMetrics,
  type Tree,
  type UnetOptions,
} from '../../lib/node.ts';

export interface DataSetup {
  /** Dataset folder (holding train/), read with the aligned A|B layout unless `layout` says otherwise. */
  readonly root: string;
  readonly layout?: Layout;
  readonly split?: string;
  readonly direction: Direction;
  readonly inChannels?: 1 | 3;
  readonly outChannels?: 1 | 3;
  /** Files [start, end) of the sorted split: the training pairs, and the fixed held-out pairs (never trained on). */
  readonly train: readonly [number, number?];
  readonly heldOut: readonly [number, number?];
  /** Network size (random crop) and the size loaded before cropping. */
  readonly size: number;
  readonly loadSize: number;
}

export interface Variant {
  readonly name: string;
  readonly generator: Layer;
  /** One discriminator, or several (multiscaleDiscriminator). */
  readonly discriminator: Layer | readonly Layer[];
  readonly objective: Objective;
  /** G's and D's optimisers, given the run's learning-rate schedule (default: the paper's Adam with it). */
  readonly optimizer?: (schedule: Schedule) => NonNullable<Pix2PixSpec['optimizer']>;
  readonly dStepsPerG?: number;
  readonly poolSize?: number;
}

export interface RunOptions {
  readonly steps: number;
  readonly seed: number;
  readonly batch: number;
}

export interface Trained {
  readonly variant: Variant;
  readonly params: Tree;
  readonly state: Tree;
  readonly seconds: number;
  readonly losses: readonly StepMetrics[];
}

export interface ExampleArgs {
  /** The paper's sizes (256x256, 200 epochs): for a GPU. */
  readonly full: boolean;
  readonly steps: number | undefined;
  readonly data: string;
  readonly out: string;
  readonly backend: string;
  /** Examples that train through a sweep: local worker processes (default: one per 2 cores) or a BullMQ queue. */
  readonly workers?: number;
  readonly queue?: string;
}

/** Flags every example takes: --full, --steps N, --data DIR, --out DIR, --backend NAME (and, where it trains a sweep, --workers N, --queue URL). */
export const exampleArgs = (name: string): ExampleArgs => {
  const { values } = parseArgs({
    options: { full: { type: 'boolean', default: false }, steps: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string', default: 'auto' }, workers: { type: 'string' }, queue: { type: 'string' } },
  });
  const data = values.data ?? ['../shared/datasets/facades', 'datasets/facades'].find((d) => existsSync(join(d, 'train')));
  if (!data) throw new Error('no facades data: pass --data DIR, or fetch it with `npx pix2pix download facades --dest datasets`');
  return {
    full: values.full!,
    steps: values.steps ? Number(values.steps) : undefined,
    data,
    out: values.out ?? join('runs', 'examples', name),
    backend: values.backend!,
    ...(values.workers ? { workers: Number(values.workers) } : {}),
    ...(values.queue ? { queue: values.queue } : {}),
  };
};

/** The facades split every example uses: the last 40 files of train are held out, never trained on. */
export const facades = (root: string, full: boolean, direction: Direction = 'BtoA'): DataSetup => ({
  root,
  direction,
  train: [0, -40],
  heldOut: [-40],
  size: full ? 256 : 64,
  loadSize: full ? 286 : 72,
});

export const startBackend = async (args: ExampleArgs) => useBackend(args.backend as 'auto');

const open = (d: DataSetup, range: readonly [number, number?]): Promise<Dataset> =>
  openDataset({
    root: d.root,
    ...(d.layout ? { layout: d.layout } : {}),
    split: d.split ?? 'train',
    direction: d.direction,
    inputChannels: d.inChannels ?? 3,
    outputChannels: d.outChannels ?? 3,
    range,
  });

/** Train one variant from scratch; logs a line every `every` steps. */
export const train = async (d: DataSetup, v: Variant, o: RunOptions, log = (line: string) => console.log(line)): Promise<Trained> => {
  const data = await open(d, d.train);
  const perEpoch = Math.ceil(data.size / o.batch);
  const epochs = Math.ceil(o.steps / perEpoch);
  const game = {
    generator: v.generator,
    discriminator: v.discriminator,
    objective: v.objective,
    inputShape: [d.size, d.size, d.inChannels ?? 3] as const,
    outChannels: d.outChannels ?? 3,
    ...(v.dStepsPerG !== undefined ? { dStepsPerG: v.dStepsPerG } : {}),
    ...(v.poolSize !== undefined ? { poolSize: v.poolSize } : {}),
  };
  // The reference schedule, scaled to the run: constant for half, then linear decay.
  const schedule = linearDecay({ epochs: Math.ceil(epochs / 2), epochsDecay: Math.floor(epochs / 2) });
  const spec: Pix2PixSpec = v.optimizer ? { ...game, optimizer: v.optimizer(schedule) } : { ...game, schedule };
  const init = initTrainState(spec, makeKey(o.seed));
  if (init._tag === 'Left') throw new Error(`${v.name}: ${init.left.message}`);
  const stream = batches(data, { batchSize: o.batch, key: foldIn(makeKey(o.seed), 'data'), epochs, preprocess: { loadSize: d.loadSize, cropSize: d.size } });
  const losses: StepMetrics[] = [];
  const started = performance.now();
  const every = Math.max(1, Math.floor(o.steps / 5));
  const end = await fit(init.right, stream, makeStep(spec, { donate: true }), {
    maxSteps: o.steps,
    onStep: (s, m) => {
      losses.push(m);
      if (s.step % every === 0) log(`  ${v.name}: step ${s.step}/${o.steps}, ${showLosses(m)}`);
    },
  });
  const seconds = (performance.now() - started) / 1000;
  const { params, state } = end.g;
  // Keep G; free D and both optimiser states.
  disposeState({ ...end, g: { params: [], state: [] } });
  return { variant: v, params, state, seconds, losses };
};

/** The held-out pairs, preprocessed deterministically (resize and centre crop, no flip). */
export const heldOut = async (d: DataSetup, size = d.size, loadSize = d.loadSize): Promise<Pair[]> => {
  const data = await open(d, d.heldOut);
  const pairs: Pair[] = [];
  for (let i = 0; i < data.size; i++) pairs.push(preprocessPair(await data.load(i), makeKey(0), { loadSize, cropSize: size, train: false }));
  return pairs;
};

export const asImage = (p: Pair, which: 'x' | 'y'): FloatImage => ({
  height: p.height,
  width: p.width,
  channels: which === 'x' ? p.xChannels : p.yChannels,
  data: which === 'x' ? p.x : p.y,
});

/** G over each held-out input, the paper's way (dropout on, batch-1 statistics), pair i with seed + i. */
export const translate = (t: Pick<Trained, 'variant' | 'params' | 'state'>, pairs: readonly Pair[], seed = 0): FloatImage[] =>
  pairs.map((p, i) =>
    tf.tidy(() => {
      const x = tf.tensor4d(p.x, [1, p.height, p.width, p.xChannels]);
      const [y] = t.variant.generator.apply(t.params, t.state, x, { mode: 'paper', key: makeKey(seed + i) });
      return { height: y.shape[1], width: y.shape[2], channels: y.shape[3] as 1 | 3, data: y.dataSync() as Float32Array };
    }),
  );

export interface Scores extends ImageScores {
  readonly lab?: LabComparison;
}

/** Mean L1 / L2 / PSNR / SSIM of outputs against targets, and (for RGB) the Lab histogram comparison. */
export const score = (outputs: readonly FloatImage[], pairs: readonly Pair[]): Scores => {
  const mean = meanScores(outputs.map((o, i) => imageScores(o, asImage(pairs[i]!, 'y'))));
  if (outputs[0]?.channels !== 3) return mean;
  return { ...mean, lab: compareLabHistograms(labHistogram(pairs.map((p) => asImage(p, 'y'))), labHistogram(outputs)) };
};

export const release = (t: Trained): void => {
  disposeTree(t.params);
  disposeTree(t.state);
};

/** A grid of images: one row per example, one column per entry (all the same size), with a 2px gutter. */
export const writeGrid = async (path: string, rows: ReadonlyArray<readonly FloatImage[]>, scale = 2): Promise<void> => {
  const h = rows[0]![0]!.height * scale;
  const w = rows[0]![0]!.width * scale;
  const gap = 2;
  const tiles = await Promise.all(
    rows.flatMap((row, r) =>
      row.map(async (img, c) => {
        const bytes = floatToBytes(img);
        const tile = await sharp(bytes.data, { raw: { width: bytes.width, height: bytes.height, channels: bytes.channels } })
          .toColourspace('srgb')
          .resize(w, h, { kernel: 'nearest' })
          .png()
          .toBuffer();
        return { input: tile, top: r * (h + gap), left: c * (w + gap) };
      }),
    ),
  );
  const cols = Math.max(...rows.map((r) => r.length));
  await mkdir(join(path, '..'), { recursive: true });
  await sharp({ create: { width: cols * (w + gap) - gap, height: rows.length * (h + gap) - gap, channels: 3, background: '#ffffff' } })
    .composite(tiles)
    .png()
    .toFile(path);
};

export const fmt = (v: number | undefined, digits = 3): string => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits));

/** A Markdown table. */
export const markdownTable = (head: readonly string[], rows: ReadonlyArray<readonly string[]>): string =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export const writeResults = async (dir: string, name: string, markdown: string, json: unknown): Promise<void> => {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.md`), markdown + '\n');
  await writeFile(join(dir, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
};


export interface FcnSummary {
  readonly pixelAccuracy: number;
  readonly meanClassAccuracy: number;
  readonly meanIoU: number;
}

/** FCN-style scores: the segmenter on each generated photo against the label map it came from. */
export const fcnOf = (seg: Segmenter, photos: readonly FloatImage[], pairs: readonly Pair[]): FcnSummary => {
  const s = fcnScores(seg, photos.map((photo, i) => ({ photo, labels: asImage(pairs[i]!, 'x') })), FACADES_PALETTE);
  return { pixelAccuracy: s.pixelAccuracy, meanClassAccuracy: s.meanClassAccuracy, meanIoU: s.meanIoU };
};

export interface VariantResult {
  readonly name: string;
  readonly scores: Scores;
  readonly fcn?: FcnSummary;
  readonly seconds: number;
  readonly outputs: readonly FloatImage[];
}

/** Train each variant in turn, run it over the held-out pairs and score it (FCN-style too, given a segmenter). */
export const runVariants = async (
  d: DataSetup,
  variants: readonly Variant[],
  o: RunOptions,
  pairs: readonly Pair[],
  backendName: string,
  segmenter?: Segmenter,
): Promise<VariantResult[]> => {
  const results: VariantResult[] = [];
  for (const v of variants) {
    console.log(`${v.name}: training ${o.steps} steps at ${d.size}x${d.size} on ${backendName}`);
    const t = await train(d, v, o);
    const outputs = translate(t, pairs);
    release(t);
    results.push({ name: v.name, scores: score(outputs, pairs), ...(segmenter ? { fcn: fcnOf(segmenter, outputs, pairs) } : {}), seconds: t.seconds, outputs });
  }
  return results;
};

/** Write the grid (input, each variant, target for the first `rows` pairs) and the table as results.md / results.json. */
export const report = async (out: string, table: string, pairs: readonly Pair[], results: readonly VariantResult[], extra: object, rows = 6): Promise<void> => {
  console.log(`\n${table}`);
  const grid = join(out, 'grid.png');
  await writeGrid(grid, pairs.slice(0, rows).map((p, i) => [asImage(p, 'x'), ...results.map((r) => r.outputs[i]!), asImage(p, 'y')]));
  const json = { ...extra, heldOut: pairs.length, results: Object.fromEntries(results.map(({ name, scores, fcn, seconds }) => [name, { scores, fcn, seconds }])) };
  await writeResults(out, 'results', `${table}\n\nColumns of ${grid}: input, ${results.map((r) => r.name).join(', ')}, target.`, json);
  console.log(`grid: ${grid}; results: ${join(out, 'results.md')}`);
};

/** The comparison three examples make: the same U-Net and 70x70 D, trained with L1 alone and with L1+cGAN. */
export const l1VersusCgan = (net: UnetOptions & { ngf: number }): Variant[] =>
  [
    { name: 'L1', objective: l1(100) },
    { name: 'L1+cGAN', objective: plus(l1(100), cgan()) },
  ].map((v) => ({ ...v, generator: unet(net), discriminator: patchDiscriminator(70, { ndf: net.ngf }) }));
