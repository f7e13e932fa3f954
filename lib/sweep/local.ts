/**
 * A sweep on one machine, no server: N worker processes (`pix2pix worker
 * --ipc`, forked), each handed one run at a time over the IPC channel.
 *
 * A worker that dies (SIGKILL, out of memory) has its run handed to a new
 * worker, which resumes it from its checkpoint; a run whose workers die
 * three times is marked failed. A stop signal to the sweep is passed to the
 * workers, which finish their step and checkpoint; running the sweep again
 * skips what is done and resumes what was cut off.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../backend/index.ts';
import { STOP_SIGNALS } from '../cli/signals.ts';
import type { TrainConfig } from '../train/config.ts';
import type { JobProgress, JobSpec } from './job.ts';
import { markFailed, runState, sweepPaths, type RunDone } from './runs.ts';
import type { SweepRun } from './sweep.ts';

/** Parent -> worker and worker -> parent messages. */
export type ToWorker = { readonly type: 'job'; readonly job: JobSpec } | { readonly type: 'exit' };
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly progress: JobProgress }
  | { readonly type: 'done'; readonly done: RunDone }
  | { readonly type: 'failed'; readonly error: string; readonly stopped: boolean };

export interface LocalOptions {
  readonly out: string;
  readonly runs: readonly SweepRun[];
  /** Worker processes (default: one per 2 cores). */
  readonly workers?: number;
  /** OpenMP threads per worker (default: OMP_NUM_THREADS if set, else the cores shared out, at least 1). */
  readonly threads?: number;
  readonly backend?: BackendChoice;
  /** How many times a run's worker may die before the run is marked failed (default 3). */
  readonly maxDeaths?: number;
  readonly log?: (line: string) => void;
  /** Every progress message of every worker (for a caller's own display). */
  readonly onProgress?: (name: string, p: JobProgress) => void;
}

export interface SweepOutcome {
  readonly done: readonly string[];
  readonly failed: ReadonlyArray<{ readonly name: string; readonly error: string }>;
  /** Runs left (stopped by a signal): the same command resumes them. */
  readonly left: readonly string[];
  readonly skipped: readonly string[];
}

export const defaultWorkers = (): number => Math.max(1, Math.floor(availableParallelism() / 2));

/** The `pix2pix` bin beside this module: lib/cli/bin.mjs from source, dist/cli/bin.js in the package. */
const binPath = (): string => fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../cli/bin.mjs' : '../cli/bin.js', import.meta.url));

export const runLocal = async (o: LocalOptions): Promise<SweepOutcome & { readonly signal?: string }> => {
  const log = o.log ?? ((l: string) => console.error(l));
  const paths = sweepPaths(o.out);
  const done: string[] = [];
  const skipped: string[] = [];
  const failed: Array<{ name: string; error: string }> = [];
  const queue: JobSpec[] = [];
  for (const r of o.runs) {
    const s = await runState(o.out, r);
    if (s.kind === 'invalid') failed.push({ name: r.name, error: s.error });
    else if (s.kind === 'done') skipped.push(r.name);
    else queue.push({ name: r.name, dir: paths.run(r.name), config: (r.config as { right: TrainConfig }).right });
    if (s.kind === 'invalid') log(`failed ${r.name}: invalid config: ${s.error}`);
    if (s.kind === 'partial') log(`${r.name}: cut off at step ${s.step}; it resumes from its checkpoint`);
  }
  if (skipped.length > 0) log(`${skipped.length} of ${o.runs.length} runs already done: skipped`);
  const n = Math.max(1, Math.min(o.workers ?? defaultWorkers(), queue.length));
  // An explicit --threads, else the environment's OMP_NUM_THREADS, else the cores shared out.
  const threads = String(o.threads ?? process.env['OMP_NUM_THREADS'] ?? Math.max(1, Math.floor(availableParallelism() / n)));
  const deaths = new Map<string, number>();
  let signal: string | undefined;
  const busy = new Map<ChildProcess, JobSpec>();
  const all = new Set<ChildProcess>();
  const ready = new Set<ChildProcess>();
  let startFailures = 0;

  const onSignal = (s: string) => {
    if (signal !== undefined) {
      for (const c of all) c.kill('SIGKILL');
      return;
    }
    signal = s;
    log(`${s}: stopping ${busy.size} running run(s) at their next step, with a checkpoint (again to kill them at once)`);
    for (const c of all) c.kill('SIGTERM');
  };
  const handlers = STOP_SIGNALS.map((s) => [s, () => onSignal(s)] as const);
  handlers.forEach(([s, h]) => process.on(s, h));

  try {
    await new Promise<void>((resolveAll) => {
      const finishIfIdle = () => {
        if (all.size === 0) resolveAll();
      };
      const send = (child: ChildProcess, m: ToWorker) => {
        if (child.connected) child.send(m);
      };
      const next = (child: ChildProcess) => {
        const job = signal === undefined ? queue.shift() : undefined;
        if (job === undefined) return send(child, { type: 'exit' });
        busy.set(child, job);
        log(`[${child.pid}] ${job.name}: started`);
        send(child, { type: 'job', job });
      };
      const spawn = () => {
        const child = fork(binPath(), ['worker', '--ipc', ...(o.backend ? ['--backend', o.backend] : [])], {
          env: { ...process.env, OMP_NUM_THREADS: threads },
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        all.add(child);
        child.on('error', (e) => log(`[${child.pid}] worker: ${e.message}`));
        child.on('message', (m: FromWorker) => {
          const job = busy.get(child);
          if (m.type === 'ready') {
            ready.add(child);
            return next(child);
          }
          if (m.type === 'progress') return job && o.onProgress?.(job.name, m.progress);
          if (job === undefined) return;
          busy.delete(child);
          if (m.type === 'done') {
            done.push(job.name);
            log(`[${child.pid}] ${job.name}: done, step ${m.done.step}, ${m.done.seconds.toFixed(1)} s${m.done.sampleL1 === null ? '' : `, sample L1 ${m.done.sampleL1.toFixed(4)}`}`);
          } else if (m.stopped) {
            return log(`[${child.pid}] ${job.name}: ${m.error}`); // the worker exits
          } else {
            failed.push({ name: job.name, error: m.error });
            log(`[${child.pid}] failed ${m.error}`);
          }
          next(child);
        });
        child.on('exit', (code, sig) => {
          all.delete(child);
          const job = busy.get(child);
          busy.delete(child);
          if (job !== undefined && signal === undefined) {
            const died = (deaths.get(job.name) ?? 0) + 1;
            deaths.set(job.name, died);
            const how = sig ?? `exit status ${code}`;
            if (died >= (o.maxDeaths ?? 3)) {
              const error = `${job.name}: its worker died ${died} times (last: ${how})`;
              failed.push({ name: job.name, error });
              void markFailed(job.dir, error);
              log(`[${child.pid}] failed ${error}`);
            } else {
              log(`[${child.pid}] worker died (${how}) during ${job.name}: a new worker resumes it from its checkpoint`);
              queue.unshift(job);
            }
          }
          if (!ready.has(child)) startFailures++;
          ready.delete(child);
          if (startFailures >= 3 && signal === undefined) {
            // A worker that cannot start (a broken install): say so once, not a process a second for ever.
            for (const j of queue.splice(0)) failed.push({ name: j.name, error: `${j.name}: not run: worker processes exit before they start (the last: ${sig ?? `exit status ${code}`}; its messages are above)` });
          }
          if (signal === undefined && queue.length > 0 && all.size < n) spawn();
          finishIfIdle();
        });
      };
      if (queue.length === 0) return resolveAll();
      for (let i = 0; i < n; i++) spawn();
    });
  } finally {
    handlers.forEach(([s, h]) => process.off(s, h));
  }
  const ended = new Set([...done, ...skipped, ...failed.map((f) => f.name)]);
  const left = o.runs.map((r) => r.name).filter((name) => !ended.has(name));
  return { done, failed, left, skipped, ...(signal ? { signal } : {}) };
};
