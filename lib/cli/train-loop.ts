/**
 * `pix2pix train`'s loop: the fold with a progress bar, loss records,
 * samples and checkpoints, and what happens when it stops early.
 *
 * Loss records are appended every 20 steps and, fsynced, before each
 * checkpoint, so the log always covers the newest checkpoint (a resume
 * trims what lies past it). Those appends, the sample images and the
 * report are written behind the loop (lib/io/write-behind.ts): the next
 * steps run meanwhile, a write that fails stops the run at the next step,
 * and every one has finished before a checkpoint is written and before the
 * loop returns. A stop signal finishes the step and writes a
 * checkpoint; a failure says what failed, at which step, and which
 * checkpoint is intact.
 */
import cliProgress from 'cli-progress';
import { checkBackend, type BackendInfo } from '../backend/index.ts';
import type { Dataset, Pair } from '../data/dataset.ts';
import type { Batch as ImageBatch } from '../data/stream.ts';
import { WriteError } from '../io/errors.ts';
import { writeBehind } from '../io/write-behind.ts';
import type { TrainConfig } from '../train/config.ts';
import { saveTrainState } from '../train/checkpoint.ts';
import { fit, FitError } from '../train/fit.ts';
import { appendLosses, runPaths } from '../train/run-dir.ts';
import { translate, writeRunReport, writeTranslations } from '../train/samples.ts';
import { disposeState, type Pix2PixSpec, type TrainState } from '../train/state.ts';
import { DivergedError, makeAsyncStep, showLosses, type StepMetrics } from '../train/step.ts';
import { exitCodeOf, type Trap } from './signals.ts';
import type { TrainFlags } from './train-flags.ts';

/** Training went wrong in a way the message explains (exit status 1). */
export class TrainingFailed extends Error {
  override readonly name = 'TrainingFailed';
}

export interface LoopInput {
  readonly dir: string;
  readonly flags: TrainFlags;
  readonly config: TrainConfig;
  readonly spec: Pix2PixSpec;
  readonly train: Dataset;
  readonly held: Dataset | undefined;
  /** The fixed pairs of the samples, still loading (awaited before the first step, so that a bad file stops the run there). */
  readonly samplePairs: Promise<Pair[]>;
  readonly stream: AsyncIterable<ImageBatch>;
  readonly totalSteps: number;
  readonly backend: BackendInfo;
  readonly state: TrainState;
  /** The step of the checkpoint on disk, if there is one. */
  readonly lastCheckpoint: number | undefined;
  readonly trap: Trap;
  readonly hooks?: TrainHooks;
}

/** What a caller that runs `train` in process (a sweep worker) hears as the run goes. */
export interface TrainHooks {
  /** After every step's record, with the step count the run stops at and the steps per second of this session. */
  readonly onStep?: (p: { readonly step: number; readonly epoch: number; readonly total: number; readonly rate: number; readonly metrics: StepMetrics }) => void | Promise<void>;
  /** After each checkpoint is written. */
  readonly onCheckpoint?: (step: number) => void | Promise<void>;
  /** Once the run ends (finished, stopped or out of time): the step, the last sample L1, the training seconds and the backend. */
  readonly onEnd?: (e: { readonly step: number; readonly finished: boolean; readonly sampleL1: number | undefined; readonly seconds: number; readonly backend: string }) => void | Promise<void>;
}


export const runLoop = async (input: LoopInput, out: (line: string) => void): Promise<number> => {
  const { dir, flags: f, config, spec, train, held, trap } = input;
  const paths = runPaths(dir);
  const quiet = f.quiet === true;
  const resume = `pix2pix train --out ${dir} --resume`;
  const sampleKey = held ? 'valL1' : 'trainSampleL1';
  const samplePairs = await input.samplePairs;
  const sampleWhat = held ? 'held-out L1' : `L1 on ${samplePairs.length} training pairs (no held-out split)`;
  let state = input.state;
  let lastCheckpoint = input.lastCheckpoint;
  const intact = () =>
    lastCheckpoint === undefined
      ? 'no checkpoint was written yet (the same command starts the run again)'
      : `the last checkpoint (step ${lastCheckpoint}) is intact in ${paths.checkpoint}`;

  out(`training ${config.generator} + ${config.discriminator} (${config.objective}, lambda ${config.lambda}) on ${train.size} pairs of ${train.dir}, ${config.size}x${config.size}, batch ${config.batch}, backend ${input.backend.name}`);
  out(`run directory: ${dir} (from step ${state.step} to ${input.totalSteps})`);
  const bar = new cliProgress.SingleBar(
    {
      format: 'epoch {epoch} |{bar}| {value}/{total} | {losses} | {rate} it/s | ETA {eta_formatted}',
      stream: process.stderr,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  if (!quiet) bar.start(input.totalSteps, state.step, { epoch: state.epoch, losses: '-', rate: '-' });

  const pending: object[] = [];
  const later = writeBehind();
  /** Queue the records so far; durable: wait for every queued write, then append them fsynced. */
  const flush = async (durable = false) => {
    const records = pending.splice(0);
    if (!durable) return later.push(() => appendLosses(dir, records));
    await later.drain();
    await appendLosses(dir, records, { durable });
  };
  const started = performance.now();
  const startStep = state.step;
  let lastSampleL1: number | undefined;
  let lastSampleStep = -1;
  let fixedWritten = false; // the sample pairs' inputs and targets, the same at every sample
  const sample = async (s: TrainState) => {
    lastSampleStep = s.step;
    const results = await translate(spec.generator, s.g.params, s.g.state, samplePairs);
    lastSampleL1 = results.reduce((a, r) => a + r.l1, 0) / Math.max(results.length, 1);
    pending.push({ step: s.step, epoch: s.epoch, [sampleKey]: lastSampleL1 });
    await flush();
    const which = fixedWritten ? (['output'] as const) : (['input', 'output', 'target'] as const);
    later.push(() => writeTranslations(paths.samples, results, which));
    fixedWritten = true;
    const facts: Array<[string, string]> = [
      ['generator / discriminator', `${config.generator} / ${config.discriminator}`],
      ['objective', `${config.objective}, lambda ${config.lambda}, ${config.ganMode}`],
      ['data', `${train.dir} (${train.size} pairs), ${config.direction}, ${config.size}x${config.size}`],
      ['step', `${s.step} of ${input.totalSteps} (epoch ${s.epoch})`],
      ['backend', input.backend.name],
    ];
    const title = held ? `Held-out samples (${config.valSplit}), step ${s.step}` : `Training samples (no held-out split), step ${s.step}`;
    later.push(() => writeRunReport(dir, `pix2pix run ${dir}`, facts, results, title));
  };
  const checkpoint = async (s: TrainState) => {
    await flush(true); // the log covers every step the checkpoint does
    await saveTrainState(paths.checkpoint, s);
    lastCheckpoint = s.step;
    await input.hooks?.onCheckpoint?.(s.step);
  };

  const onStep = async (s: TrainState, m: StepMetrics) => {
    // Before anything is logged or saved: a step the backend reported failing is not kept.
    checkBackend(`step ${s.step}`);
    await later.turn(); // the writes behind the loop go on
    later.check(); // and one that failed stops the run here
    pending.push({ step: s.step, epoch: s.epoch, ...m });
    const rate = (s.step - startStep) / ((performance.now() - started) / 1000);
    if (!quiet) bar.update(s.step, { epoch: s.epoch, losses: showLosses(m), rate: rate.toFixed(2) });
    await input.hooks?.onStep?.({ step: s.step, epoch: s.epoch, total: input.totalSteps, rate, metrics: m });
    if (pending.length >= 20) await flush();
    if (s.step % config.checkpointEvery === 0) await checkpoint(s);
    if (s.step % config.sampleEvery === 0) await sample(s);
  };

  const deadline = f.timeLimit === undefined ? Infinity : started + f.timeLimit * 60_000;
  let outOfTime = false;
  const shouldStop = () => trap.signal !== undefined || (outOfTime = performance.now() > deadline);
  try {
    // Where the run starts, on the sample pairs: the baseline the report compares against.
    if (state.step === 0) await sample(state);
    // The awaited read-back: the same bits as makeStep's, and webgpu in Node has no synchronous reads.
    state = await fit(state, input.stream, makeAsyncStep(spec, { donate: true }), { onStep, shouldStop, maxSteps: input.totalSteps });
    checkBackend(`step ${state.step}`);
    await flush(true);
    // Nothing trained (stopped before step 1): no checkpoint, so the same command starts the run again.
    if (lastCheckpoint !== state.step && state.step > 0) await checkpoint(state);
    if (lastSampleStep !== state.step) await sample(state);
    await later.drain();
  } catch (e) {
    bar.stop();
    throw await failure(e);
  }
  bar.stop();

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const how = trap.signal !== undefined ? `stopped by ${trap.signal} at` : outOfTime ? 'out of time at' : 'finished at';
  out(`${how} step ${state.step} (epoch ${state.epoch}) after ${seconds} s; ${sampleWhat} ${lastSampleL1?.toFixed(4)}`);
  if (lastCheckpoint === undefined) out(`no checkpoint: nothing was trained; the same command starts the run again`);
  else out(`checkpoint: ${paths.checkpoint} (step ${state.step})${trap.signal !== undefined || outOfTime ? `; continue with: ${resume}` : ''}`);
  out(`report: ${paths.report}`);
  await input.hooks?.onEnd?.({ step: state.step, finished: trap.signal === undefined && !outOfTime, sampleL1: lastSampleL1, seconds: Number(seconds), backend: input.backend.name });
  disposeState(state);
  return trap.signal === undefined ? 0 : exitCodeOf(trap.signal);

  /** The error to report for a failure in the loop, with the step and what is intact; frees the state. */
  async function failure(e: unknown): Promise<unknown> {
    if (!(e instanceof FitError)) {
      if (e instanceof WriteError) return new TrainingFailed(`${e.message}; ${intact()}; once that is fixed, continue with: ${resume}`);
      return e;
    }
    const at = e.state.step + 1; // the step that failed, as losses.jsonl numbers them
    // The records so far, and whatever is still queued behind the loop (the disk may be what failed).
    await flush()
      .then(() => later.drain())
      .catch(() => undefined);
    let message: string;
    if (e.cause instanceof DivergedError) {
      message = `${e.cause.message}; losses.jsonl ends at step ${e.state.step}; ${intact()}`;
    } else if (e.phase === 'data') {
      // The state is good: keep what was trained since the last checkpoint.
      if (lastCheckpoint !== e.state.step && e.state.step > 0) await checkpoint(e.state).catch(() => undefined);
      const kept = lastCheckpoint === e.state.step ? `a checkpoint of step ${e.state.step}, the last step completed, was written` : intact();
      message = `step ${at}: ${(e.cause as Error).message}; ${kept}; replace or remove that file and continue with: ${resume} (or pass --skip-bad, which decodes every file before training and skips the ones that fail)`;
    } else if (e.cause instanceof WriteError) {
      message = `step ${e.phase === 'hook' ? e.state.step : at}: ${e.cause.message}; ${intact()}; once that is fixed, continue with: ${resume}`;
    } else {
      message = `training stopped at step ${at}: ${e.message}; ${intact()}`;
    }
    disposeState(e.state);
    return new TrainingFailed(message);
  }
};
