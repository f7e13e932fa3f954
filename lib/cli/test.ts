/** `pix2pix test`: G over a split, with input / output / target images and an HTML page. */
import { join } from 'node:path';
import * as t from 'io-ts';
import { useBackend } from '../backend/index.ts';
import { openDataset } from '../data/dataset.ts';
import { outputSize } from '../data/preprocess.ts';
import { renderReport } from '../report/html.ts';
import { fixedPairs, translatePairs, tripletsFor } from '../train/samples.ts';
import { writeFileAtomic } from '../train/run-dir.ts';
import { disposeTree } from '../core/tree.ts';
import { loadGenerator } from './run-model.ts';
import { decodeFlags, oneOf, positiveIntFromString, UsageError, backendFlag } from './flags.ts';

export const testHelp = `pix2pix test --run DIR --data DIR [options]

  --run DIR        a run directory written by 'pix2pix train'
  --data DIR       the dataset folder (layout, direction and channels come from the run's config)
  --split NAME     which split (default test; val or train also work)
  --out DIR        where the images and index.html go (default RUN/test-SPLIT)
  --max N          at most N pairs (default all)
  --seed N         the dropout noise (default 0)
  --mode MODE      paper (default) or eval
  --backend NAME   auto (default), tensorflow, native, wasm, cpu`;

const Flags = t.exact(
  t.partial({ run: t.string, data: t.string, split: t.string, out: t.string, max: positiveIntFromString, seed: t.string, mode: oneOf(['paper', 'eval']), backend: backendFlag }),
);
const s = { type: 'string' } as const;
const options = { run: s, data: s, split: s, out: s, max: s, seed: s, mode: s, backend: s } as const;

export const testCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const f = decodeFlags(argv, options, Flags);
  if (f.run === undefined) throw new UsageError('--run is required');
  if (f.data === undefined) throw new UsageError('--data is required');
  if (f.seed !== undefined && !/^\d+$/.test(f.seed)) throw new UsageError(`--seed: expected a non-negative integer, got "${f.seed}"`);
  const split = f.split ?? 'test';
  await useBackend(f.backend ?? 'auto', { quiet: true });
  const { config, generator, params, state } = await loadGenerator(f.run);
  try {
    const data = await openDataset({ root: f.data, layout: config.layout, split, direction: config.direction, inputChannels: config.inChannels, outputChannels: config.outChannels });
    const preprocess = { mode: config.preprocess, loadSize: config.loadSize, cropSize: config.size, noFlip: true, train: false };
    const ex = data.examples[0]!;
    const [h, w] = outputSize(ex.height, ex.width, preprocess);
    out(`testing ${f.run} on ${data.size} pairs of ${data.dir} at ${h}x${w}`);
    const pairs = await fixedPairs(data, f.max ?? data.size, preprocess);
    const dir = f.out ?? join(f.run, `test-${split}`);
    const results = await translatePairs(generator, params, state, pairs, join(dir, 'images'), { mode: f.mode ?? 'paper', seed: Number(f.seed ?? 0) });
    const meanL1 = results.reduce((a, r) => a + r.l1, 0) / results.length;
    const html = renderReport({
      title: `pix2pix test: ${f.run} on ${split}`,
      facts: [
        ['data', `${data.dir} (${results.length} pairs), ${config.direction}`],
        ['model', `${config.generator} / ${config.discriminator}, ${config.objective}`],
        ['mode', f.mode ?? 'paper'],
        ['mean L1', meanL1.toFixed(4)],
      ],
      triplets: tripletsFor(dir, join(dir, 'images'), results),
      tripletsTitle: `${split}: input / output / target`,
    });
    await writeFileAtomic(join(dir, 'index.html'), html);
    out(`mean L1 ${meanL1.toFixed(4)} over ${results.length} pairs`);
    out(`page: ${join(dir, 'index.html')}`);
  } finally {
    disposeTree(params);
    disposeTree(state);
  }
};
