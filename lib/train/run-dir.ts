/**
 * The run directory: everything a run writes, in one place.
 *
 *   config.json     the full TrainConfig (decoded with io-ts on load)
 *   model.json      the networks it names: parameters, shapes, receptive fields
 *   checkpoint/     the latest checkpoint (see docs/checkpoints.md)
 *   losses.jsonl    one line of losses per step
 *   samples/        the latest input / output / target triplets
 *   index.html      the report: loss curves and samples
 */
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { decodeConfig, type TrainConfig } from './config.ts';

export const runPaths = (dir: string) => ({
  dir,
  config: join(dir, 'config.json'),
  model: join(dir, 'model.json'),
  checkpoint: join(dir, 'checkpoint'),
  losses: join(dir, 'losses.jsonl'),
  samples: join(dir, 'samples'),
  report: join(dir, 'index.html'),
});

/** A run directory or its files are missing or invalid. */
export class RunError extends Error {
  override readonly name = 'RunError';
}

/** Write via a temp file and a rename, so a reader never sees half a file. */
export const writeFileAtomic = async (path: string, content: string): Promise<void> => {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content);
  await rename(tmp, path);
};

export const writeConfig = async (dir: string, config: TrainConfig): Promise<void> => {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(runPaths(dir).config, `${JSON.stringify(config, null, 2)}\n`);
};

export const readConfig = async (dir: string): Promise<TrainConfig> => {
  const path = runPaths(dir).config;
  if (!existsSync(path)) throw new RunError(`${dir} is not a run directory: it has no config.json`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new RunError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const decoded = decodeConfig(json);
  if (E.isLeft(decoded)) throw new RunError(`${path}: ${decoded.left}`);
  return decoded.right;
};

export const hasCheckpoint = (dir: string): boolean => existsSync(join(runPaths(dir).checkpoint, 'manifest.json'));

export const appendLosses = (dir: string, records: readonly object[]): Promise<void> =>
  records.length === 0 ? Promise.resolve() : appendFile(runPaths(dir).losses, records.map((r) => JSON.stringify(r)).join('\n') + '\n');

export const readLosses = async (dir: string): Promise<Array<Record<string, number>>> => {
  const path = runPaths(dir).losses;
  if (!existsSync(path)) return [];
  return (await readFile(path, 'utf8'))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, number>];
      } catch {
        return []; // a line cut by a crash
      }
    });
};
