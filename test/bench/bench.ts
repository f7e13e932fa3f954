/**
 * `npm run bench`: this library against the PyTorch reference
 * (../shared/bench/torch_pix2pix.py) on the same configurations, in one
 * invocation, alternating ours and PyTorch per configuration, each in its
 * own process. Prints per configuration our median s/step, PyTorch's, the
 * ratio ours / PyTorch and both peak RSS values.
 *
 *   npm run bench [-- --only train128,infer256] [--rounds 1] [--backend auto] [--json FILE] [--torch PATH] [--data DIR] [--torch-malloc keep|glibc]
 *
 * --rounds K measures each configuration K times, ours and PyTorch in turn
 * (ours first in odd rounds, PyTorch first in even ones, so a machine that
 * drifts over minutes weighs on both alike), and reports each side's median
 * s/step, the median of the K per-round ratios and their range.
 *
 * The e2e rows run `pix2pix train` (its defaults: samples every 100 steps,
 * checkpoints every 500, losses.jsonl) on real files (--data, default
 * ../shared/datasets/facades, else the bundled facades-mini) against
 * ../shared/bench/torch_train_loop.py on the same files, and report the
 * time from our process's start to its first step beside the s/step.
 *
 * PyTorch: apt-get install -y python3-torch libopenblas0-openmp; it runs with
 * /usr/bin/python3 and OpenBLAS's OpenMP build (LD_LIBRARY_PATH), with
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset so OpenBLAS picks its best
 * kernels, and with glibc keeping freed memory (--torch-malloc keep, the
 * default; see torchEnv). Without it the bench still measures ours and says so.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchConfigs, type BenchConfig } from './configs.ts';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    json: { type: 'string' },
    torch: { type: 'string', default: fileURLToPath(new URL('../../../shared/bench/torch_pix2pix.py', import.meta.url)) },
    data: { type: 'string' },
    'torch-malloc': { type: 'string', default: 'keep' },
    rounds: { type: 'string', default: '1' },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds ${values.rounds}: a whole number of rounds >= 1`);
  process.exit(2);
}
if (values['torch-malloc'] !== 'keep' && values['torch-malloc'] !== 'glibc') {
  console.error(`--torch-malloc ${values['torch-malloc']}: choose keep (the default) or glibc`);
  process.exit(2);
}
// The e2e rows' files: the 400 facades pairs where ../shared has them, else the bundled 40.
const e2eData = values.data ?? [fileURLToPath(new URL('../../../shared/datasets/facades', import.meta.url)), fileURLToPath(new URL('../../examples/data/facades-mini', import.meta.url))].find((d) => existsSync(join(d, 'train')))!;
const selected = values.only ? values.only.split(',').map((n) => n.trim()) : benchConfigs.map((c) => c.name);
const unknown = selected.filter((n) => !benchConfigs.some((c) => c.name === n));
if (unknown.length) {
  console.error(`unknown config ${unknown.join(', ')}; choose from ${benchConfigs.map((c) => c.name).join(', ')}`);
  process.exit(2);
}
const configs = benchConfigs.filter((c) => selected.includes(c.name));

interface Measured {
  readonly median_s: number;
  readonly min_s: number;
  readonly peak_rss_mib: number;
}

const lastJson = (out: string): unknown => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) ?? 'null');

const ours = (c: BenchConfig): (Measured & { backend: string; first_step_s?: number }) | { error: string } => {
  if (c.kind === 'e2e') {
    const args = ['--data', e2eData, '--size', String(c.size), '--load', String(c.load), '--generator', `unet${c.size}`, '--ngf', String(c.ngf), '--ndf', String(c.ndf), '--steps', String(c.repeats), '--warmup', String(c.warmup), '--backend', values.backend!];
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./e2e-ours.ts', import.meta.url)), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ') };
    const o = lastJson(r.stdout) as { backend: string; s_per_step: number; first_step_s: number; peak_rss_mib: number };
    return { backend: o.backend, median_s: o.s_per_step, min_s: o.s_per_step, peak_rss_mib: o.peak_rss_mib, first_step_s: o.first_step_s };
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./ours.ts', import.meta.url)), c.name, '--backend', values.backend!, '--warmup', String(c.warmup)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ') };
  return lastJson(r.stdout) as Measured & { backend: string };
};

const python = '/usr/bin/python3';
const torchAvailable = (): string | undefined => {
  if (!existsSync(values.torch!)) return `${values.torch} not found`;
  if (!existsSync(python)) return `${python} not found`;
  const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'PyTorch is not installed (apt-get install -y python3-torch libopenblas0-openmp)';
};

const torchEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, LD_LIBRARY_PATH: '/usr/lib/x86_64-linux-gnu/openblas-openmp' };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  // PyTorch on a CPU allocates every activation, gradient and optimiser
  // temporary afresh; glibc hands big blocks back to the kernel at once, so
  // each is page-faulted in again (on a KVM machine of 2026-12-06: 1.3M page
  // faults and 8.8 s of system time in a 16 s run; a 256x256 step 1.49 s).
  // Keeping freed memory in the heap, as PyTorch's tuning guide advises
  // (there with jemalloc or tcmalloc), gave 0.49 s: the reference at its best.
  // --torch-malloc glibc measures it with glibc's defaults, as runs before
  // that date did. (Ours recycles its buffers: lib/backend/native/pool.ts.)
  if (values['torch-malloc'] === 'keep') Object.assign(env, { MALLOC_MMAP_THRESHOLD_: '2147483647', MALLOC_TRIM_THRESHOLD_: '4294967295' });
  return env;
};

const torchLoop = (c: BenchConfig): Measured | { error: string } => {
  const script = join(values.torch!, '..', 'torch_train_loop.py');
  const args = [script, '--data', join(e2eData, 'train'), '--size', String(c.size), '--load', String(c.load), '--depth', String(c.depth), '--ngf', String(c.ngf), '--ndf', String(c.ndf), '--steps', String(c.warmup + c.repeats), '--warmup', String(c.warmup), '--threads', String(cpus().length)];
  const r = spawnSync(python, args, { encoding: 'utf8', env: torchEnv(), maxBuffer: 1 << 26 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ') };
  const o = lastJson(r.stdout) as { s_per_step: number } | null;
  return o ? { median_s: o.s_per_step, min_s: o.s_per_step, peak_rss_mib: NaN } : { error: 'no timing in the output' };
};

const torch = (c: BenchConfig): Measured | { error: string } => {
  if (c.kind === 'e2e') return torchLoop(c);
  const args = [values.torch!, '--size', String(c.kind === 'train' ? c.size : 256), '--depth', String(c.depth), '--ngf', String(c.ngf), '--ndf', String(c.ndf), '--batch', String(c.batch), '--repeats', String(c.repeats), '--warmup', String(c.warmup), '--threads', String(cpus().length)];
  if (c.kind === 'train') args.push('--infer-sizes');
  else args.push('--no-train', '--infer-sizes', String(c.size));
  const r = spawnSync(python, args, { encoding: 'utf8', env: torchEnv(), maxBuffer: 1 << 26 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ') };
  const out = lastJson(r.stdout) as { train_step?: Measured; inference?: Record<string, Measured>; peak_rss_mib: number };
  const m = c.kind === 'train' ? out.train_step : out.inference?.[String(c.size)];
  return m ? { median_s: m.median_s, min_s: m.min_s, peak_rss_mib: out.peak_rss_mib } : { error: 'no timing in the output' };
};

const noTorch = torchAvailable();
console.log(`pix2pix-ts bench: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, backend ${values.backend}, PyTorch's malloc: ${values['torch-malloc']}`);
if (noTorch) console.log(`PyTorch reference unavailable (${noTorch}): measuring ours only`);

const rows: Array<Record<string, unknown>> = [];
const fmt = (v: number | undefined, d = 3) => (v === undefined ? '-' : v.toFixed(d));
const median = (xs: readonly number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const present = <T,>(xs: ReadonlyArray<T | undefined>): T[] => xs.filter((x): x is T => x !== undefined);
for (const c of configs) {
  const as: Array<ReturnType<typeof ours>> = [];
  const bs: Array<ReturnType<typeof torch> | undefined> = [];
  const withTorch = !noTorch && !c.hd;
  for (let r = 0; r < rounds; r++) {
    if (withTorch && r % 2 === 1) bs.push(torch(c));
    as.push(ours(c));
    if (withTorch && r % 2 === 0) bs.push(torch(c));
  }
  const okA = as.filter((a): a is Exclude<typeof a, { error: string }> => !('error' in a));
  const okB = bs.filter((b): b is Measured => b !== undefined && !('error' in b));
  const oursAll = okA.map((a) => a.median_s);
  const torchAll = okB.map((b) => b.median_s);
  // Per round, ours over PyTorch measured beside it (only rounds where both ran).
  const ratios = present(as.map((a, r) => { const b = bs[r]; return 'error' in a || b === undefined || 'error' in b ? undefined : a.median_s / b.median_s; }));
  const firstSteps = present(okA.map((a) => a.first_step_s));
  const rssB = okB.map((b) => b.peak_rss_mib).filter(Number.isFinite);
  const errA = as.find((a): a is { error: string } => 'error' in a);
  const errB = bs.find((b): b is { error: string } => b !== undefined && 'error' in b);
  const row = {
    config: c.name,
    what: c.what,
    backend: okA[0]?.backend,
    ours_s: median(oursAll),
    torch_s: median(torchAll),
    ratio: median(ratios),
    ...(rounds > 1 ? { rounds, ours_s_all: oursAll, torch_s_all: torchAll, ratio_min: ratios.length ? Math.min(...ratios) : undefined, ratio_max: ratios.length ? Math.max(...ratios) : undefined } : {}),
    ours_rss_mib: okA.length ? Math.max(...okA.map((a) => a.peak_rss_mib)) : undefined,
    ...(firstSteps.length ? { ours_first_step_s: median(firstSteps) } : {}),
    torch_rss_mib: rssB.length ? Math.max(...rssB) : undefined,
    ...(errA ? { ours_error: errA.error } : {}),
    ...(errB ? { torch_error: errB.error } : {}),
  };
  rows.push(row);
  const spread = rounds > 1 && ratios.length > 1 ? ` (${fmt(row.ratio_min, 2)}-${fmt(row.ratio_max, 2)} over ${ratios.length} rounds)` : '';
  console.log(
    `${c.name.padEnd(11)} ours ${fmt(row.ours_s)} s  torch ${fmt(row.torch_s)} s  ratio ${fmt(row.ratio, 2)}${spread}  ` +
      `rss ours ${fmt(row.ours_rss_mib, 0)} MiB torch ${fmt(row.torch_rss_mib, 0)} MiB  (${row.backend ?? row.ours_error})` +
      (row.ours_first_step_s !== undefined ? `  first step after ${fmt(row.ours_first_step_s, 1)} s` : '') +
      (row.torch_error ? `  torch: ${row.torch_error}` : ''),
  );
}
if (values.json) writeFileSync(values.json, JSON.stringify({ machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, torch_malloc: values['torch-malloc'], rounds, rows }, null, 2) + '\n');
