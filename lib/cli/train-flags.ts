/** `pix2pix train`'s flags: the help, their codecs and ranges, and the TrainConfig they give (fresh or resumed). */
import * as t from 'io-ts';
import { defaultConfig, ranges, type TrainConfig } from '../train/config.ts';
import { decodeFlags, numberFromStringIn, oneOf, positiveIntFromString, UsageError, backendFlag } from './flags.ts';

export const trainHelp = `pix2pix train --data DIR --out DIR [options]

data
  --data DIR              a dataset folder (holding train/, val/), or a folder of images (all used for training)
  --layout KIND           aligned (A|B side by side, default) or separate (A/ and B/)
  --direction D           AtoB (default) or BtoA (facades: labels -> photo is BtoA)
  --size N                network input size, the random crop (default 256)
  --load-size N           resize to this before cropping, >= --size (default 286)
  --preprocess MODE       resize_and_crop (default), crop, scale_width, none
  --no-flip               no random horizontal flip
  --in-channels N, --out-channels N   1 or 3 (default 3)
  --train-range A:B       use files [A, B) of the sorted train split (B may be negative)
  --val-split NAME        held-out split for samples (default val; without one, samples are training pairs, said so)
  --skip-bad              decode every file before training; skip (and list) those that fail, instead of stopping
model
  --generator NAME        unet256 (default), unet128, encoderDecoder256, encoderDecoder128, or
                          unetN / encoderDecoderN for N = 2^depth (unet64 for 64x64 crops);
                          resnet9, resnet6 (the reference's ResNet generators; resnetN: N blocks)
  --discriminator NAME    patch70 (default), pixel, patch16, image286, patchN
  --scales N              pix2pixHD's multi-scale D: N copies at 1, 1/2, 1/4 ... of the size (default 1)
  --ngf N, --ndf N        first-layer filters (default 64)
  --norm KIND             batch (default), instance, none
  --dropout P             decoder dropout rate in [0, 1) (default 0.5)
objective and optimiser
  --objective SPEC        terms l1, l2, gan, cgan, fm (feature matching) joined by +, each with an
                          optional :weight: l1+cgan (default), l1, l1+gan, l1:100+cgan+fm:10, ...
  --lambda X              weight of L1/L2 without a :weight, > 0 (default 100)
  --gan-mode MODE         vanilla (default), lsgan or hinge
  --batch N               batch size (default 1)
  --epochs N              epochs at the initial learning rate (default 100)
  --epochs-decay N        epochs of linear decay to 0 (default 100); --epochs + --epochs-decay >= 1
  --lr X                  Adam's learning rate, in (0, 1] (default 2e-4)
  --lr-d X                D's learning rate, in (0, 1] (default: --lr; SPADE's TTUR uses 4e-4 with --lr 1e-4)
  --grad-clip X           clip each network's gradient to global L2 norm X before Adam, > 0 (default: none)
  --beta1 X, --beta2 X    Adam's decay rates, in [0, 1) (default 0.5, 0.999)
run
  --out DIR               run directory (config, checkpoint, losses, samples, report): a new or empty
                          folder, or a run to restart or resume; never a folder of other files
  --resume                continue the run in --out from its newest checkpoint (from step 0 if it has none)
  --steps N               stop once the run has taken N steps in all, counted from step 0 (default: all epochs)
  --seed N                random seed (default 0)
  --checkpoint-every N    steps between checkpoints (default 500)
  --sample-every N        steps between samples and report updates (default 100)
  --time-limit MINUTES    stop (with a checkpoint) after this much training time, > 0
  --backend NAME          auto (default), tensorflow, webgpu, native, wasm, cpu
  --quiet                 no progress bar

One process trains a run at a time (train.lock in the run directory names it).
Exit status: 0 done (or out of time), 1 failed (the last checkpoint is intact),
2 bad usage, 130 / 143 / 129 stopped by SIGINT / SIGTERM / SIGHUP (after writing
a checkpoint: continue with --resume).`;

const positiveMinutes = numberFromStringIn({ min: 0, max: Infinity, minOpen: true }, ' (minutes)');

const Flags = t.exact(
  t.partial({
    data: t.string,
    layout: oneOf(['aligned', 'separate']),
    direction: oneOf(['AtoB', 'BtoA']),
    size: positiveIntFromString,
    loadSize: positiveIntFromString,
    preprocess: oneOf(['resize_and_crop', 'crop', 'scale_width', 'none']),
    noFlip: t.boolean,
    inChannels: t.union([t.literal('1'), t.literal('3')], '1 | 3'),
    outChannels: t.union([t.literal('1'), t.literal('3')], '1 | 3'),
    trainRange: t.string,
    valSplit: t.string,
    skipBad: t.boolean,
    generator: t.string,
    discriminator: t.string,
    ngf: positiveIntFromString,
    ndf: positiveIntFromString,
    norm: oneOf(['batch', 'instance', 'none']),
    dropout: numberFromStringIn(ranges.dropout),
    objective: t.string,
    lambda: numberFromStringIn(ranges.lambda),
    ganMode: oneOf(['vanilla', 'lsgan', 'hinge']),
    scales: positiveIntFromString,
    lrD: numberFromStringIn(ranges.lr),
    gradClip: numberFromStringIn(ranges.lambda),
    batch: positiveIntFromString,
    epochs: t.string,
    epochsDecay: t.string,
    lr: numberFromStringIn(ranges.lr),
    beta1: numberFromStringIn(ranges.beta1),
    beta2: numberFromStringIn(ranges.beta2),
    out: t.string,
    resume: t.boolean,
    steps: positiveIntFromString,
    seed: t.string,
    checkpointEvery: positiveIntFromString,
    sampleEvery: positiveIntFromString,
    timeLimit: positiveMinutes,
    backend: backendFlag,
    quiet: t.boolean,
  }),
);
export type TrainFlags = t.TypeOf<typeof Flags>;

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const options = {
  data: str, layout: str, direction: str, size: str, 'load-size': str, preprocess: str, 'no-flip': bool,
  'in-channels': str, 'out-channels': str, 'train-range': str, 'val-split': str, 'skip-bad': bool,
  generator: str, discriminator: str, scales: str, ngf: str, ndf: str, norm: str, dropout: str,
  objective: str, lambda: str, 'gan-mode': str, batch: str, epochs: str, 'epochs-decay': str, lr: str, 'lr-d': str, 'grad-clip': str, beta1: str, beta2: str,
  out: str, resume: bool, steps: str, seed: str, 'checkpoint-every': str, 'sample-every': str, 'time-limit': str, backend: str, quiet: bool,
} as const;

export const decodeTrainFlags = (argv: readonly string[]): TrainFlags => decodeFlags(argv, options, Flags);

const nonNegative = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag}: expected a non-negative integer, got "${v}"`);
  return Number(v);
};

const parseRange = (v: string | undefined): [number, number] | undefined => {
  if (v === undefined) return undefined;
  const m = /^(-?\d+):(-?\d*)$/.exec(v);
  if (!m) throw new UsageError(`--train-range: expected START:END (e.g. 0:-40, all but the last 40), got "${v}"`);
  return [Number(m[1]), m[2] === '' ? 0 : Number(m[2])];
};

/** What no single flag's codec can see: flags that only make sense together. */
const checkTogether = (c: TrainConfig): void => {
  if (c.preprocess === 'resize_and_crop' && c.loadSize < c.size)
    throw new UsageError(`--load-size ${c.loadSize} is smaller than --size ${c.size}: --preprocess resize_and_crop resizes to --load-size, then crops --size (pass --load-size >= ${c.size})`);
  if (c.epochs + c.epochsDecay === 0) throw new UsageError('--epochs 0 and --epochs-decay 0 leave no epoch to train: give at least one');
};

/** The config a fresh run gets from its flags. */
export const configFromFlags = (f: TrainFlags): TrainConfig => {
  if (f.data === undefined) throw new UsageError('--data is required (a dataset folder)');
  const pick = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined): TrainConfig[K] => v ?? (defaultConfig as TrainConfig)[k];
  const config: TrainConfig = {
    data: f.data,
    layout: pick('layout', f.layout),
    direction: pick('direction', f.direction),
    size: pick('size', f.size),
    loadSize: pick('loadSize', f.loadSize),
    preprocess: pick('preprocess', f.preprocess),
    flip: f.noFlip !== true,
    inChannels: f.inChannels ? (Number(f.inChannels) as 1 | 3) : 3,
    outChannels: f.outChannels ? (Number(f.outChannels) as 1 | 3) : 3,
    generator: pick('generator', f.generator),
    discriminator: pick('discriminator', f.discriminator),
    ngf: pick('ngf', f.ngf),
    ndf: pick('ndf', f.ndf),
    norm: pick('norm', f.norm),
    dropout: pick('dropout', f.dropout),
    objective: pick('objective', f.objective),
    lambda: pick('lambda', f.lambda),
    ganMode: pick('ganMode', f.ganMode),
    batch: pick('batch', f.batch),
    epochs: pick('epochs', nonNegative('epochs', f.epochs)),
    epochsDecay: pick('epochsDecay', nonNegative('epochs-decay', f.epochsDecay)),
    lr: pick('lr', f.lr),
    beta1: pick('beta1', f.beta1),
    beta2: pick('beta2', f.beta2),
    seed: pick('seed', nonNegative('seed', f.seed)),
    steps: pick('steps', f.steps),
    checkpointEvery: pick('checkpointEvery', f.checkpointEvery),
    sampleEvery: pick('sampleEvery', f.sampleEvery),
    trainRange: pick('trainRange', parseRange(f.trainRange)),
    valSplit: pick('valSplit', f.valSplit),
    ...(f.scales !== undefined && f.scales !== 1 ? { scales: f.scales } : {}),
    ...(f.lrD !== undefined ? { lrD: f.lrD } : {}),
    ...(f.gradClip !== undefined ? { gradClip: f.gradClip } : {}),
  };
  checkTogether(config);
  return config;
};

/** Flags that may change when a run is resumed; every other flag must agree with the saved config. */
const resumable = new Set(['out', 'resume', 'steps', 'checkpointEvery', 'sampleEvery', 'timeLimit', 'backend', 'quiet', 'skipBad']);

const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export const resumeConfig = (saved: TrainConfig, f: TrainFlags): TrainConfig => {
  const given = configFromFlags({ data: saved.data, ...f });
  const explicit = Object.keys(f).filter((k) => !resumable.has(k));
  for (const k of explicit) {
    const key = (k === 'noFlip' ? 'flip' : k) as keyof TrainConfig;
    if (JSON.stringify(given[key]) !== JSON.stringify(saved[key]))
      throw new UsageError(`${flagName(k)} ${JSON.stringify(given[key])} differs from the run's saved config (${JSON.stringify(saved[key])}): a resumed run keeps its config`);
  }
  return { ...saved, steps: f.steps ?? saved.steps, checkpointEvery: f.checkpointEvery ?? saved.checkpointEvery, sampleEvery: f.sampleEvery ?? saved.sampleEvery };
};

/** The settings in which two configs differ, as flags (for "starting it afresh" messages). */
export const differences = (a: TrainConfig, b: TrainConfig): string[] =>
  (Object.keys(a) as Array<keyof TrainConfig>).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => (k === 'flip' ? '--no-flip' : flagName(k)));
