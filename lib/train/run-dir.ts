/**
 * The run directory: everything a run writes, in one place.
 *
 *   config.json     written first: the full TrainConfig with the format tag
 *                   {"format": "pix2pix-ts/run", "formatVersion": 1}, which
 *                   is what makes a folder a run directory
 *   train.lock      while `pix2pix train` runs: who (lib/io/lock.ts)
 *   model.json      the networks it names: parameters, shapes, receptive fields
 *   checkpoint/     the latest checkpoint (see docs/checkpoints.md)
 *   losses.jsonl    one record per step (and one per sample, with valL1)
 *   samples/        the latest input / output / target triplets
 *   index.html      the report: loss curves and samples
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { findCheckpoint, type CheckpointVersion } from '../io/checkpoint.ts';
import { errnoOf } from '../io/errors.ts';
import { appendText, writeFileAtomic } from '../io/file.ts';
import { staleTmpsIn } from '../io/tmp.ts';
import { summarize } from '../core/analysis.ts';
import { decodeConfig, type TrainConfig } from './config.ts';
import { parseRunConfig, RUN_FORMAT, runConfigText, RunError } from './run-config.ts';
import { discriminatorsOf, dShapeOf, type Pix2PixSpec } from './state.ts';

export { RUN_FORMAT, RUN_FORMAT_VERSION, RunError } from './run-config.ts';

export const runPaths = (dir: string) => ({
  dir,
  config: join(dir, 'config.json'),
  lock: join(dir, 'train.lock'),
  model: join(dir, 'model.json'),
  checkpoint: join(dir, 'checkpoint'),
  losses: join(dir, 'losses.jsonl'),
  samples: join(dir, 'samples'),
  report: join(dir, 'index.html'),
});

/**
 * What a folder is, for `train --out`: missing, empty (nothing but a lock
 * or temporary files a dead process left), a run directory, a folder of
 * something else (its entries), or not a folder at all.
 */
export type RunDirKind = { kind: 'missing' } | { kind: 'empty' } | { kind: 'run' } | { kind: 'foreign'; entries: string[] } | { kind: 'file' };

const parseJson = async (path: string): Promise<unknown> => JSON.parse(await readFile(path, 'utf8'));

/** A config.json is a run's if it has the format tag, or (runs from before the tag) decodes as a TrainConfig. */
const isRunConfig = (json: unknown): boolean =>
  typeof json === 'object' && json !== null && ((json as { format?: unknown }).format === RUN_FORMAT || ((json as { format?: unknown }).format === undefined && E.isRight(decodeConfig(json))));

export const inspectRunDir = async (dir: string): Promise<RunDirKind> => {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory()) return { kind: 'file' };
    entries = await readdir(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return { kind: 'missing' };
    throw e;
  }
  const stale = new Set(staleTmpsIn(dir).map((p) => basename(p)));
  const own = entries.filter((n) => n !== 'train.lock' && !stale.has(n));
  if (own.length === 0) return { kind: 'empty' };
  if (own.includes('config.json')) {
    const json = await parseJson(join(dir, 'config.json')).catch(() => undefined);
    if (isRunConfig(json)) return { kind: 'run' };
  }
  return { kind: 'foreign', entries: own.sort() };
};

export const writeConfig = async (dir: string, config: TrainConfig): Promise<void> => {
  await writeFileAtomic(runPaths(dir).config, runConfigText(config), { durable: true });
};

/** model.json: the networks the run names, their parameters, output shapes and receptive fields. */
export const writeModel = (dir: string, c: TrainConfig, spec: Pix2PixSpec): Promise<void> => {
  const brief = (layer: Pix2PixSpec['generator'], shape: Parameters<typeof summarize>[1]) => {
    const s = summarize(layer, shape);
    return E.isRight(s) ? { params: s.right.params, outputShape: s.right.output, receptiveField: s.right.receptiveField } : null;
  };
  const model = {
    generator: { preset: c.generator, ...brief(spec.generator, spec.inputShape) },
    discriminator: (() => {
      const ds = discriminatorsOf(spec).map((d) => brief(d, dShapeOf(spec)));
      if (ds.length <= 1) return { preset: c.discriminator, ...ds[0] };
      return { preset: c.discriminator, ...ds[0], params: ds.reduce((n, d) => n + (d?.params ?? 0), 0), scales: ds };
    })(),
    objective: c.objective,
  };
  return writeFileAtomic(runPaths(dir).model, `${JSON.stringify(model, null, 2)}\n`);
};

export const readConfig = async (dir: string): Promise<TrainConfig> => {
  const path = runPaths(dir).config;
  if (!existsSync(path)) throw new RunError(`${dir} is not a run directory: it has no config.json`);
  return parseRunConfig(await readFile(path, 'utf8'), path, dir);
};

/** The newest complete checkpoint of a run (also after a crash in the middle of saving one), if it has one. */
export const runCheckpoint = (dir: string): Promise<CheckpointVersion | undefined> => findCheckpoint(runPaths(dir).checkpoint);

const lines = (records: readonly object[]): string => records.map((r) => JSON.stringify(r)).join('\n') + (records.length > 0 ? '\n' : '');

/** Append loss records; `durable` fsyncs them (before a checkpoint, so none a checkpoint covers can be lost). */
export const appendLosses = (dir: string, records: readonly object[], opts: { durable?: boolean } = {}): Promise<void> =>
  records.length === 0 ? Promise.resolve() : appendText(runPaths(dir).losses, lines(records), opts);

/** The records of a losses.jsonl text; a line a crash cut short is left out. */
const parseLosses = (text: string): Array<Record<string, number>> =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, number>];
      } catch {
        return []; // a line cut by a crash
      }
    });

const readLossText = async (dir: string): Promise<string> => (existsSync(runPaths(dir).losses) ? readFile(runPaths(dir).losses, 'utf8') : '');

export const readLosses = async (dir: string): Promise<Array<Record<string, number>>> => parseLosses(await readLossText(dir));

/**
 * Keep the records of steps 0..step (what the checkpoint a run resumes from
 * covers) and drop the rest: records written after it by a run that then
 * crashed, and a line the crash cut short. Returns how many were dropped.
 */
export const trimLosses = async (dir: string, step: number): Promise<number> => {
  const text = await readLossText(dir);
  const all = parseLosses(text);
  const kept = all.filter((r) => (r['step'] ?? 0) <= step);
  if (text === lines(kept)) return 0;
  await writeFileAtomic(runPaths(dir).losses, lines(kept), { durable: true });
  return all.length - kept.length;
};

/** Delete the temporary files a killed run left in its folder and in samples/. */
export const removeLeftovers = async (dir: string): Promise<void> => {
  for (const p of [...staleTmpsIn(dir), ...staleTmpsIn(runPaths(dir).samples)]) await rm(p, { recursive: true, force: true });
};
