/**
 * `pix2pix train`: check everything that can be checked (flags, networks,
 * data, backend, the sample pairs) and make the nets before writing
 * anything; take the run directory (a lock); then fold the step over the
 * data, checkpointing as it goes (train-loop.ts).
 *
 * What `--out` may be: missing or empty (a fresh run), a run directory with
 * a checkpoint (`--resume` continues it; without `--resume` it is refused),
 * or a run directory with none (it stopped before its first checkpoint:
 * started afresh, or from step 0 with `--resume`). A folder of anything
 * else is never written into.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { foldIn, makeKey } from '../core/key.ts';
import { formatShapeError } from '../core/shape.ts';
import { summarize } from '../core/analysis.ts';
import { useBackend, type BackendInfo } from '../backend/index.ts';
import { openDataset, type Dataset } from '../data/dataset.ts';
import type { Pair } from '../data/dataset.ts';
import { batches, batchesPerEpoch } from '../data/stream.ts';
import { settleCheckpoint } from '../io/checkpoint.ts';
import { LockedError, takeLock, type Lock } from '../io/lock.ts';
import { defaultConfig, networksOf, specOf, type TrainConfig } from '../train/config.ts';
import { loadTrainState, readTrainMeta, type TrainMeta } from '../train/checkpoint.ts';
import { inspectRunDir, readConfig, removeLeftovers, runCheckpoint, RunError, runPaths, trimLosses, writeConfig, type RunDirKind, writeModel } from '../train/run-dir.ts';
import { fixedPairs } from '../train/samples.ts';
import { checkSpec, disposeState, initTrainState, type Pix2PixSpec, type TrainState } from '../train/state.ts';
import { cliPhrasing, UsageError } from './flags.ts';
import { exitCodeOf, trapStopSignals, type Trap } from './signals.ts';
import { configFromFlags, decodeTrainFlags, differences, resumeConfig, type TrainFlags } from './train-flags.ts';
import { runLoop, TrainingFailed, type TrainHooks } from './train-loop.ts';

export { trainHelp } from './train-flags.ts';
export { TrainingFailed, type TrainHooks } from './train-loop.ts';

const note = (line: string): void => console.error(`note: ${line}`);

/** `--resume` of a run that has trained all its steps (a usage error for a person; done, for a sweep's job). */
export class RunFinished extends UsageError {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message);
  }
}

/** Refuse what `--out` must never be. */
const refuse = (dir: string, found: RunDirKind, resuming: boolean): void => {
  if (found.kind === 'file') throw new UsageError(`--out ${dir} is a file, not a folder`);
  if (found.kind === 'foreign') {
    const shown = found.entries.slice(0, 5).join(', ') + (found.entries.length > 5 ? `, ... (${found.entries.length} entries)` : '');
    throw new UsageError(`--out ${dir} is not empty and is not a pix2pix run directory (it holds ${shown}): train never writes into a folder of other files; choose a new or empty --out`);
  }
  if (resuming && found.kind !== 'run')
    throw new UsageError(`--resume: ${dir} ${found.kind === 'missing' ? 'does not exist' : 'is empty'}, so there is no run to resume (leave out --resume to start one)`);
};

const lockRun = (dir: string): Lock => {
  try {
    return takeLock(runPaths(dir).lock, `pix2pix train --out ${dir}`);
  } catch (e) {
    if (e instanceof LockedError) throw new RunError(`${dir}: ${e.message}`);
    throw e;
  }
};

/** Where the run starts: afresh, from its checkpoint, or (a run that has none) from step 0. */
interface Plan {
  readonly config: TrainConfig;
  readonly from: 'fresh' | 'restart' | 'checkpoint' | 'step 0';
  readonly meta?: TrainMeta;
  /** Said once everything has been checked. */
  readonly notes: readonly string[];
}

const planRun = async (dir: string, f: TrainFlags, found: RunDirKind): Promise<Plan> => {
  if (found.kind !== 'run') return { config: configFromFlags(f), from: 'fresh', notes: [] };
  const saved = await readConfig(dir);
  const version = await runCheckpoint(dir);
  const meta = version === undefined ? undefined : await readTrainMeta(version.path);
  if (f.resume === true) {
    const notes =
      meta === undefined
        ? [`${dir} has no checkpoint yet: starting from step 0`]
        : version?.kind !== 'current'
          ? [`${dir}: its last checkpoint save was interrupted; continuing from the newest complete checkpoint (step ${meta.step})`]
          : [];
    return { config: resumeConfig(saved, f), from: meta === undefined ? 'step 0' : 'checkpoint', notes, ...(meta ? { meta } : {}) };
  }
  // A checkpoint of step 0 holds nothing trained: the run may start afresh as if it had none.
  if (meta !== undefined && meta.step > 0) throw new UsageError(`${dir} already holds a run (its checkpoint is at step ${meta.step}): pass --resume to continue it, or choose another --out`);
  const config = configFromFlags(f);
  const changed = differences(saved, config);
  const notes = [`${dir} holds a run that stopped before its first checkpoint: starting it afresh${changed.length > 0 ? ` (changed: ${changed.join(', ')})` : ''}`];
  return { config, from: 'restart', notes };
};

const openSplit = (c: TrainConfig, split: string | undefined, skipBad: boolean, range?: readonly [number, number?]) =>
  openDataset({
    root: c.data,
    layout: c.layout,
    ...(split === undefined ? {} : { split }),
    direction: c.direction,
    inputChannels: c.inChannels,
    outputChannels: c.outChannels,
    skipBad,
    phrasing: cliPhrasing,
    // --skip-bad promises that no bad file stops training: decode each one now.
    ...(skipBad ? { verify: 'decode' as const, onProgress: progressLine(`checking every file of ${split ?? c.data} (--skip-bad)`) } : {}),
    ...(range ? { range } : {}),
  });

/** A progress line on stderr for long checks: updated in place on a terminal, once at the end elsewhere. */
const progressLine = (what: string) => {
  const started = performance.now();
  let shown = 0;
  return (done: number, total: number): void => {
    const now = performance.now();
    const last = done === total;
    if (total < 100 || (!last && now - shown < 250)) return;
    shown = now;
    if (process.stderr.isTTY) process.stderr.write(`\r${what}: ${done}/${total}${last ? '\n' : ''}`);
    else if (last) process.stderr.write(`${what}: ${total} files in ${((now - started) / 1000).toFixed(1)} s\n`);
  };
};

export const preprocessOf = (c: TrainConfig) => ({ mode: c.preprocess, loadSize: c.loadSize, cropSize: c.size, noFlip: !c.flip, phrasing: cliPhrasing });

interface Ready {
  readonly spec: Pix2PixSpec;
  readonly train: Dataset;
  readonly held: Dataset | undefined;
  readonly samplePairs: Promise<Pair[]>;
  readonly streamFrom: (at: { epoch: number; position: number }) => ReturnType<typeof batches>;
  readonly totalSteps: number;
  readonly backend: BackendInfo;
}

/** Everything that can fail before a file is written: networks, shapes, data, sizes, steps, backend. */
const prepare = async (plan: Plan, f: TrainFlags): Promise<Ready> => {
  const { config, meta } = plan;
  const nets = networksOf(config);
  if (E.isLeft(nets)) throw new UsageError(nets.left);
  const spec = specOf(config, nets.right);
  const fits = checkSpec(spec);
  if (E.isLeft(fits)) throw new TrainingFailed(`the networks do not fit --size ${config.size}: ${formatShapeError(fits.left)}`);
  if (f.dropout !== undefined) {
    const rows = summarize(spec.generator, spec.inputShape);
    if (E.isRight(rows) && !rows.right.rows.some((r) => r.path.includes('dropout'))) note(`--dropout ${f.dropout} has no effect: ${config.generator} has no dropout layers`);
  }

  const range = config.trainRange[0] === 0 && config.trainRange[1] === 0 ? undefined : ([config.trainRange[0], config.trainRange[1] === 0 ? undefined : config.trainRange[1]] as const);
  // A folder without train/ that holds images directly is the training set itself.
  const train = await openSplit(config, existsSync(join(config.data, 'train')) ? 'train' : undefined, f.skipBad === true, range);
  for (const s of train.skipped) console.error(`skipped ${s.path}: ${s.reason}`);
  let held: Dataset | undefined;
  if (existsSync(join(config.data, config.valSplit))) held = await openSplit(config, config.valSplit, f.skipBad === true);
  else if (config.valSplit !== defaultConfig.valSplit) throw new UsageError(`--val-split ${config.valSplit}: there is no folder ${join(config.data, config.valSplit)}`);
  else note(`${config.data} has no ${config.valSplit}/ split: samples and their L1 are of training pairs, not held out (--val-split NAME picks a held-out split)`);
  for (const s of held?.skipped ?? []) console.error(`skipped ${s.path}: ${s.reason}`);
  if (config.batch > train.size) throw new UsageError(`--batch ${config.batch} is larger than the training set (${train.size} pairs)`);

  const perEpoch = batchesPerEpoch(train.size, config.batch);
  const totalEpochs = config.epochs + config.epochsDecay;
  const allEpochs = totalEpochs * perEpoch;
  const totalSteps = config.steps > 0 ? Math.min(config.steps, allEpochs) : allEpochs;
  if (config.steps > allEpochs) note(`--steps ${config.steps} is more than the ${allEpochs} steps of ${totalEpochs} epochs (--epochs + --epochs-decay) of ${train.size} pairs: training ${allEpochs}`);
  const at = meta?.step ?? 0;
  if (totalSteps <= at) {
    const byEpochs = `the run has finished: step ${at} is the end of its ${totalEpochs} epochs of ${perEpoch} steps (a resumed run keeps --epochs and --epochs-decay)`;
    if (config.steps === 0 || config.steps > at) throw new RunFinished(byEpochs, at);
    if (f.steps !== undefined) throw new UsageError(`--steps ${config.steps} is not past the run's step ${at}: --steps counts every step from step 0, so pass --steps ${at + 1} or more`);
    throw new RunFinished(`the run has finished: it was to stop at step ${config.steps} (its --steps); pass --steps ${at + 1} or more to train on`, at);
  }

  // The stream from where a state stands; made once now so that sizes that do not fit fail before anything is written.
  const streamFrom = (at: { epoch: number; position: number }) =>
    batches(train, {
      batchSize: config.batch,
      key: foldIn(makeKey(config.seed), 'data'),
      epochs: totalEpochs,
      startEpoch: at.epoch + Math.floor(at.position / perEpoch),
      startIndex: at.position % perEpoch,
      preprocess: preprocessOf(config),
    });
  try {
    streamFrom(meta ?? { epoch: 0, position: 0 });
  } catch (e) {
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
  // Decoded on the data worker while the nets are made; the loop awaits them before its first step.
  const samplePairs = fixedPairs(held ?? train, 8, preprocessOf(config));
  samplePairs.catch(() => {}); // its error is thrown where makeNets awaits it (unless the run has failed before)

  let backend: BackendInfo;
  try {
    backend = await useBackend(f.backend ?? 'auto', { quiet: f.quiet === true });
  } catch (e) {
    throw new UsageError(`--backend ${f.backend ?? 'auto'}: ${(e as Error).message}`);
  }
  return { spec, train, held, samplePairs, streamFrom, totalSteps, backend };
};

/** Under the lock: settle an interrupted checkpoint save, write or trim what the start needs, and make the state. */
const begin = async (dir: string, plan: Plan, ready: Ready, fresh: TrainState): Promise<{ state: TrainState; lastCheckpoint: number | undefined }> => {
  const paths = runPaths(dir);
  // First the checkpoint: an interrupted save may have left the newest one as a temporary copy.
  if (plan.from === 'checkpoint') await settleCheckpoint(paths.checkpoint);
  await removeLeftovers(dir);
  if (plan.from === 'checkpoint') {
    const state = await loadTrainState(paths.checkpoint, fresh);
    const dropped = await trimLosses(dir, state.step);
    if (dropped > 0) note(`dropped ${dropped} loss records past the checkpoint (step ${state.step}) from ${paths.losses}`);
    await mkdir(paths.samples, { recursive: true });
    return { state, lastCheckpoint: state.step };
  }
  // A restart drops a checkpoint of step 0 (of the old config), backup included.
  if (plan.from === 'restart') for (const p of [paths.checkpoint, `${paths.checkpoint}.old`]) await rm(p, { recursive: true, force: true });
  if (plan.from !== 'step 0') await writeConfig(dir, plan.config); // first: it is what makes the folder a run directory
  await mkdir(paths.samples, { recursive: true });
  await writeModel(dir, plan.config, ready.spec);
  await trimLosses(dir, -1); // from step 0: what an earlier attempt logged is gone
  return { state: fresh, lastCheckpoint: undefined };
};

/**
 * The fresh nets, made while the data worker decodes the sample pairs; both
 * before the run directory is made or touched, so that a bad sample file
 * stops the run with nothing written.
 */
const makeNets = async (plan: Plan, ready: Ready): Promise<TrainState> => {
  const fresh = initTrainState(ready.spec, makeKey(plan.config.seed));
  if (E.isLeft(fresh)) throw new TrainingFailed(formatShapeError(fresh.left)); // checked in prepare
  try {
    await ready.samplePairs;
  } catch (e) {
    disposeState(fresh.right);
    throw e;
  }
  return fresh.right;
};

/** `pix2pix train ARGV`; `hooks` (in-process callers: sweep workers) hear each step, checkpoint and the end. */
export const trainCommand = async (argv: readonly string[], out: (line: string) => void, hooks?: TrainHooks): Promise<number> => {
  const f = decodeTrainFlags(argv);
  if (f.out === undefined) throw new UsageError('--out is required (the run directory, e.g. runs/facades)');
  const dir = f.out;
  let found = await inspectRunDir(dir);
  refuse(dir, found, f.resume === true);
  let lock: Lock | undefined;
  let ready: Ready | undefined;
  let training = false;
  // Before the lock: a signal between taking it and trapping signals would leave it behind.
  const trap: Trap = trapStopSignals(
    (signal) => {
      if (training) return console.error(`\n${signal}: finishing this step and writing a checkpoint (again to quit at once)`);
      console.error(`\n${signal} before training started: nothing to save; the same command starts the run again`);
      lock?.release();
      process.exit(exitCodeOf(signal));
    },
    () => lock?.release(),
  );
  try {
    // A folder that exists is locked at once, so that a second train on a running run stops here.
    if (found.kind !== 'missing') {
      lock = lockRun(dir);
      found = await inspectRunDir(dir); // as it is now that no other train can change it
      refuse(dir, found, f.resume === true);
    }
    const plan = await planRun(dir, f, found);
    ready = await prepare(plan, f);
    plan.notes.forEach(note);
    const fresh = await makeNets(plan, ready);
    let started: Awaited<ReturnType<typeof begin>>;
    try {
      if (lock === undefined) {
        await mkdir(dir, { recursive: true });
        lock = lockRun(dir);
        if ((await inspectRunDir(dir)).kind !== 'empty') throw new RunError(`${dir} was filled by another process while this one was checking its data: choose another --out`);
      }
      started = await begin(dir, plan, ready, fresh);
    } catch (e) {
      disposeState(fresh); // a sweep worker runs train in its own process and goes on
      throw e;
    }
    const { state, lastCheckpoint } = started;
    training = true;
    return await runLoop({ dir, flags: f, config: plan.config, ...ready, stream: ready.streamFrom(state), state, lastCheckpoint, trap, ...(hooks ? { hooks } : {}) }, out);
  } finally {
    trap.release();
    lock?.release();
    await Promise.all([ready?.train.close?.(), ready?.held?.close?.()]); // the data workers, in a process that goes on (sweep workers)
  }
};
