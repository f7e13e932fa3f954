/** `pix2pix train`: validate everything, then fold the step over the data, checkpointing as it goes. */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import cliProgress from 'cli-progress';
import { foldIn, makeKey } from '../core/key.ts';
import { formatShapeError } from '../core/shape.ts';
import { useBackend } from '../backend/index.ts';
import { openDataset, type Dataset } from '../data/dataset.ts';
import { batches, batchesPerEpoch } from '../data/stream.ts';
import { defaultConfig, networksOf, specOf, type TrainConfig } from '../train/config.ts';
import { fit, FitError } from '../train/fit.ts';
import { loadTrainState, readTrainMeta, saveTrainState } from '../train/checkpoint.ts';
import { appendLosses, hasCheckpoint, readConfig, readLosses, runPaths, writeConfig, writeFileAtomic } from '../train/run-dir.ts';
import { fixedPairs, translatePairs, writeRunReport } from '../train/samples.ts';
import { initTrainState, disposeState, type TrainState } from '../train/state.ts';
import { DivergedError, makeStep, type StepMetrics } from '../train/step.ts';
import { summarize } from '../core/analysis.ts';
import { decodeFlags, numberFromString, oneOf, positiveIntFromString, UsageError, backendFlag } from './flags.ts';

export const trainHelp = `pix2pix train --data DIR --out DIR [options]

data
  --data DIR              dataset folder (holding train/, val/) or a folder of images
  --layout KIND           aligned (A|B side by side, default) or separate (A/ and B/)
  --direction D           AtoB (default) or BtoA (facades: labels -> photo is BtoA)
  --size N                network input size, the random crop (default 256)
  --load-size N           resize to this before cropping (default 286)
  --preprocess MODE       resize_and_crop (default), crop, scale_width, none
  --no-flip               no random horizontal flip
  --in-channels N, --out-channels N   1 or 3 (default 3)
  --train-range A:B       use files [A, B) of the sorted train split (B may be negative)
  --val-split NAME        held-out split for samples (default val; skipped if absent)
  --skip-bad              skip unreadable or mismatched files (listed) instead of failing
model
  --generator NAME        unet256 (default), unet128, encoderDecoder256, encoderDecoder128
  --discriminator NAME    patch70 (default), pixel, patch16, image286, patchN
  --ngf N, --ndf N        first-layer filters (default 64)
  --norm KIND             batch (default), instance, none
  --dropout P             decoder dropout rate (default 0.5)
objective and optimiser
  --objective SPEC        l1+cgan (default), l1, gan, cgan, l1+gan, l2, ...
  --lambda X              weight of L1/L2 (default 100)
  --gan-mode MODE         vanilla (default) or lsgan
  --batch N               batch size (default 1)
  --epochs N              epochs at the initial learning rate (default 100)
  --epochs-decay N        epochs of linear decay to 0 (default 100)
  --lr X, --beta1 X, --beta2 X        Adam (default 2e-4, 0.5, 0.999)
run
  --out DIR               run directory (config, checkpoint, losses, samples, report)
  --resume                continue the run in --out from its checkpoint
  --steps N               stop after N steps in total (default: all epochs)
  --seed N                random seed (default 0)
  --checkpoint-every N    steps between checkpoints (default 500)
  --sample-every N        steps between samples and report updates (default 100)
  --time-limit MINUTES    stop (with a checkpoint) after this much training time
  --backend NAME          auto (default), tensorflow, native, wasm, cpu
  --quiet                 no progress bar`;

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
    dropout: numberFromString,
    objective: t.string,
    lambda: numberFromString,
    ganMode: oneOf(['vanilla', 'lsgan']),
    batch: positiveIntFromString,
    epochs: t.string,
    epochsDecay: t.string,
    lr: numberFromString,
    beta1: numberFromString,
    beta2: numberFromString,
    out: t.string,
    resume: t.boolean,
    steps: positiveIntFromString,
    seed: t.string,
    checkpointEvery: positiveIntFromString,
    sampleEvery: positiveIntFromString,
    timeLimit: numberFromString,
    backend: backendFlag,
    quiet: t.boolean,
  }),
);
type Flags = t.TypeOf<typeof Flags>;

const str = { type: 'string' } as const;
const bool = { type: 'boolean' } as const;
const options = {
  data: str, layout: str, direction: str, size: str, 'load-size': str, preprocess: str, 'no-flip': bool,
  'in-channels': str, 'out-channels': str, 'train-range': str, 'val-split': str, 'skip-bad': bool,
  generator: str, discriminator: str, ngf: str, ndf: str, norm: str, dropout: str,
  objective: str, lambda: str, 'gan-mode': str, batch: str, epochs: str, 'epochs-decay': str, lr: str, beta1: str, beta2: str,
  out: str, resume: bool, steps: str, seed: str, 'checkpoint-every': str, 'sample-every': str, 'time-limit': str, backend: str, quiet: bool,
} as const;

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

/** The config a fresh run gets from its flags. */
const configFromFlags = (f: Flags): TrainConfig => {
  if (f.data === undefined) throw new UsageError('--data is required (a dataset folder)');
  const pick = <K extends keyof TrainConfig>(k: K, v: TrainConfig[K] | undefined): TrainConfig[K] => v ?? (defaultConfig as TrainConfig)[k];
  return {
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
  };
};

/** Flags that may change when a run is resumed; every other flag must agree with the saved config. */
const resumable = new Set(['out', 'resume', 'steps', 'checkpointEvery', 'sampleEvery', 'timeLimit', 'backend', 'quiet', 'skipBad']);

const resumeConfig = (saved: TrainConfig, f: Flags): TrainConfig => {
  const given = configFromFlags({ data: saved.data, ...f });
  const explicit = Object.keys(f).filter((k) => !resumable.has(k));
  for (const k of explicit) {
    const key = (k === 'noFlip' ? 'flip' : k) as keyof TrainConfig;
    if (JSON.stringify(given[key]) !== JSON.stringify(saved[key]))
      throw new UsageError(
        `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${JSON.stringify(given[key])} differs from the run's saved config (${JSON.stringify(saved[key])}): a resumed run keeps its config`,
      );
  }
  return { ...saved, steps: f.steps ?? saved.steps, checkpointEvery: f.checkpointEvery ?? saved.checkpointEvery, sampleEvery: f.sampleEvery ?? saved.sampleEvery };
};

export class TrainingFailed extends Error {
  override readonly name = 'TrainingFailed';
}

const openSplit = (c: TrainConfig, split: string, skipBad: boolean, range?: readonly [number, number?]) =>
  openDataset({
    root: c.data,
    layout: c.layout,
    split,
    direction: c.direction,
    inputChannels: c.inChannels,
    outputChannels: c.outChannels,
    skipBad,
    ...(range ? { range } : {}),
  });

const preprocessOf = (c: TrainConfig) => ({ mode: c.preprocess, loadSize: c.loadSize, cropSize: c.size, noFlip: !c.flip });

const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(3));

export const trainCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const f = decodeFlags(argv, options, Flags);
  if (f.out === undefined) throw new UsageError('--out is required (the run directory, e.g. runs/facades)');
  const paths = runPaths(f.out);
  const resuming = f.resume === true;
  if (resuming && !hasCheckpoint(f.out)) throw new UsageError(`--resume: ${f.out} holds no checkpoint to resume from`);
  if (!resuming && existsSync(paths.config))
    throw new UsageError(`${f.out} already holds a run: pass --resume to continue it, or choose another --out`);
  const config = resuming ? resumeConfig(await readConfig(f.out), f) : configFromFlags(f);

  // Everything that can be checked is checked before the first step.
  const nets = networksOf(config);
  if (E.isLeft(nets)) throw new UsageError(nets.left);
  const spec = specOf(config, nets.right);
  const range = config.trainRange[0] === 0 && config.trainRange[1] === 0 ? undefined : ([config.trainRange[0], config.trainRange[1] === 0 ? undefined : config.trainRange[1]] as const);
  const train = await openSplit(config, 'train', f.skipBad === true, range);
  for (const s of train.skipped) console.error(`skipped ${s.path}: ${s.reason}`);
  let held: Dataset | undefined;
  if (config.valSplit !== '' && existsSync(`${config.data}/${config.valSplit}`)) held = await openSplit(config, config.valSplit, f.skipBad === true);
  if (config.batch > train.size) throw new UsageError(`--batch ${config.batch} is larger than the training set (${train.size} pairs)`);

  const backend = await useBackend(f.backend ?? 'auto', { quiet: f.quiet === true });
  const key = makeKey(config.seed);
  const fresh = initTrainState(spec, key);
  if (E.isLeft(fresh)) throw new TrainingFailed(`the networks do not fit --size ${config.size}: ${formatShapeError(fresh.left)}`);
  let state: TrainState = resuming ? await loadTrainState(paths.checkpoint, fresh.right) : fresh.right;

  await mkdir(paths.samples, { recursive: true });
  if (!resuming) {
    await writeConfig(f.out, config);
    const brief = (layer: typeof spec.generator, shape: readonly [number, number, number]) => {
      const s = summarize(layer, shape);
      return E.isRight(s) ? { params: s.right.params, outputShape: s.right.output, receptiveField: s.right.receptiveField } : null;
    };
    await writeFileAtomic(
      paths.model,
      JSON.stringify({ generator: { preset: config.generator, ...brief(spec.generator, spec.inputShape) }, discriminator: { preset: config.discriminator, ...brief(spec.discriminator, [config.size, config.size, config.inChannels + config.outChannels]) }, objective: config.objective }, null, 2) + '\n',
    );
  } else {
    // Drop loss lines written after the checkpoint (by a run that then crashed).
    const kept = (await readLosses(f.out)).filter((r) => (r['step'] ?? 0) <= state.step);
    await writeFileAtomic(paths.losses, kept.map((r) => JSON.stringify(r)).join('\n') + (kept.length ? '\n' : ''));
  }

  const perEpoch = batchesPerEpoch(train.size, config.batch);
  const totalEpochs = config.epochs + config.epochsDecay;
  const totalSteps = config.steps > 0 ? Math.min(config.steps, totalEpochs * perEpoch) : totalEpochs * perEpoch;
  const preprocess = preprocessOf(config);
  const samplePairs = await fixedPairs(held ?? train, 8, preprocess);
  const stream = batches(train, {
    batchSize: config.batch,
    key: foldIn(key, 'data'),
    epochs: Math.max(totalEpochs, 1),
    startEpoch: state.epoch + Math.floor(state.position / perEpoch),
    startIndex: state.position % perEpoch,
    preprocess,
  });

  out(`training ${config.generator} + ${config.discriminator} (${config.objective}, lambda ${config.lambda}) on ${train.size} pairs of ${train.dir}, ${config.size}x${config.size}, batch ${config.batch}, backend ${backend.name}`);
  out(`run directory: ${f.out} (from step ${state.step} to ${totalSteps})`);
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch} |{bar}| {value}/{total} | D real {dReal} fake {dFake} | G gan {gGan} L1 {gL1} | {rate} it/s | ETA {eta_formatted}',
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  if (f.quiet !== true) bar.start(totalSteps, state.step, { epoch: state.epoch, dReal: '-', dFake: '-', gGan: '-', gL1: '-', rate: '-' });

  let interrupted = false;
  const onSigint = () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: leave now
    interrupted = true;
    console.error('\ninterrupted: finishing this step and writing a checkpoint (Ctrl-C again to quit at once)');
  };
  process.on('SIGINT', onSigint);

  const pending: object[] = [];
  const started = performance.now();
  const startStep = state.step;
  let lastSampleL1: number | undefined;
  let lastSampleStep = -1;
  const sample = async (s: TrainState) => {
    lastSampleStep = s.step;
    const results = await translatePairs(spec.generator, s.g.params, s.g.state, samplePairs, paths.samples);
    lastSampleL1 = results.reduce((a, r) => a + r.l1, 0) / Math.max(results.length, 1);
    pending.push({ step: s.step, epoch: s.epoch, valL1: lastSampleL1 });
    await appendLosses(f.out!, pending.splice(0));
    await writeRunReport(f.out!, `pix2pix run ${f.out}`, [
      ['generator / discriminator', `${config.generator} / ${config.discriminator}`],
      ['objective', `${config.objective}, lambda ${config.lambda}, ${config.ganMode}`],
      ['data', `${train.dir} (${train.size} pairs), ${config.direction}, ${config.size}x${config.size}`],
      ['step', `${s.step} of ${totalSteps} (epoch ${s.epoch})`],
      ['backend', backend.name],
    ], results, held ? `Held-out samples (${config.valSplit}), step ${s.step}` : `Training samples, step ${s.step}`);
  };

  const onStep = async (s: TrainState, m: StepMetrics) => {
    pending.push({ step: s.step, epoch: s.epoch, ...m });
    const rate = (s.step - startStep) / ((performance.now() - started) / 1000);
    if (f.quiet !== true) bar.update(s.step, { epoch: s.epoch, dReal: fmt(m.dReal), dFake: fmt(m.dFake), gGan: fmt(m.gGan), gL1: fmt(m.gL1), rate: rate.toFixed(2) });
    if (pending.length >= 20) await appendLosses(f.out!, pending.splice(0));
    if (s.step % config.checkpointEvery === 0) await saveTrainState(paths.checkpoint, s);
    if (s.step % config.sampleEvery === 0) await sample(s);
  };

  // Where the run starts, on the held-out pairs: the baseline the report compares against.
  if (!resuming) await sample(state);
  const deadline = f.timeLimit === undefined ? Infinity : started + f.timeLimit * 60_000;
  let outOfTime = false;
  const shouldStop = () => interrupted || (outOfTime = performance.now() > deadline);
  try {
    state = await fit(state, stream, makeStep(spec, { donate: true }), { onStep, shouldStop, maxSteps: totalSteps });
  } catch (e) {
    bar.stop();
    await appendLosses(f.out, pending.splice(0));
    if (e instanceof FitError) {
      const saved = hasCheckpoint(f.out) ? (await readTrainMeta(paths.checkpoint)).step : undefined;
      const where = saved === undefined ? 'no checkpoint was written yet' : `the last checkpoint (step ${saved}) is intact in ${paths.checkpoint}`;
      disposeState(e.state);
      if (e.cause instanceof DivergedError) throw new TrainingFailed(`${e.message}; ${where}`);
      throw new TrainingFailed(`training stopped at step ${e.state.step}: ${e.message}; ${where}`);
    }
    throw e;
  } finally {
    process.off('SIGINT', onSigint);
  }
  bar.stop();
  await appendLosses(f.out, pending.splice(0));
  await saveTrainState(paths.checkpoint, state);
  if (lastSampleStep !== state.step) await sample(state);
  const seconds = (performance.now() - started) / 1000;
  const how = interrupted ? 'interrupted at' : outOfTime ? 'out of time at' : 'finished at';
  out(`${how} step ${state.step} (epoch ${state.epoch}) after ${seconds.toFixed(1)} s; held-out L1 ${lastSampleL1?.toFixed(4)}`);
  out(`checkpoint: ${paths.checkpoint}${interrupted || outOfTime ? ` (continue with: pix2pix train --out ${f.out} --resume)` : ''}`);
  out(`report: ${paths.report}`);
  disposeState(state);
};
