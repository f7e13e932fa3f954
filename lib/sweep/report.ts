/**
 * `sweep report`: every finished run scored on a held-out split (as
 * `pix2pix eval`), grouped by variant (the run's varied fields other than
 * its seed), and each metric's mean ± sample std over the seeds: the
 * paper's tables as Markdown, JSON and an HTML page with the runs' sample
 * outputs side by side.
 *
 * A run's scores are kept in report/evals/NAME.json with what they were
 * computed from (the eval options and when the run finished), so a report
 * made again scores only what is new.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { useBackend, checkBackend, type BackendChoice } from '../backend/index.ts';
import { writeFileAtomic } from '../io/file.ts';
import { evaluateRun } from '../metrics/evaluate.ts';
import { escapeHtml } from '../report/svg.ts';
import { runState, sweepPaths } from './runs.ts';
import { runName, type SweepEval, type SweepRun } from './sweep.ts';

/** The metrics a report shows, in column order: [key, heading, digits, better]. */
export const REPORT_METRICS = [
  ['l1', 'L1', 4, 'lower'],
  ['l2', 'L2', 4, 'lower'],
  ['psnr', 'PSNR dB', 2, 'higher'],
  ['ssim', 'SSIM', 4, 'higher'],
  ['labL', 'L ∩', 3, 'higher'],
  ['labA', 'a ∩', 3, 'higher'],
  ['labB', 'b ∩', 3, 'higher'],
] as const;
export type MetricKey = (typeof REPORT_METRICS)[number][0];
export type RunScores = Readonly<Record<MetricKey, number>>;

export interface Stat {
  readonly mean: number;
  /** Sample standard deviation (n - 1); null for a single run. */
  readonly std: number | null;
  readonly values: readonly number[];
}

/** Mean and sample standard deviation. */
export const meanStd = (values: readonly number[]): Stat => {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1));
  return { mean, std, values };
};

export interface VariantRow {
  readonly name: string;
  readonly runs: readonly string[];
  readonly seeds: readonly number[];
  readonly metrics: Readonly<Record<MetricKey, Stat>>;
}

/** Runs grouped by their overrides less the seed, in the sweep's order of first appearance. */
export const groupVariants = (runs: ReadonlyArray<{ readonly run: SweepRun; readonly scores: RunScores }>): VariantRow[] => {
  const groups = new Map<string, Array<{ run: SweepRun; scores: RunScores }>>();
  for (const r of runs) {
    const { seed: _seed, ...rest } = r.run.overrides;
    const key = runName(rest);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups].map(([name, members]) => ({
    name,
    runs: members.map((m) => m.run.name),
    seeds: members.map((m) => (m.run.config._tag === 'Right' ? m.run.config.right.seed : Number(m.run.overrides['seed'] ?? 0))),
    metrics: Object.fromEntries(REPORT_METRICS.map(([k]) => [k, meanStd(members.map((m) => m.scores[k]))])) as Record<MetricKey, Stat>,
  }));
};

const show = (s: Stat, digits: number): string => (s.std === null ? s.mean.toFixed(digits) : `${s.mean.toFixed(digits)} ± ${s.std.toFixed(digits)}`);

export const markdownOf = (rows: readonly VariantRow[]): string => {
  const head = ['variant', 'runs', ...REPORT_METRICS.map(([, h, , b]) => `${h} ${b === 'lower' ? '↓' : '↑'}`)];
  const lines = [head, head.map(() => '---'), ...rows.map((r) => [r.name, String(r.runs.length), ...REPORT_METRICS.map(([k, , d]) => show(r.metrics[k], d))])];
  return lines.map((l) => `| ${l.join(' | ')} |`).join('\n');
};

export interface ReportOptions {
  readonly out: string;
  readonly runs: readonly SweepRun[];
  readonly eval: SweepEval;
  readonly backend?: BackendChoice;
  readonly log?: (line: string) => void;
}

interface Cached {
  readonly key: string;
  readonly scores: RunScores;
  readonly count: number;
  readonly split: string;
  readonly data: string;
}

const scoreRun = async (out: string, run: SweepRun, ev: SweepEval, finishedAt: string): Promise<Cached> => {
  const config = (run.config as { right: import('../train/config.ts').TrainConfig }).right;
  const data = ev.data ?? config.data;
  const split = ev.split ?? (existsSync(join(data, config.valSplit)) ? config.valSplit : 'test');
  const range = ev.range === undefined ? undefined : ([ev.range[0], ev.range[1] === 0 ? undefined : ev.range[1]] as const);
  const key = JSON.stringify({ data, split, range: ev.range ?? null, max: ev.max ?? null, mode: ev.mode ?? 'paper', finishedAt });
  const cacheFile = join(sweepPaths(out).report, 'evals', `${run.name}.json`);
  if (existsSync(cacheFile)) {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as Cached;
    if (cached.key === key) return cached;
  }
  const dir = sweepPaths(out).run(run.name);
  const r = await evaluateRun({ run: dir, data, split, ...(range ? { range } : {}), ...(ev.max ? { max: ev.max } : {}), mode: ev.mode ?? 'paper', seed: 0 });
  checkBackend(`eval of ${dir}`);
  const c = r.lab.channels;
  const scores: RunScores = { l1: r.mean.l1, l2: r.mean.l2, psnr: r.mean.psnr, ssim: r.mean.ssim, labL: c.L.intersection, labA: c.a.intersection, labB: c.b.intersection };
  const cached: Cached = { key, scores, count: r.count, split, data };
  await mkdir(join(sweepPaths(out).report, 'evals'), { recursive: true });
  await writeFileAtomic(cacheFile, `${JSON.stringify(cached, null, 2)}\n`);
  return cached;
};

/** The first few sample outputs of a run, relative to the report folder. */
const samplesOf = async (out: string, name: string, n: number): Promise<string[]> => {
  const dir = join(sweepPaths(out).run(name), 'samples');
  if (!existsSync(dir)) return [];
  const files = (await readdir(dir)).filter((f) => f.endsWith('-output.png')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).slice(0, n);
  return files.map((f) => relative(sweepPaths(out).report, join(dir, f)));
};

const htmlOf = async (out: string, rows: readonly VariantRow[], markdown: string, facts: string): Promise<string> => {
  const cols = await Promise.all(rows.map(async (r) => ({ name: r.name, images: await samplesOf(out, r.runs[0]!, 4) })));
  const first = cols.find((c) => c.images.length > 0)?.images ?? [];
  const side = (kind: 'input' | 'target') => first.map((p) => p.replace(/-output\.png$/, `-${kind}.png`));
  const columns = [{ name: 'input', images: side('input') }, ...cols, { name: 'target', images: side('target') }];
  const table = markdown
    .split('\n')
    .filter((_, i) => i !== 1)
    .map((l, i) => `<tr>${l.slice(2, -2).split(' | ').map((c) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`)
    .join('\n');
  const grid = first
    .map((_, i) => `<tr>${columns.map((c) => `<td>${c.images[i] ? `<img src="${escapeHtml(c.images[i]!)}" width="128">` : ''}</td>`).join('')}</tr>`)
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>sweep ${escapeHtml(out)}</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}img{image-rendering:pixelated}</style>
</head><body>
<h1>Sweep ${escapeHtml(out)}</h1>
<p>${escapeHtml(facts)}</p>
<table>
${table}
</table>
<h2>Samples (the first seed of each variant)</h2>
<table>
<tr>${columns.map((c) => `<th>${escapeHtml(c.name)}</th>`).join('')}</tr>
${grid}
</table>
</body></html>
`;
};

export interface SweepReport {
  readonly rows: readonly VariantRow[];
  readonly markdown: string;
  readonly files: readonly string[];
  /** Runs not in the table (not finished, failed, invalid). */
  readonly missing: readonly string[];
}

export const sweepReport = async (o: ReportOptions): Promise<SweepReport> => {
  const log = o.log ?? ((l: string) => console.error(l));
  await useBackend(o.backend ?? 'auto', { quiet: true });
  const scored: Array<{ run: SweepRun; scores: RunScores; cached: Cached }> = [];
  const missing: string[] = [];
  for (const run of o.runs) {
    const st = await runState(o.out, run);
    if (st.kind !== 'done') {
      missing.push(run.name);
      continue;
    }
    const cached = await scoreRun(o.out, run, o.eval, st.done.at);
    scored.push({ run, scores: cached.scores, cached });
  }
  if (scored.length === 0) throw new Error(`${o.out}: no run of the sweep has finished yet (pix2pix sweep status --out ${o.out})`);
  const rows = groupVariants(scored);
  const head = scored[0]!.cached;
  const facts = `${scored.length} runs scored on ${head.count} pairs of ${join(head.data, head.split)}${o.eval.range ? ` [${o.eval.range.join(', ')})` : ''} (mode ${o.eval.mode ?? 'paper'}); mean ± sample std over the runs of each variant${missing.length > 0 ? `; not finished: ${missing.join(', ')}` : ''}`;
  const markdown = `${markdownOf(rows)}\n\n${facts}`;
  const dir = sweepPaths(o.out).report;
  await mkdir(dir, { recursive: true });
  const files = [join(dir, 'report.md'), join(dir, 'report.json'), join(dir, 'index.html')];
  await writeFileAtomic(files[0]!, `${markdown}\n`);
  const json = { out: o.out, eval: o.eval, variants: rows, runs: scored.map((s) => ({ name: s.run.name, overrides: s.run.overrides, scores: s.scores, pairs: s.cached.count })), missing };
  await writeFileAtomic(files[1]!, `${JSON.stringify(json, null, 2)}\n`);
  await writeFileAtomic(files[2]!, await htmlOf(o.out, rows, markdownOf(rows), facts));
  if (missing.length > 0) log(`not in the table (not finished): ${missing.join(', ')}`);
  return { rows, markdown, files, missing };
};
