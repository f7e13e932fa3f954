/**
 * The ablation examples' variants as a sweep: each variant is a set of
 * `pix2pix train` config fields over the example's base (its data split,
 * size, steps and schedule), trained by the library's sweep machinery —
 * local worker processes by default, a BullMQ queue with --queue — into
 * run directories under OUT/sweep, then translated and scored here as the
 * other examples are. A second run of an example skips the runs it has.
 */
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import {
  disposeTree,
  enqueueSweep,
  loadGenerator,
  openDataset,
  readDone,
  runLocal,
  waitForJobs,
  DEFAULT_QUEUE,
  sweepOf,
  sweepPaths,
  type AxisValue,
  type Pair,
  type Segmenter,
} from '../../lib/node.ts';
import { fcnOf, score, translate, type DataSetup, type ExampleArgs, type RunOptions, type VariantResult } from './experiment.ts';

export interface ConfigVariant {
  /** The name the example's table shows. */
  readonly name: string;
  /** Config fields over the base: { objective: 'l1+cgan', discriminator: 'patch16', ... }. */
  readonly config: Readonly<Record<string, AxisValue>>;
}

/** The example's base config: experiment.ts's `train` as `pix2pix train` fields (the same split, crops, schedule and keys). */
const baseOf = async (d: DataSetup, o: RunOptions): Promise<Record<string, unknown>> => {
  if (d.split !== undefined && d.split !== 'train') throw new Error(`a sweep trains on the train/ split of ${d.root}, not ${d.split}/`);
  const trainSize = (await openDataset({ root: d.root, split: d.split ?? 'train', direction: d.direction, range: d.train })).size;
  const epochs = Math.ceil(o.steps / Math.ceil(trainSize / o.batch));
  return {
    data: d.root,
    ...(d.layout ? { layout: d.layout } : {}),
    direction: d.direction,
    inChannels: d.inChannels ?? 3,
    outChannels: d.outChannels ?? 3,
    trainRange: [d.train[0], d.train[1] ?? 0],
    size: d.size,
    loadSize: d.loadSize,
    batch: o.batch,
    seed: o.seed,
    epochs: Math.ceil(epochs / 2),
    epochsDecay: Math.floor(epochs / 2),
    steps: o.steps,
    checkpointEvery: 250,
    sampleEvery: o.steps,
  };
};

/** Train the variants as one sweep (skipping finished runs), then translate and score each on the held-out pairs. */
export const sweepVariants = async (
  d: DataSetup,
  variants: readonly ConfigVariant[],
  o: RunOptions,
  pairs: readonly Pair[],
  args: ExampleArgs,
  segmenter?: Segmenter,
): Promise<VariantResult[]> => {
  const out = join(args.out, 'sweep');
  // Fields every variant sets alike go to the base, so a run is named by what varies (discriminator=patch16).
  const keys = [...new Set(variants.flatMap((v) => Object.keys(v.config)))];
  const same = keys.filter((k) => variants.every((v) => k in v.config && v.config[k] === variants[0]!.config[k]));
  const common = Object.fromEntries(same.map((k) => [k, variants[0]!.config[k]]));
  const varied = variants.map((v) => Object.fromEntries(Object.entries(v.config).filter(([k]) => !same.includes(k))));
  const runs = sweepOf({ base: { ...(await baseOf(d, o)), ...common }, variants: varied }, args.out);
  if (E.isLeft(runs)) throw new Error(runs.left);
  if (args.queue !== undefined) {
    const q = await enqueueSweep(args.queue, out, runs.right);
    console.log(`${q.added} runs enqueued on ${args.queue} (${q.kept} already there): start 'pix2pix worker --queue ${args.queue}' on each machine`);
    const failed = (await waitForJobs(args.queue, out, runs.right, DEFAULT_QUEUE, 2000)).filter((j) => j.state === 'failed');
    if (failed.length > 0) throw new Error(failed.map((j) => `${j.name}: ${j.state === 'failed' ? j.error : ''}`).join('\n'));
  } else {
    const r = await runLocal({ out, runs: runs.right, ...(args.workers ? { workers: args.workers } : {}), ...(args.backend !== 'auto' ? { backend: args.backend as 'native' } : {}), log: (l) => console.log(l) });
    if (r.failed.length > 0) throw new Error(r.failed.map((f) => f.error).join('\n'));
    if (r.signal !== undefined) process.exit(130);
  }
  const results: VariantResult[] = [];
  for (const [i, v] of variants.entries()) {
    const dir = sweepPaths(out).run(runs.right[i]!.name);
    const g = await loadGenerator(dir);
    const outputs = translate({ variant: { name: v.name, generator: g.generator, discriminator: [], objective: g.objective }, params: g.params, state: g.state }, pairs);
    disposeTree(g.params);
    disposeTree(g.state);
    const done = await readDone(dir);
    results.push({ name: v.name, scores: score(outputs, pairs), ...(segmenter ? { fcn: fcnOf(segmenter, outputs, pairs) } : {}), seconds: done?.seconds ?? NaN, outputs });
  }
  return results;
};
