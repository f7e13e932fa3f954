/**
 * A sweep's folder on disk, and one run's place in it: what every runner
 * (local worker processes, BullMQ workers on many machines) shares.
 *
 *   OUT/sweep.json          the sweep file, as last run
 *   OUT/runs/NAME/          one `pix2pix train` run directory per variant
 *   OUT/runs/NAME/done.json written once the run has trained all its steps
 *   OUT/runs/NAME/failed.json  why its last attempt failed (removed on success)
 *
 * A run directory is the job's whole state: its config.json says what to
 * train, its checkpoint where it stands. So any worker that takes a job
 * resumes it (`train --resume`), and a finished run is never trained again.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/file.ts';
import type { TrainConfig } from '../train/config.ts';
import { readTrainMeta } from '../train/checkpoint.ts';
import { lockHolder } from '../io/lock.ts';
import { inspectRunDir, readConfig, runCheckpoint, RunError, runPaths, writeConfig } from '../train/run-dir.ts';
import { differences } from '../cli/train-flags.ts';
import type { SweepRun } from './sweep.ts';

export const sweepPaths = (out: string) => ({
  sweep: join(out, 'sweep.json'),
  runs: join(out, 'runs'),
  run: (name: string) => join(out, 'runs', name),
  report: join(out, 'report'),
});

/** What a run's done.json records. */
export interface RunDone {
  readonly step: number;
  /** Training seconds of the attempt that finished it. */
  readonly seconds: number;
  readonly sampleL1: number | null;
  /** host:pid of the worker that finished it. */
  readonly worker: string;
  readonly backend: string;
  /** OMP_NUM_THREADS of that worker (native kernels' sums depend on the thread count), if set. */
  readonly threads: string | null;
  readonly at: string;
}

export type RunState =
  | { readonly kind: 'invalid'; readonly error: string }
  | { readonly kind: 'pending' }
  | { readonly kind: 'partial'; readonly step: number }
  /** A process holds its lock (training it now, or on another host and not known dead). */
  | { readonly kind: 'active'; readonly holder: string; readonly step: number | undefined }
  | { readonly kind: 'failed'; readonly error: string; readonly step: number | undefined }
  | { readonly kind: 'done'; readonly done: RunDone };

const readJson = async <A>(path: string): Promise<A | undefined> => (existsSync(path) ? (JSON.parse(await readFile(path, 'utf8')) as A) : undefined);

/** Where one of a sweep's runs stands, from its folder alone. */
export const runState = async (out: string, run: SweepRun): Promise<RunState> => {
  if (run.config._tag === 'Left') return { kind: 'invalid', error: run.config.left };
  const dir = sweepPaths(out).run(run.name);
  const done = await readJson<RunDone>(join(dir, 'done.json'));
  if (done !== undefined) return { kind: 'done', done };
  const version = existsSync(dir) ? await runCheckpoint(dir) : undefined;
  const step = version === undefined ? undefined : (await readTrainMeta(version.path)).step;
  const holder = existsSync(dir) ? lockHolder(runPaths(dir).lock) : undefined;
  if (holder !== undefined) return { kind: 'active', holder: `${holder.holder.host}:${holder.holder.pid}`, step };
  const failed = await readJson<{ error: string }>(join(dir, 'failed.json'));
  if (failed !== undefined) return { kind: 'failed', error: failed.error, step };
  return step === undefined ? { kind: 'pending' } : { kind: 'partial', step };
};

/**
 * Make `dir` the run directory of `config`: write its config.json if it has
 * none (a missing or empty folder), or check that the one there is the same
 * config (a sweep file edited under a run that has started is refused for
 * that run, not trained over).
 */
export const prepareRun = async (dir: string, config: TrainConfig): Promise<void> => {
  const found = await inspectRunDir(dir);
  if (found.kind === 'file') throw new RunError(`${dir} is a file, not a run directory`);
  if (found.kind === 'foreign') throw new RunError(`${dir} holds other files (${found.entries.slice(0, 5).join(', ')}), not a pix2pix run: the sweep never writes into it`);
  if (found.kind === 'run') {
    const changed = differences(await readConfig(dir), config);
    if (changed.length > 0) throw new RunError(`${dir} was started with another config (it differs in ${changed.join(', ')}): the sweep file changed under a started run; move that run away to train the new config`);
    return;
  }
  await mkdir(dir, { recursive: true });
  await writeConfig(dir, config);
};

export const markDone = async (dir: string, done: RunDone): Promise<void> => {
  await writeFileAtomic(join(dir, 'done.json'), `${JSON.stringify(done, null, 2)}\n`, { durable: true });
  await rm(join(dir, 'failed.json'), { force: true });
};

export const markFailed = async (dir: string, error: string): Promise<void> => {
  if (!existsSync(dir)) return;
  await writeFileAtomic(join(dir, 'failed.json'), `${JSON.stringify({ error, at: new Date().toISOString() }, null, 2)}\n`);
};

export const readDone = (dir: string): Promise<RunDone | undefined> => readJson<RunDone>(join(dir, 'done.json'));
