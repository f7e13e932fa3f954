/** `pix2pix eval`: image-quality, colour and segmentation scores of a trained run over a split. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as t from 'io-ts';
import { checkBackend, useBackend } from '../backend/index.ts';
import { evaluateRun, type EvalReport } from '../metrics/evaluate.ts';
import { LAB_CHANNELS } from '../metrics/histogram.ts';
import { PALETTES } from '../metrics/palette.ts';
import type { SegmentationScores } from '../metrics/segmentation.ts';
import { cliPhrasing, decodeFlags, oneOf, positiveIntFromString, UsageError, backendFlag } from './flags.ts';

const paletteNames = Object.keys(PALETTES) as [string, ...string[]];

export const evalHelp = `pix2pix eval --run DIR --data DIR [options]

  --run DIR|ZIP      a run directory written by 'pix2pix train', or a run archive ('pix2pix export')
  --data DIR         the dataset folder (layout, direction and channels come from the run's config)
  --split NAME       which split (default test; val or train also work)
  --max N            at most the first N pairs (default all)
  --seed N           the dropout noise (default 0): pair i uses seed + i, as 'pix2pix test'
  --mode MODE        paper (default) or eval
  --json FILE        also write every score (per image and aggregate) as one JSON object ('-': to stdout, no table)
  --labels PALETTE   the targets are label maps (${paletteNames.join(', ')}): score the outputs as segmentations
  --segmenter RUN    a photo -> labels run (facades: trained --direction AtoB): FCN-style scores of the
                     outputs against the input label maps (facades palette)
  --backend NAME     auto (default), tensorflow, webgpu, native, wasm, cpu

Scores: L1 and L2 (MSE) on [-1, 1] pixel values; PSNR (dB) and SSIM on images
mapped to [0, 1]; Lab histogram intersection and KL(targets || outputs) per
channel; segmentation per-pixel accuracy, per-class accuracy and mean IoU.
See docs/metrics.md.`;

const Flags = t.exact(
  t.partial({
    run: t.string,
    data: t.string,
    split: t.string,
    max: positiveIntFromString,
    seed: t.string,
    mode: oneOf(['paper', 'eval']),
    json: t.string,
    labels: oneOf(paletteNames),
    segmenter: t.string,
    backend: backendFlag,
  }),
);
const s = { type: 'string' } as const;
const options = { run: s, data: s, split: s, max: s, seed: s, mode: s, json: s, labels: s, segmenter: s, backend: s } as const;

/** JSON has no Infinity or NaN (a PSNR of identical images, a score of an empty class set): they are written as null. */
export const reportJson = (report: EvalReport & { backend?: string }): string =>
  JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);

const fmt = (v: number | null, digits = 4): string => (v === null || Number.isNaN(v) ? '-' : v === Infinity ? 'inf' : v.toFixed(digits));

/** Left-aligned first column, the rest right-aligned, a rule under the header. */
const table = (head: readonly string[], rows: readonly (readonly string[])[]): string[] => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
};

const segLine = (s: SegmentationScores): string[] => [fmt(s.pixelAccuracy), fmt(s.meanClassAccuracy), fmt(s.meanIoU)];

const perClassTable = (s: SegmentationScores): string[] =>
  table(
    ['class', 'truth px', 'predicted px', 'accuracy', 'IoU'],
    s.perClass.map((c) => [c.name, String(c.truthPixels), String(c.predictedPixels), fmt(c.accuracy), fmt(c.iou)]),
  );

/** The report as the readable tables `pix2pix eval` prints. */
export const formatReport = (r: EvalReport): string[] => {
  const lines: string[] = [];
  const seg = r.segmentation !== undefined;
  const fcn = r.fcn !== undefined;
  const head = ['image', 'L1', 'L2', 'PSNR dB', 'SSIM', ...(seg ? ['seg acc', 'seg mIoU'] : []), ...(fcn ? ['FCN acc', 'FCN mIoU'] : [])];
  const rows = r.images.map((im) => [
    im.name,
    fmt(im.l1),
    fmt(im.l2),
    fmt(im.psnr, 2),
    fmt(im.ssim),
    ...(im.segmentation ? [fmt(im.segmentation.pixelAccuracy), fmt(im.segmentation.meanIoU)] : []),
    ...(im.fcn ? [fmt(im.fcn.pixelAccuracy), fmt(im.fcn.meanIoU)] : []),
  ]);
  const all = [
    'all',
    fmt(r.mean.l1),
    fmt(r.mean.l2),
    fmt(r.mean.psnr, 2),
    fmt(r.mean.ssim),
    ...(r.segmentation ? [fmt(r.segmentation.scores.pixelAccuracy), fmt(r.segmentation.scores.meanIoU)] : []),
    ...(r.fcn ? [fmt(r.fcn.generated.pixelAccuracy), fmt(r.fcn.generated.meanIoU)] : []),
  ];
  lines.push(...table(head, [...rows, all]));
  lines.push(seg || fcn ? '(all: the mean over images; seg and FCN columns: from the confusion matrix summed over images)' : '(all: the mean over images)');
  const terms = Object.entries(r.terms);
  if (terms.length > 0) lines.push('', `the run's objective (terms without a discriminator, unweighted, mean): ${terms.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  lines.push('', 'colour: Lab histograms of the outputs vs the targets');
  lines.push(...table(['channel', 'intersection', 'KL(targets||outputs)'], LAB_CHANNELS.map((c) => [c, fmt(r.lab.channels[c].intersection), fmt(r.lab.channels[c].kl)])));
  if (r.segmentation) {
    lines.push('', `segmentation: the outputs read as ${r.segmentation.palette} labels vs the target label maps`);
    lines.push(...table(['', 'per-pixel acc', 'per-class acc', 'mean IoU'], [['outputs', ...segLine(r.segmentation.scores)]]));
    lines.push('', ...perClassTable(r.segmentation.scores));
  }
  if (r.fcn) {
    lines.push('', `FCN-style score: ${r.fcn.segmenter} segments the photos, vs the input label maps (${r.fcn.palette})`);
    lines.push(...table(['photos', 'per-pixel acc', 'per-class acc', 'mean IoU'], [['generated', ...segLine(r.fcn.generated)], ['real', ...segLine(r.fcn.real)]]));
  }
  for (const w of r.warnings) lines.push('', `warning: ${w}`);
  return lines;
};

export const evalCommand = async (argv: readonly string[], out: (line: string) => void): Promise<void> => {
  const f = decodeFlags(argv, options, Flags);
  if (f.run === undefined) throw new UsageError('--run is required');
  if (f.data === undefined) throw new UsageError('--data is required');
  if (f.seed !== undefined && !/^\d+$/.test(f.seed)) throw new UsageError(`--seed: expected a non-negative integer, got "${f.seed}"`);
  const backend = await useBackend(f.backend ?? 'auto', { quiet: true });
  const toStdout = f.json === '-';
  const report = await evaluateRun({
    phrasing: cliPhrasing,
    run: f.run,
    data: f.data,
    split: f.split ?? 'test',
    ...(f.max !== undefined && { max: f.max }),
    seed: Number(f.seed ?? 0),
    mode: f.mode ?? 'paper',
    ...(f.labels !== undefined && { labels: PALETTES[f.labels]! }),
    ...(f.segmenter !== undefined && { segmenter: f.segmenter }),
  });
  checkBackend(`eval of ${f.run}`); // before any score is printed
  const json = reportJson({ ...report, backend: backend.name });
  if (toStdout) {
    out(json);
    return;
  }
  out(`evaluated ${f.run} on ${report.data}: ${report.count} pairs, ${report.direction}, ${report.size.join('x')}, mode ${report.mode}, seed ${report.seed}, backend ${backend.name}`);
  out('');
  for (const l of formatReport(report)) out(l);
  if (f.json !== undefined) {
    await mkdir(dirname(f.json), { recursive: true });
    await writeFile(f.json, `${json}\n`);
    out('');
    out(`json: ${f.json}`);
  }
};
