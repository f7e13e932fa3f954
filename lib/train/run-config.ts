/**
 * A run's config.json as text: the TrainConfig with the format tag
 * {"format": "pix2pix-ts/run", "formatVersion": 1}. Written and read the
 * same way from a run directory (lib/train/run-dir.ts) and from a run
 * archive or a browser's files; no file system here.
 */
import * as E from 'fp-ts/lib/Either.js';
import { decodeConfig, type TrainConfig } from './config.ts';

export const RUN_FORMAT = 'pix2pix-ts/run';
export const RUN_FORMAT_VERSION = 1;

/** A run directory or its files are missing or invalid. */
export class RunError extends Error {
  override readonly name = 'RunError';
}

/** config.json's text for `config`. */
export const runConfigText = (config: TrainConfig): string =>
  `${JSON.stringify({ format: RUN_FORMAT, formatVersion: RUN_FORMAT_VERSION, ...config }, null, 2)}\n`;

/**
 * The TrainConfig in config.json's `text`; `path` names the file in
 * messages and `run` the run (a directory, an archive). Every failure is a
 * RunError.
 */
export const parseRunConfig = (text: string, path: string, run: string): TrainConfig => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RunError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new RunError(`${path}: not a run's config (expected a JSON object)`);
  const { format, formatVersion, ...config } = json as Record<string, unknown>;
  if (format !== undefined && format !== RUN_FORMAT) throw new RunError(`${path}: its format is ${JSON.stringify(format)}, not '${RUN_FORMAT}': ${run} is not a run`);
  if (typeof formatVersion === 'number' && formatVersion > RUN_FORMAT_VERSION)
    throw new RunError(`${path}: run format version ${formatVersion} is newer than this pix2pix-ts reads (${RUN_FORMAT_VERSION}): use a newer pix2pix-ts`);
  const decoded = decodeConfig(config);
  if (E.isLeft(decoded)) throw new RunError(`${path}: ${decoded.left}`);
  return decoded.right;
};
