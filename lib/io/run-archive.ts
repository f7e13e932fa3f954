/**
 * A run as one file: a zip of the files a run directory holds for a model —
 * config.json, checkpoint/manifest.json and checkpoint/weights.bin — the
 * form a browser downloads and a file picker gives back. Unzipped, it is a
 * run directory; `pix2pix translate --run FILE.zip` reads it as it is. No
 * file system here (pix2pix-ts/node reads and writes it on disk).
 */
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import type { CheckpointFiles } from './checkpoint-bytes.ts';
import { MANIFEST_FILE, WEIGHTS_FILE } from './manifest.ts';

export const RUN_ARCHIVE_CONFIG = 'config.json';
export const RUN_ARCHIVE_MANIFEST = `checkpoint/${MANIFEST_FILE}`;
export const RUN_ARCHIVE_WEIGHTS = `checkpoint/${WEIGHTS_FILE}`;

export interface RunFiles {
  /** config.json's text (a TrainConfig with the run format tag). */
  readonly config: string;
  readonly checkpoint: CheckpointFiles;
}

/** A run archive that cannot be read: not a zip, or without one of the three files. */
export class RunArchiveError extends Error {
  override readonly name = 'RunArchiveError';
}

/** A run's files as a zip (stored, not compressed: weights barely compress). */
export const encodeRunArchive = (run: RunFiles): Uint8Array =>
  zipSync(
    {
      [RUN_ARCHIVE_CONFIG]: strToU8(run.config),
      [RUN_ARCHIVE_MANIFEST]: strToU8(run.checkpoint.manifest),
      [RUN_ARCHIVE_WEIGHTS]: run.checkpoint.weights,
    },
    { level: 0 },
  );

/**
 * A run's files from a zip's bytes; `name` is what messages call it. The
 * files may sit at the top of the zip or in one folder (a run directory
 * zipped by hand: NAME/config.json ...).
 */
export const decodeRunArchive = (bytes: Uint8Array, name = 'run archive'): RunFiles => {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new RunArchiveError(`${name}: not a zip file (${e instanceof Error ? e.message : String(e)}); a run archive is a zip of config.json and checkpoint/`, { cause: e });
  }
  const names = Object.keys(entries).filter((n) => !n.endsWith('/'));
  const configs = names.filter((n) => n === RUN_ARCHIVE_CONFIG || /^[^/]+\/config\.json$/.test(n));
  if (configs.length !== 1) {
    const why = configs.length === 0 ? 'it has no config.json' : `it has several: ${configs.join(', ')}`;
    throw new RunArchiveError(`${name}: ${why}; a run archive holds config.json, ${RUN_ARCHIVE_MANIFEST} and ${RUN_ARCHIVE_WEIGHTS} (it has ${names.slice(0, 6).join(', ') || 'nothing'})`);
  }
  const prefix = configs[0]!.slice(0, -RUN_ARCHIVE_CONFIG.length);
  const file = (path: string): Uint8Array => {
    const found = entries[prefix + path];
    if (found === undefined) throw new RunArchiveError(`${name}: it has no ${prefix + path} (a run archive holds config.json, ${RUN_ARCHIVE_MANIFEST} and ${RUN_ARCHIVE_WEIGHTS}): was the run checkpointed?`);
    return found;
  };
  return { config: strFromU8(file(RUN_ARCHIVE_CONFIG)), checkpoint: { manifest: strFromU8(file(RUN_ARCHIVE_MANIFEST)), weights: file(RUN_ARCHIVE_WEIGHTS) } };
};
