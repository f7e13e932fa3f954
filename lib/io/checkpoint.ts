/**
 * Checkpoints: named parameter/state trees and JSON metadata in a directory.
 *
 * A checkpoint directory holds two files (see docs/checkpoints.md):
 *
 * - `manifest.json` — `{ format: 'pix2pix-ts/checkpoint', formatVersion: 1,
 *   libraryVersion, createdAt, meta, tensors, weightsFile: 'weights.bin',
 *   byteLength, sha256, structure }`. `tensors` lists every tensor as
 *   `{ tree, path, shape, dtype, offset, byteLength }`: trees in sorted name
 *   order, and within a tree in `flatten` order (paths like `1/0/w`).
 *   `structure` maps each tree name to its skeleton (`null` for a tensor,
 *   arrays and records as themselves), so trees come back with the same
 *   arrays, records and empty subtrees.
 * - `weights.bin` — the tensors' elements, back to back in manifest order
 *   with no header, no padding and no alignment gaps: tensor *i* occupies
 *   bytes `[offset_i, offset_i + byteLength_i)`, `offset_0 = 0`,
 *   `offset_{i+1} = offset_i + byteLength_i`, `byteLength_i = 4 · ∏ shape_i`.
 *   Elements are row-major (C order, the last axis fastest), each a
 *   little-endian IEEE-754 binary32 (`float32`) or two's-complement int32
 *   (`int32`), whatever the host's byte order. `sha256` is the hex SHA-256
 *   of the whole file and `byteLength` its size.
 *
 * Saving is atomic (see `atomic.ts`): a crash leaves the old checkpoint or
 * the new one, never a mixture; loading falls back to `<dir>.old`, the
 * backup a save keeps while it swaps, when `<dir>` itself is missing.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { writeDirAtomically, writeDirAtomicallySync, type StepHook } from './atomic.ts';
import { manifestText, planCheckpoint, storedBytes, type CheckpointContents, type Plan } from './checkpoint-plan.ts';
import { writeFileDurably, type OpenFile, type Protocol } from './effects.ts';
import { errnoOf, WriteError } from './errors.ts';
import { MANIFEST_FILE, WEIGHTS_FILE } from './manifest.ts';

export { CheckpointError, WriteError } from './errors.ts';
export type { SaveStep } from './atomic.ts';
export { FORMAT as CHECKPOINT_FORMAT, FORMAT_VERSION as CHECKPOINT_FORMAT_VERSION } from './manifest.ts';
export { loadCheckpoint, findCheckpoint, settleCheckpoint, type CheckpointVersion } from './checkpoint-load.ts';

export type { CheckpointContents } from './checkpoint-plan.ts';

export interface SaveOptions {
  /**
   * Called at each stage of the save (`weights-written`, `written`,
   * `old-moved`, `new-in-place`, `done`). For crash tests: a hook can
   * snapshot the disk, or throw to make the save fail at that point.
   */
  readonly onStep?: StepHook;
}

// ------------------------------------------------------------------ save

/** The checkpoint's files, written into the temporary directory `tmp`: weights (one tensor's data at a time), then the manifest. */
const fillCheckpoint = (target: string, plan: Plan, onStep?: StepHook) =>
  function* (tmp: string): Protocol<void> {
    const hash = createHash('sha256');
    const file = (yield { op: 'open', path: path.join(tmp, WEIGHTS_FILE), flags: 'wx' }) as OpenFile;
    try {
      for (const entry of plan.tensors) {
        const bytes = storedBytes(target, entry, (yield { op: 'data', tensor: entry.tensor }) as ArrayBufferView);
        hash.update(bytes);
        yield { op: 'write', file, bytes };
      }
      yield { op: 'fsync', file };
    } finally {
      yield { op: 'close', file };
    }
    onStep?.('weights-written');
    yield* writeFileDurably(path.join(tmp, MANIFEST_FILE), [manifestText(plan, hash.digest('hex'))]);
  };

/** File-system errors of a save, as a WriteError naming the checkpoint; other errors as they are. */
function asWriteError(dir: string, save: () => Promise<void>): Promise<void>;
function asWriteError(dir: string, save: () => void): void;
function asWriteError(dir: string, save: () => Promise<void> | void): Promise<void> | void {
  const wrap = (e: unknown): never => {
    if (errnoOf(e) === undefined) throw e;
    // The file the system refused, if it is one of the checkpoint's (not its temporary folder).
    const file = (e as { path?: unknown }).path;
    const which = typeof file === 'string' && [WEIGHTS_FILE, MANIFEST_FILE].includes(path.basename(file)) ? ` (${path.basename(file)})` : '';
    throw new WriteError(path.resolve(dir), e, `checkpoint ${dir}${which}`);
  };
  try {
    const r = save();
    return r instanceof Promise ? r.catch(wrap) : r;
  } catch (e) {
    return wrap(e);
  }
}

/**
 * Save trees and metadata to the directory `dir`, atomically: `dir` holds
 * the previous checkpoint until the new one is complete and fsynced. The
 * parent directory is created if needed. `dir` may be missing, empty, or a
 * previous checkpoint; any other existing directory is refused.
 *
 * Tensor data is read with `await t.data()`, one tensor at a time, so the
 * tensors must not be disposed until the returned promise settles. Saves to
 * the same directory from this process run one after another.
 * A `CheckpointError` reports invalid contents; a `WriteError` a file
 * system that failed (ENOSPC, EACCES, ...), naming `dir`: the previous
 * checkpoint is then as it was and the temporary directory is gone.
 */
export async function saveCheckpoint(dir: string, contents: CheckpointContents, options: SaveOptions = {}): Promise<void> {
  const target = path.resolve(dir);
  const plan = planCheckpoint(target, contents);
  await asWriteError(dir, () => writeDirAtomically(dir, fillCheckpoint(target, plan, options.onStep), options.onStep));
}

/**
 * `saveCheckpoint` with `dataSync()` and synchronous file I/O, for places
 * that cannot await (a SIGINT handler). Same layout, same atomic swap, the
 * same protocol run by the other driver. It throws if an async save to the
 * same directory is still running.
 */
export function saveCheckpointSync(dir: string, contents: CheckpointContents, options: SaveOptions = {}): void {
  const target = path.resolve(dir);
  const plan = planCheckpoint(target, contents);
  asWriteError(dir, () => writeDirAtomicallySync(dir, fillCheckpoint(target, plan, options.onStep), options.onStep));
}
