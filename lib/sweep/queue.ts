/**
 * A sweep on a BullMQ queue (Redis): `enqueueSweep` adds one job per run,
 * `startWorker` pulls jobs on any machine that sees the shared run
 * directories, `sweepJobs` reads every job's state back.
 *
 * What BullMQ does and this module relies on: a job is held by one worker
 * under a lock that worker renews; a worker that dies stops renewing, and
 * another worker's stall check puts the job back on the queue, where the
 * next worker resumes the run from its checkpoint (the run directory is the
 * job's state, runs.ts). Jobs are keyed by sweep folder and run name, so
 * enqueueing a sweep again adds only what is new and retries what failed.
 */
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { BackendChoice } from '../backend/index.ts';
import { lockHolder } from '../io/lock.ts';
import { holderAlive, isCurrentProcess } from '../io/pid.ts';
import type { TrainConfig } from '../train/config.ts';
import { runPaths } from '../train/run-dir.ts';
import { JobFailed, JobStopped, runJob, workerId, type JobProgress } from './job.ts';
import { sweepPaths, type RunDone } from './runs.ts';
import type { SweepRun } from './sweep.ts';

export const DEFAULT_QUEUE = 'pix2pix-sweeps';

/** What a job carries: where its run lives, and its config (or why it has none). */
export interface JobData {
  readonly out: string;
  readonly name: string;
  readonly dir: string;
  readonly config?: TrainConfig;
  readonly invalid?: string;
}

/** redis://[:password@]host[:port][/db] as BullMQ's connection options; a clear error for anything else. */
export const connectionOf = (url: string): ConnectionOptions => {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue ${url}: not a URL (expected redis://HOST:PORT)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`--queue ${url}: expected a redis:// URL`);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new Error(`--queue ${url}: the path must be a database number, got /${db}`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port === '' ? 6379 : Number(u.port),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(db !== '' ? { db: Number(db) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    // Workers block on Redis: ioredis must retry for ever rather than fail a command (BullMQ's advice).
    maxRetriesPerRequest: null,
  };
};

/** A job's id: stable for (sweep folder, run), and free of the ':' BullMQ reserves. */
export const jobIdOf = (out: string, name: string): string => createHash('sha256').update(`${resolve(out)}\0${name}`).digest('hex').slice(0, 32);

const ATTEMPTS = 1000; // stops and lost workers re-queue a job; failures that would repeat are UnrecoverableError

/** Add one job per run (new ones only; failed ones are retried). Returns how many of each. */
export const enqueueSweep = async (url: string, out: string, runs: readonly SweepRun[], queueName = DEFAULT_QUEUE): Promise<{ added: number; retried: number; kept: number }> => {
  const queue = new Queue<JobData>(queueName, { connection: connectionOf(url) });
  try {
    let added = 0;
    let retried = 0;
    let kept = 0;
    for (const r of runs) {
      const jobId = jobIdOf(out, r.name);
      const existing = await queue.getJob(jobId);
      if (existing !== undefined) {
        if ((await existing.getState()) === 'failed') {
          await existing.retry('failed');
          retried++;
        } else kept++;
        continue;
      }
      const dir = resolve(sweepPaths(out).run(r.name));
      const data: JobData = r.config._tag === 'Right' ? { out: resolve(out), name: r.name, dir, config: r.config.right } : { out: resolve(out), name: r.name, dir, invalid: r.config.left };
      await queue.add(r.name, data, { jobId, attempts: ATTEMPTS, removeOnComplete: false, removeOnFail: false });
      added++;
    }
    return { added, retried, kept };
  } finally {
    await queue.close();
  }
};

export interface WorkerOptions {
  readonly url: string;
  readonly queueName?: string;
  readonly backend?: BackendChoice;
  /** Seconds a job's lock lasts without renewal: how soon a lost worker's job is taken up again (default 30). */
  readonly lockSeconds?: number;
  readonly log?: (line: string) => void;
}

/**
 * A run's lock, left by the worker that held its job before and was lost,
 * may name a process on another machine, which this one cannot check: the
 * queue has judged that worker gone, so its lock is removed. On this
 * machine the lock's own liveness check removes a dead holder's lock, and a
 * live holder is not lost at all (see waitForHolder): neither is touched.
 */
const clearLostLock = (dir: string, previous: string | undefined, log: (l: string) => void): void => {
  if (previous === undefined || previous === workerId()) return;
  const path = runPaths(dir).lock;
  const info = lockHolder(path);
  if (info !== undefined && `${info.holder.host}:${info.holder.pid}` === previous && holderAlive(info.holder) === 'unknown') {
    rmSync(path, { force: true });
    log(`${dir}: removed the lock of lost worker ${previous}`);
  }
};

/**
 * Waits while a live process on this machine holds the run's lock. A worker
 * whose connection to Redis dropped (a restart) cannot renew its job's
 * lock, so the stall check hands the job to another worker while the first
 * still trains the run: the second waits for it to stop (or finish: its
 * resume then finds the run done) rather than train the run beside it.
 */
export const waitForHolder = async (dir: string, log: (l: string) => void, pollMs = 1000): Promise<void> => {
  const path = runPaths(dir).lock;
  for (let said = false; ; said = true) {
    const info = lockHolder(path);
    if (info === undefined || holderAlive(info.holder) !== true) return;
    if (isCurrentProcess(info.holder)) return; // its own leftover: train takes it over
    if (!said) log(`${dir}: waiting for ${info.holder.host}:${info.holder.pid}, which still trains it`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
};

/** Pull and train jobs until closed. The returned worker is BullMQ's (close() it to stop). */
export const startWorker = (o: WorkerOptions): Worker<JobData, RunDone> => {
  const log = o.log ?? ((l: string) => console.error(l));
  const lockDuration = (o.lockSeconds ?? 30) * 1000;
  const processor = async (job: Job<JobData, RunDone>): Promise<RunDone> => {
    const { name, dir, config, invalid } = job.data;
    if (invalid !== undefined || config === undefined) throw new UnrecoverableError(`invalid config: ${invalid ?? 'none given'}`);
    const previous = (job.progress as Partial<JobProgress> | undefined)?.worker;
    clearLostLock(dir, previous, log);
    await waitForHolder(dir, log);
    log(`${name}: started${previous !== undefined && previous !== workerId() ? ` (taken over from ${previous})` : ''}`);
    await job.updateProgress({ worker: workerId(), step: 0, total: 0, epoch: 0, eta: null, losses: {} } satisfies JobProgress);
    try {
      const done = await runJob({ name, dir, config }, { ...(o.backend ? { backend: o.backend } : {}), onProgress: (p) => job.updateProgress(p) });
      log(`${name}: done, step ${done.step}`);
      return done;
    } catch (e) {
      if (e instanceof JobFailed) throw new UnrecoverableError(e.message);
      if (e instanceof JobStopped) log(e.message);
      throw e;
    }
  };
  const worker = new Worker<JobData, RunDone>(o.queueName ?? DEFAULT_QUEUE, processor, {
    connection: connectionOf(o.url),
    concurrency: 1,
    lockDuration,
    stalledInterval: Math.max(1000, lockDuration / 2),
    // A job whose worker is lost goes back on the queue this many times before it fails.
    maxStalledCount: 10,
  });
  let lastError = '';
  worker.on('error', (e) => {
    // Redis going away and coming back: say so once, not every retry.
    if (e.message !== lastError) log(`queue: ${e.message}`);
    lastError = e.message;
  });
  worker.on('ready', () => {
    if (lastError !== '') log('queue: connected');
    lastError = '';
  });
  return worker;
};

export type JobStatus =
  | { readonly name: string; readonly state: 'waiting' | 'delayed' | 'prioritized' | 'waiting-children' | 'unknown' }
  | { readonly name: string; readonly state: 'active'; readonly progress: Partial<JobProgress> }
  | { readonly name: string; readonly state: 'completed'; readonly done: RunDone }
  | { readonly name: string; readonly state: 'failed'; readonly error: string; readonly attempts: number };

/** Every job of the sweep in `out`, in the sweep's order (jobs of runs not enqueued are left out). */
export const sweepJobs = async (url: string, out: string, runs: readonly SweepRun[], queueName = DEFAULT_QUEUE): Promise<JobStatus[]> => {
  const queue = new Queue<JobData, RunDone>(queueName, { connection: connectionOf(url) });
  try {
    const statuses: JobStatus[] = [];
    for (const r of runs) {
      const job = await queue.getJob(jobIdOf(out, r.name));
      if (job === undefined) continue;
      const state = await job.getState();
      if (state === 'active') statuses.push({ name: r.name, state, progress: job.progress as Partial<JobProgress> });
      else if (state === 'completed') statuses.push({ name: r.name, state, done: job.returnvalue });
      else if (state === 'failed') statuses.push({ name: r.name, state, error: job.failedReason, attempts: job.attemptsMade });
      else statuses.push({ name: r.name, state: (state as string) === 'wait' ? 'waiting' : (state as 'delayed') });
    }
    return statuses;
  } finally {
    await queue.close();
  }
};

/** Poll the sweep's jobs until every one has completed or failed; their final states. */
export const waitForJobs = async (url: string, out: string, runs: readonly SweepRun[], queueName = DEFAULT_QUEUE, everyMs = 1000): Promise<JobStatus[]> => {
  for (;;) {
    const jobs = await sweepJobs(url, out, runs, queueName);
    if (jobs.every((j) => j.state === 'completed' || j.state === 'failed')) return jobs;
    await new Promise((r) => setTimeout(r, everyMs));
  }
};
