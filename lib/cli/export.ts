/** `pix2pix export`: a run directory as one file (a run archive), for the web page or to share. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as t from 'io-ts';
import { disposeTree, leaves, type Tree } from '../core/tree.ts';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointFiles } from '../io/checkpoint-bytes.ts';
import { loadCheckpoint } from '../io/checkpoint.ts';
import { MANIFEST_FILE, WEIGHTS_FILE } from '../io/manifest.ts';
import { encodeRunArchive } from '../io/run-archive.ts';
import { writeFileAtomic } from '../io/file.ts';
import { readConfig, runCheckpoint, RunError, runPaths } from '../train/run-dir.ts';
import { runConfigText } from '../train/run-config.ts';
import { decodeFlags, oneOf, UsageError } from './flags.ts';
import { exportOnnx, ONNX_OPSET } from '../interop/onnx.ts';
import { loadGenerator } from '../train/run-model.ts';
import { useBackend } from '../backend/index.ts';

export const exportHelp = `pix2pix export --run DIR --out FILE.zip [--generator-only]
pix2pix export --run DIR|ZIP --format onnx [--mode eval|paper] --out G.onnx

  --run DIR           a run directory written by 'pix2pix train'
  --out FILE.zip      the run archive to write: config.json and checkpoint/ (manifest.json,
                      weights.bin) in one zip, which 'pix2pix translate --run FILE.zip' and
                      the web page (examples/web) read as they are; never replaces a file
  --generator-only    keep only G's parameters and state (about a third of the size with
                      Adam's moments and D left out): enough to translate, not to resume
  --format KIND       zip (default: a run archive) or onnx (the generator as an ONNX model, opset 17:
                      input x and output y NCHW float32 in [-1, 1], batch, height and width free)
  --mode MODE         with --format onnx: eval (batch norm's running statistics; the default where
                      the run keeps them, e.g. an import) or paper (each image's own statistics, as
                      the paper's test time at batch 1; dropout is left out)`;

const Flags = t.exact(t.partial({ run: t.string, out: t.string, generatorOnly: t.boolean, format: oneOf(['zip', 'onnx']), mode: oneOf(['eval', 'paper']) }));
const options = { run: { type: 'string' }, out: { type: 'string' }, 'generator-only': { type: 'boolean' }, format: { type: 'string' }, mode: { type: 'string' } } as const;

const GENERATOR_TREES = ['g.params', 'g.state'];

export const exportCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const f = decodeFlags(argv, options, Flags);
  for (const k of ['run', 'out'] as const) if (f[k] === undefined) throw new UsageError(`--${k} is required`);
  const run = f.run!;
  const target = f.out!;
  if (f.format === 'onnx') return exportOnnxCommand(run, target, f.mode, out);
  if (f.mode !== undefined) throw new UsageError('--mode goes with --format onnx');
  if (!target.toLowerCase().endsWith('.zip')) throw new UsageError(`--out ${target}: a run archive is a .zip file`);
  if (existsSync(target)) throw new UsageError(`--out ${target} exists: choose another name (export never replaces a file)`);
  await useBackend('cpu', { quiet: true }); // the tensors are only copied
  const config = await readConfig(run);
  const version = await runCheckpoint(run);
  if (version === undefined) throw new RunError(`${run} has no checkpoint yet: train it first`);
  let checkpoint: CheckpointFiles;
  if (f.generatorOnly) {
    const { trees, meta } = await loadCheckpoint(runPaths(run).checkpoint);
    try {
      const kept = Object.fromEntries(GENERATOR_TREES.map((k) => [k, trees[k]] as const).filter((e): e is [string, Tree] => e[1] !== undefined));
      checkpoint = await encodeCheckpoint({ trees: kept, meta }, target);
    } finally {
      Object.values(trees).forEach(disposeTree);
    }
  } else {
    // The newest checkpoint's files as they are, read once and checked as a loader would.
    checkpoint = { manifest: await readFile(join(version.path, MANIFEST_FILE), 'utf8'), weights: new Uint8Array(await readFile(join(version.path, WEIGHTS_FILE))) };
    Object.values((await decodeCheckpoint(checkpoint, undefined, version.path)).trees).forEach(disposeTree);
  }
  const bytes = encodeRunArchive({ config: runConfigText(config), checkpoint });
  await writeFileAtomic(target, bytes, { durable: true });
  out(`${run} -> ${target} (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB${f.generatorOnly ? ', generator only' : ''})`);
};

/** The run's generator as an ONNX model. */
const exportOnnxCommand = async (run: string, target: string, mode: 'eval' | 'paper' | undefined, out: (line: string) => void): Promise<void> => {
  if (!target.toLowerCase().endsWith('.onnx')) throw new UsageError(`--out ${target}: an ONNX model file ends in .onnx`);
  if (existsSync(target)) throw new UsageError(`--out ${target} exists: choose another name (export never replaces a file)`);
  await useBackend('cpu', { quiet: true }); // the weights are read synchronously
  const g = await loadGenerator(run);
  try {
    const hasStats = leaves(g.state).length > 0;
    const chosen = mode ?? (hasStats || g.config.norm !== 'batch' ? 'eval' : 'paper');
    if (chosen === 'eval' && g.config.norm === 'batch' && !hasStats)
      throw new UsageError(`--mode eval uses batch norm's running statistics, and ${run} has none (runs trained here keep none; imports do): use --mode paper`);
    const bytes = exportOnnx(g.generator, g.params, g.state, { mode: chosen, inChannels: g.config.inChannels, outChannels: g.config.outChannels, name: g.config.generator });
    await writeFileAtomic(target, bytes, { durable: true });
    out(`${run} -> ${target} (${g.config.generator}, ONNX opset ${ONNX_OPSET}, ${chosen} mode${chosen === 'paper' ? ', no dropout' : ''}, ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  } finally {
    disposeTree(g.params);
    disposeTree(g.state);
  }
};
