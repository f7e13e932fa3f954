/**
 * `pix2pix import`: a generator (and optionally a discriminator) trained by
 * the PyTorch reference, from its .pth files, as a run directory that
 * translate, test, eval, summary and train --resume use like any other.
 */
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { makeKey } from '../core/key.ts';
import { formatShapeError } from '../core/shape.ts';
import { disposeTree, type Tree } from '../core/tree.ts';
import type { Layer } from '../core/layer.ts';
import { importTorchStateDict } from '../interop/torch-import.ts';
import { defaultConfig, networksOf, specOf, type TrainConfig } from '../train/config.ts';
import { saveTrainState } from '../train/checkpoint.ts';
import { inspectRunDir, runPaths, writeConfig } from '../train/run-dir.ts';
import { disposeState, initTrainState, type TrainState } from '../train/state.ts';
import { useBackend } from '../backend/index.ts';
import { backendFlag, decodeFlags, oneOf, positiveIntFromString, UsageError } from './flags.ts';

export const importHelp = `pix2pix import --torch-g FILE.pth --generator NAME --out DIR [options]

  --torch-g FILE.pth    the generator's state_dict, saved by torch.save (the reference's
                        latest_net_G.pth; zip or legacy format, fp32 or fp16)
  --torch-d FILE.pth    also the discriminator's (latest_net_D.pth), to fine-tune with train --resume
  --generator NAME      unet256, unet128, resnet9, resnet6 (the reference's --netG), or unetN / resnetN
  --discriminator NAME  patch70 (default: the reference's basic D), pixel, patch16, patchN
  --ngf N, --ndf N      the reference's --ngf / --ndf (default 64)
  --norm KIND           batch (default) or instance (the reference's --norm)
  --no-dropout          the reference's --no_dropout (its pix2pix default keeps dropout in the U-Net)
  --direction D         AtoB (default) or BtoA, recorded for test, eval and fine-tuning
  --data DIR            the dataset a later train --resume fine-tunes on (recorded in the config)
  --size N              the training size recorded in the config (default: N of unetN, else 256)
  --out DIR             the run directory to write: a new or empty folder
  --backend NAME        auto (default), tensorflow, webgpu, native, wasm, cpu

Batch norm's running statistics come along: translate --mode eval then equals PyTorch's
G.eval()(x), and --mode paper its train-mode output.`;

const Flags = t.exact(
  t.partial({
    torchG: t.string,
    torchD: t.string,
    generator: t.string,
    discriminator: t.string,
    ngf: positiveIntFromString,
    ndf: positiveIntFromString,
    norm: oneOf(['batch', 'instance']),
    noDropout: t.boolean,
    direction: oneOf(['AtoB', 'BtoA']),
    data: t.string,
    size: positiveIntFromString,
    out: t.string,
    backend: backendFlag,
  }),
);
const s = { type: 'string' } as const;
const options = {
  'torch-g': s, 'torch-d': s, generator: s, discriminator: s, ngf: s, ndf: s, norm: s, 'no-dropout': { type: 'boolean' }, direction: s, data: s, size: s, out: s, backend: s,
} as const;

const read = async (flag: string, path: string): Promise<Uint8Array> => {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UsageError(`--${flag} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
};

export const importCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const f = decodeFlags(argv, options, Flags);
  for (const [k, flag] of [['torchG', 'torch-g'], ['generator', 'generator'], ['out', 'out']] as const) if (f[k] === undefined) throw new UsageError(`--${flag} is required`);
  const dir = f.out!;
  const kind = await inspectRunDir(dir);
  if (kind.kind !== 'missing' && kind.kind !== 'empty') throw new UsageError(`--out ${dir} ${kind.kind === 'file' ? 'is a file' : 'is not empty'}: import writes a new run directory (a new or empty folder)`);
  const size = f.size ?? Number(/^(?:unet|encoderDecoder)(\d+)$/.exec(f.generator!)?.[1] ?? 256);
  const config: TrainConfig = {
    ...defaultConfig,
    data: f.data ?? `(imported from ${f.torchG}: pass the dataset with --data to fine-tune)`,
    direction: f.direction ?? 'AtoB',
    size,
    loadSize: Math.round((size * 286) / 256),
    generator: f.generator!,
    discriminator: f.discriminator ?? 'patch70',
    ngf: f.ngf ?? 64,
    ndf: f.ndf ?? 64,
    norm: f.norm ?? 'batch',
    dropout: f.noDropout ? 0 : 0.5,
    trackRunningStats: true,
  };
  const nets = networksOf(config);
  if (E.isLeft(nets)) throw new UsageError(nets.left.replace(/^generator: /, '--generator: ').replace(/^discriminator: /, '--discriminator: '));
  const gBytes = await read('torch-g', f.torchG!);
  const dBytes = f.torchD === undefined ? undefined : await read('torch-d', f.torchD);
  await useBackend(f.backend ?? 'auto', { quiet: true });
  const flags = { ngf: '--ngf', norm: '--norm', generator: '--generator' };
  const g = importTorchStateDict(gBytes, { network: nets.right.generator, input: [size, size, config.inChannels], name: f.torchG!, flags });
  let d: { readonly params: Tree; readonly state: Tree } | undefined;
  const spec = specOf(config, nets.right);
  const init = initTrainState(spec, makeKey(config.seed));
  if (E.isLeft(init)) throw new UsageError(`--size ${size}: ${formatShapeError(init.left)} (the run keeps a D to fine-tune with: a smaller --discriminator, or a larger --size)`);
  let state: TrainState = init.right;
  let swapped = false;
  try {
    if (dBytes !== undefined) {
      const D = nets.right.discriminator;
      if (Array.isArray(D)) throw new UsageError('--torch-d: a multi-scale discriminator cannot be imported');
      d = importTorchStateDict(dBytes, { network: D as Layer, input: [size, size, config.inChannels + config.outChannels], name: f.torchD!, flags: { ngf: '--ndf', norm: '--norm', generator: '--discriminator' } });
    }
    const old = state;
    state = { ...state, g: { params: g.params, state: g.state }, ...(d ? { d: { params: d.params, state: d.state } } : {}) };
    swapped = true;
    disposeTree(old.g.params);
    disposeTree(old.g.state);
    if (d) {
      disposeTree(old.d.params);
      disposeTree(old.d.state);
    }
    await writeConfig(dir, config);
    await saveTrainState(runPaths(dir).checkpoint, state);
  } finally {
    if (!swapped) {
      disposeTree(g.params);
      disposeTree(g.state);
    }
    disposeState(state);
  }
  out(`${f.torchG}${f.torchD ? ` and ${f.torchD}` : ''} -> ${dir} (${config.generator}, ngf ${config.ngf}, ${config.norm} norm${config.dropout === 0 ? ', no dropout' : ''}; running statistics kept: translate --mode eval equals PyTorch's G.eval())`);
};
