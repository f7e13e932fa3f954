/**
 * One sweep job, run in this process: make the run directory (or check it),
 * train it with `pix2pix train --resume` (from step 0, or from the
 * checkpoint an earlier attempt left), and mark it done. Idempotent: a job
 * whose run is done returns what done.json says; a job run twice, or taken
 * over from a worker that died, trains on from the last checkpoint.
 */
import { hostname } from 'node:os';
import type { BackendChoice } from '../backend/index.ts';
import { RunFinished, trainCommand, type TrainHooks } from '../cli/train.ts';
import type { TrainConfig } from '../train/config.ts';
import { markDone, markFailed, prepareRun, readDone, type RunDone } from './runs.ts';

export interface JobSpec {
  readonly name: string;
  readonly dir: string;
  readonly config: TrainConfig;
}

export interface JobProgress {
  readonly worker: string;
  readonly step: number;
  readonly total: number;
  readonly epoch: number;
  /** Seconds left at this session's rate. */
  readonly eta: number | null;
  readonly losses: Readonly<Record<string, number>>;
}

/** The job was stopped (a signal to its worker) after writing a checkpoint: to be taken up again. */
export class JobStopped extends Error {
  override readonly name = 'JobStopped';
}

/** Training failed in a way that another attempt would repeat (the message says why). */
export class JobFailed extends Error {
  override readonly name = 'JobFailed';
}

export const workerId = (): string => `${hostname()}:${process.pid}`;

export interface RunJobOptions {
  readonly backend?: BackendChoice;
  /** Progress, at most every `progressEvery` ms and at each checkpoint. */
  readonly onProgress?: (p: JobProgress) => void | Promise<void>;
  readonly progressEvery?: number;
  /** train's own lines (run directory, finished at ...). */
  readonly log?: (line: string) => void;
}

/** Run one job to the end of its steps; returns its done.json. */
export const runJob = async (job: JobSpec, opts: RunJobOptions = {}): Promise<RunDone> => {
  const already = await readDone(job.dir);
  if (already !== undefined) return already;
  await prepareRun(job.dir, job.config);
  const worker = workerId();
  const every = opts.progressEvery ?? 2000;
  let last = 0;
  let latest: JobProgress | undefined;
  let end: Parameters<NonNullable<TrainHooks['onEnd']>>[0] | undefined;
  const report = async (force: boolean) => {
    if (latest === undefined || opts.onProgress === undefined) return;
    const now = performance.now();
    if (!force && now - last < every) return;
    last = now;
    await opts.onProgress(latest);
  };
  const hooks: TrainHooks = {
    onStep: async ({ step, epoch, total, rate, metrics }) => {
      latest = { worker, step, total, epoch, eta: rate > 0 ? Math.round((total - step) / rate) : null, losses: { ...metrics } };
      await report(false);
    },
    onCheckpoint: () => report(true),
    onEnd: (e) => void (end = e),
  };
  const original = console.error;
  // A sweep's run starts with its config and no checkpoint: train's note saying so is not news.
  console.error = (...m: unknown[]) => {
    if (!/has no checkpoint yet: starting from step 0$/.test(m.join(' '))) original(...m);
  };
  try {
    // Its only non-zero status is a stop signal's, which onEnd reports as not finished.
    await trainCommand(['--out', job.dir, '--resume', '--quiet', ...(opts.backend ? ['--backend', opts.backend] : [])], (l) => opts.log?.(l), hooks);
  } catch (e) {
    // Trained to its end by an attempt that was lost before it wrote done.json.
    if (e instanceof RunFinished) end = { step: e.step, finished: true, sampleL1: undefined, seconds: 0, backend: opts.backend ?? 'unknown' };
    else {
      const message = (e as Error).message;
      await markFailed(job.dir, message);
      throw new JobFailed(`${job.name}: ${message}`);
    }
  } finally {
    console.error = original;
  }
  if (end === undefined) throw new JobFailed(`${job.name}: train returned without ending its run`);
  if (!end.finished) throw new JobStopped(`${job.name}: stopped at step ${end.step} (its checkpoint is written); the next attempt resumes from it`);
  const done: RunDone = {
    step: end.step,
    seconds: end.seconds,
    sampleL1: end.sampleL1 ?? null,
    worker,
    backend: end.backend,
    threads: process.env['OMP_NUM_THREADS'] ?? null,
    at: new Date().toISOString(),
  };
  await markDone(job.dir, done);
  return done;
};
