/**
 * `pix2pix sweep run | status | report`: a sweep file's runs trained by
 * local worker processes or by `pix2pix worker`s on a BullMQ queue, where
 * they stand, and their scores as one table.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { writeFileAtomic } from '../io/file.ts';
import { pidExists } from '../io/pid.ts';
import { defaultWorkers, runLocal } from '../sweep/local.ts';
import type { JobProgress } from '../sweep/job.ts';
import { DEFAULT_QUEUE, enqueueSweep, sweepJobs, waitForJobs, type JobStatus } from '../sweep/queue.ts';
import { sweepReport } from '../sweep/report.ts';
import { runState, sweepPaths, type RunState } from '../sweep/runs.ts';
import { readSweep, type Sweep } from '../sweep/sweep.ts';
import { backendFlag, decodeFlags, positiveIntFromString, UsageError } from './flags.ts';
import { exitCodeOf, type StopSignal } from './signals.ts';

export const sweepHelp = `pix2pix sweep run SWEEP.json --out DIR [options]
pix2pix sweep status --out DIR [--queue URL]
pix2pix sweep report --out DIR [options]

A sweep file: {"base": {train's config fields}, "axes": {"field": [values]}}
(the cross product) or "variants": [{fields}, ...]; optional "eval": {"data",
"split", "range": [start, end], "max", "mode"} for the report. See docs/sweeps.md.

run
  --out DIR            the sweep folder: sweep.json and runs/NAME/ (new, or a sweep to resume)
  --workers N          local worker processes (default one per 2 cores: ${defaultWorkers()} here)
  --threads N          OpenMP threads per local worker (default: the cores shared out)
  --queue URL          enqueue on a BullMQ queue (redis://HOST:PORT) instead: 'pix2pix worker
                       --queue URL' on any machines trains the jobs; DIR must be shared storage
  --queue-name NAME    the BullMQ queue (default ${DEFAULT_QUEUE})
  --wait               with --queue: wait until every job has completed or failed
  --backend NAME       local workers' backend: auto (default), tensorflow, webgpu, native, wasm, cpu
  Runs already done are skipped; a run cut off resumes from its checkpoint.
status
  --out DIR            every run: waiting, active (worker, step, ETA), done, failed (with the error)
  --queue URL          read the jobs from the queue (default: from the run folders)
report
  --out DIR            scores every finished run ('pix2pix eval') and writes DIR/report/
                       report.md, report.json and index.html: mean ± std over seeds per variant
  --data DIR, --split NAME, --max N   override the sweep file's "eval"
  --backend NAME       as above

Exit status: 0 all done, 1 some runs failed, 2 bad usage, 130 / 143 stopped.`;

const s = { type: 'string' } as const;
const Flags = t.exact(
  t.partial({
    out: t.string,
    workers: positiveIntFromString,
    threads: positiveIntFromString,
    queue: t.string,
    queueName: t.string,
    wait: t.boolean,
    backend: backendFlag,
    data: t.string,
    split: t.string,
    max: positiveIntFromString,
  }),
);
const options = { out: s, workers: s, threads: s, queue: s, 'queue-name': s, wait: { type: 'boolean' }, backend: s, data: s, split: s, max: s } as const;

const loadSweep = async (file: string): Promise<{ json: unknown; sweep: Sweep }> => {
  if (!existsSync(file)) throw new UsageError(`${file}: no such sweep file`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
  }
  const sweep = readSweep(json, file);
  if (E.isLeft(sweep)) throw new UsageError(sweep.left);
  return { json, sweep: sweep.right };
};

/** The sweep folder `out` for `json`: new, empty, or a sweep's (its sweep.json is replaced by this one). */
const claimOut = async (out: string, json: unknown): Promise<void> => {
  const paths = sweepPaths(out);
  if (existsSync(out)) {
    const entries = (await readdir(out)).filter((n) => !['sweep.json', 'runs', 'report'].includes(n) && !n.startsWith('.'));
    if (entries.length > 0 || (!existsSync(paths.sweep) && existsSync(paths.runs)))
      throw new UsageError(`--out ${out} is not a sweep folder (it holds ${entries.slice(0, 5).join(', ') || 'runs/ without sweep.json'}): choose a new or empty --out`);
  }
  await mkdir(paths.runs, { recursive: true });
  await writeFileAtomic(paths.sweep, `${JSON.stringify(json, null, 2)}\n`);
};

const showState = (st: RunState): string => {
  switch (st.kind) {
    case 'invalid':
      return `failed: invalid config: ${st.error}`;
    case 'pending':
      return 'waiting';
    case 'partial':
      return `cut off at step ${st.step} (resumes from its checkpoint)`;
    case 'active':
      return `active on ${st.holder}${st.step === undefined ? '' : `, checkpoint at step ${st.step}`}`;
    case 'failed':
      return `failed${st.step === undefined ? '' : ` at step ${st.step}`}: ${st.error}`;
    case 'done':
      return `done: step ${st.done.step}, ${st.done.seconds.toFixed(1)} s on ${st.done.worker}`;
  }
};

/** A worker on this host whose process has ended (other hosts cannot be checked from here). */
const gone = (worker: string | undefined): boolean => {
  const m = worker === undefined ? null : /^(.*):(\d+)$/.exec(worker);
  return m !== null && m[1] === hostname() && !pidExists(Number(m[2]));
};

/** 3 decimals, or 3 significant digits for small values (a learning rate). */
const num = (v: number): string => (v !== 0 && Math.abs(v) < 0.01 ? v.toPrecision(3) : v.toFixed(3));

const showJob = (j: JobStatus): string => {
  switch (j.state) {
    case 'active': {
      const p = j.progress;
      return `${gone(p.worker) ? '(worker gone: back on the queue when its lock expires) ' : ''}active on ${p.worker ?? '?'} at step ${p.step ?? 0}/${p.total ?? '?'}${p.eta != null ? `, ETA ${p.eta} s` : ''}${p.losses && Object.keys(p.losses).length > 0 ? `, ${Object.entries(p.losses).map(([k, v]) => `${k} ${num(v)}`).join(' ')}` : ''}`;
    }
    case 'completed':
      return `done: step ${j.done.step}, ${j.done.seconds.toFixed(1)} s on ${j.done.worker}`;
    case 'failed':
      return `failed: ${j.error}`;
    default:
      return j.state;
  }
};

const table = (rows: ReadonlyArray<readonly [string, string]>): string[] => {
  const w = Math.max(3, ...rows.map((r) => r[0].length));
  return [`${'run'.padEnd(w)}  state`, `${'-'.repeat(w)}  -----`, ...rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`)];
};

const runCmd = async (file: string | undefined, f: t.TypeOf<typeof Flags>, out: (l: string) => void): Promise<number> => {
  if (file === undefined || file.startsWith('-')) throw new UsageError('which sweep file? pix2pix sweep run SWEEP.json --out DIR');
  if (f.out === undefined) throw new UsageError('--out is required (the sweep folder, e.g. sweeps/table1)');
  if (f.queue === undefined && f.wait) throw new UsageError('--wait is for --queue (a local sweep always waits)');
  const { json, sweep } = await loadSweep(file);
  await claimOut(f.out, json);
  if (f.queue !== undefined) {
    const relative = [...new Set(sweep.runs.flatMap((r) => (r.config._tag === 'Right' && !isAbsolute(r.config.right.data) ? [r.config.right.data] : [])))];
    if (relative.length > 0) console.error(`note: data ${relative.join(', ')} is a relative path: each worker reads it from its own working directory (give an absolute path on shared storage)`);
    if (!isAbsolute(f.out)) console.error(`note: --out ${f.out} is relative: jobs carry its absolute path ${resolve(f.out)}, which every worker must see`);
    const q = await enqueueSweep(f.queue, f.out, sweep.runs, f.queueName);
    out(`${f.out}: ${sweep.runs.length} runs on ${f.queue} (queue ${f.queueName ?? DEFAULT_QUEUE}): ${q.added} enqueued, ${q.retried} failed ones retried, ${q.kept} already there`);
    if (!f.wait) {
      out(`train them with: pix2pix worker --queue ${f.queue}   (on each machine); watch with: pix2pix sweep status --out ${f.out} --queue ${f.queue}`);
      return 0;
    }
    const jobs = await waitForJobs(f.queue, f.out, sweep.runs, f.queueName);
    for (const l of table(jobs.map((j) => [j.name, showJob(j)]))) out(l);
    return jobs.some((j) => j.state === 'failed') ? 1 : 0;
  }
  out(`${f.out}: ${sweep.runs.length} runs, ${Math.min(f.workers ?? defaultWorkers(), sweep.runs.length)} local worker(s)`);
  // Every minute, where the running runs stand (the workers' progress messages).
  const latest = new Map<string, JobProgress>();
  const timer = setInterval(() => {
    const running = [...latest].filter(([, p]) => p.step < p.total);
    if (running.length > 0) out(`running: ${running.map(([n, p]) => `${n} step ${p.step}/${p.total}${p.eta === null ? '' : ` (ETA ${p.eta} s)`}`).join('; ')}`);
  }, 60_000);
  timer.unref();
  const r = await runLocal({
    out: f.out,
    runs: sweep.runs,
    ...(f.workers ? { workers: f.workers } : {}),
    ...(f.threads ? { threads: f.threads } : {}),
    ...(f.backend ? { backend: f.backend } : {}),
    log: out,
    onProgress: (name, p) => void latest.set(name, p),
  }).finally(() => clearInterval(timer));
  out(`${r.done.length} trained, ${r.skipped.length} already done, ${r.failed.length} failed${r.left.length > 0 ? `, ${r.left.length} left` : ''}`);
  for (const x of r.failed) out(`failed: ${x.error}`);
  if (r.signal !== undefined) {
    out(`stopped by ${r.signal}: the same command resumes the sweep`);
    return exitCodeOf(r.signal as StopSignal);
  }
  return r.failed.length > 0 ? 1 : 0;
};

const sweepOfOut = async (dir: string | undefined): Promise<Sweep> => {
  if (dir === undefined) throw new UsageError('--out is required (the sweep folder)');
  const file = sweepPaths(dir).sweep;
  if (!existsSync(file)) throw new UsageError(`--out ${dir} is not a sweep folder: it has no sweep.json`);
  return (await loadSweep(file)).sweep;
};

const statusCmd = async (f: t.TypeOf<typeof Flags>, out: (l: string) => void): Promise<number> => {
  const sweep = await sweepOfOut(f.out);
  if (f.queue !== undefined) {
    const jobs = await sweepJobs(f.queue, f.out!, sweep.runs, f.queueName);
    const missing = sweep.runs.filter((r) => !jobs.some((j) => j.name === r.name)).map((r) => [r.name, 'not enqueued'] as const);
    for (const l of table([...jobs.map((j) => [j.name, showJob(j)] as const), ...missing])) out(l);
    return jobs.some((j) => j.state === 'failed') ? 1 : 0;
  }
  const states = await Promise.all(sweep.runs.map((r) => runState(f.out!, r)));
  for (const l of table(sweep.runs.map((r, i) => [r.name, showState(states[i]!)]))) out(l);
  return states.some((st) => st.kind === 'failed' || st.kind === 'invalid') ? 1 : 0;
};

export const sweepCommand = async (argv: readonly string[], out: (line: string) => void): Promise<number> => {
  const [sub, ...rest] = argv;
  if (sub === 'run') {
    const [file, ...flags] = rest;
    return runCmd(file, decodeFlags(flags, options, Flags), out);
  }
  if (sub === 'status') return statusCmd(decodeFlags(rest, options, Flags), out);
  if (sub === 'report') {
    const f = decodeFlags(rest, options, Flags);
    const sweep = await sweepOfOut(f.out);
    const evalOpts = { ...sweep.eval, ...(f.data ? { data: f.data } : {}), ...(f.split ? { split: f.split } : {}), ...(f.max ? { max: f.max } : {}) };
    const r = await sweepReport({ out: f.out!, runs: sweep.runs, eval: evalOpts, backend: f.backend ?? 'auto', log: out });
    out(r.markdown);
    out(`report: ${r.files.join(', ')}`);
    return 0;
  }
  throw new UsageError(`expected run, status or report, got ${sub === undefined ? 'nothing' : `'${sub}'`}`);
};
