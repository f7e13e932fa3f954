/** `pix2pix test`: G over a split, with input / output / target images and an HTML page. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as t from 'io-ts';
import { useBackend } from '../backend/index.ts';
import { openDataset } from '../data/dataset.ts';
import { outputSize } from '../data/preprocess.ts';
import { renderReport } from '../report/html.ts';
import { fixedPairs, translatePairs, tripletsFor } from '../train/samples.ts';
import { errnoOf } from '../io/errors.ts';
import { writeFileAtomic } from '../io/file.ts';
import { disposeTree } from '../core/tree.ts';
import { loadGenerator } from '../train/run-model.ts';
import { cliPhrasing, decodeFlags, oneOf, positiveIntFromString, UsageError, backendFlag } from './flags.ts';

export const testHelp = `pix2pix test --run DIR --data DIR [options]

  --run DIR|ZIP    a run directory written by 'pix2pix train', or a run archive ('pix2pix export')
  --data DIR       the dataset folder (layout, direction and channels come from the run's config)
  --split NAME     which split (default test; val or train also work)
  --out DIR        where the images, index.html and test.json go (default RUN/test-SPLIT): a new or
                   empty folder, or an earlier test's (never a folder of other files)
  --max N          at most N pairs (default all)
  --seed N         the dropout noise (default 0)
  --mode MODE      paper (default) or eval
  --backend NAME   auto (default), tensorflow, webgpu, native, wasm, cpu`;

const Flags = t.exact(
  t.partial({ run: t.string, data: t.string, split: t.string, out: t.string, max: positiveIntFromString, seed: t.string, mode: oneOf(['paper', 'eval']), backend: backendFlag }),
);
const s = { type: 'string' } as const;
const options = { run: s, data: s, split: s, out: s, max: s, seed: s, mode: s, backend: s } as const;

/** The marker of a folder `pix2pix test` wrote: it may be written again; any other non-empty folder may not. */
export const TEST_FORMAT = 'pix2pix-ts/test';

/** `dir` may be written: it is empty or missing, an earlier test's, or (`own`) the run's own test-SPLIT folder. */
const claimTestDir = async (dir: string, own: boolean, what: object): Promise<void> => {
  const marker = join(dir, 'test.json');
  const entries = await readdir(dir).catch((e: unknown) => {
    if (errnoOf(e) === 'ENOENT') return [] as string[];
    if (errnoOf(e) === 'ENOTDIR') throw new UsageError(`--out ${dir} is a file, not a folder`);
    throw e;
  });
  if (entries.length > 0 && !own) {
    const json = await readFile(marker, 'utf8').then((t) => JSON.parse(t) as { format?: unknown }).catch(() => undefined);
    if (json?.format !== TEST_FORMAT)
      throw new UsageError(`--out ${dir} is not empty and was not written by 'pix2pix test' (it has no test.json): choose a new or empty --out`);
  }
  await writeFileAtomic(marker, `${JSON.stringify({ format: TEST_FORMAT, ...what, at: new Date().toISOString() }, null, 2)}\n`);
};

export const testCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const f = decodeFlags(argv, options, Flags);
  if (f.run === undefined) throw new UsageError('--run is required');
  if (f.data === undefined) throw new UsageError('--data is required');
  if (f.seed !== undefined && !/^\d+$/.test(f.seed)) throw new UsageError(`--seed: expected a non-negative integer, got "${f.seed}"`);
  const split = f.split ?? 'test';
  if (f.out === undefined && f.run.toLowerCase().endsWith('.zip')) throw new UsageError(`--run ${f.run} is a run archive, which has no folder for the results: give --out DIR`);
  await useBackend(f.backend ?? 'auto', { quiet: true });
  const { config, generator, params, state } = await loadGenerator(f.run);
  try {
    const data = await openDataset({ root: f.data, layout: config.layout, split, direction: config.direction, inputChannels: config.inChannels, outputChannels: config.outChannels, phrasing: cliPhrasing });
    const preprocess = { mode: config.preprocess, loadSize: config.loadSize, cropSize: config.size, noFlip: true, train: false };
    const ex = data.examples[0]!;
    const [h, w] = outputSize(ex.height, ex.width, preprocess);
    out(`testing ${f.run} on ${data.size} pairs of ${data.dir} at ${h}x${w}`);
    const pairs = await fixedPairs(data, f.max ?? data.size, preprocess);
    const dir = f.out ?? join(f.run, `test-${split}`);
    await claimTestDir(dir, f.out === undefined, { run: f.run, split, mode: f.mode ?? 'paper', seed: Number(f.seed ?? 0) });
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
