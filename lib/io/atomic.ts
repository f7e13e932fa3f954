/**
 * Replacing a directory so that a crash never leaves a half-written one.
 *
 * Everything is written into a sibling temporary directory
 * `<dir>.tmp-<pid>-<random>` and made durable (each file is fsynced by the
 * `fill` callback, then the directory itself); only then is it swapped in:
 *
 *   1. `rename(dir, dir.old)`   the previous version becomes the backup
 *   2. `rename(tmp, dir)`       the new version is in place
 *   3. `rm -r dir.old`          the backup goes
 *
 * with the parent directory fsynced after each rename. A crash leaves:
 *
 * | crash ...                      | on disk                                | `dir` reads as      |
 * |--------------------------------|----------------------------------------|---------------------|
 * | while writing tmp (or before 1)| `dir` (old), partial tmp               | old                 |
 * | between 1 and 2                | `dir.old` (old), complete tmp          | old, from `dir.old` |
 * | between 2 and 3, or during 3   | `dir` (new), `dir.old` (old, partial)  | new                 |
 *
 * Readers take the newest complete version: a complete temporary directory
 * of a writer that is gone, else `dir`, else `dir.old` (recover.ts, which
 * also finishes or rolls back an interrupted swap for the next writer). The
 * next write cleans up: it deletes temporary directories left by processes
 * that are gone (or by this process, from an earlier failed write), and
 * deletes a leftover `dir.old` only while `dir` exists; when `dir` is missing
 * the backup is kept until the new version is in place.
 *
 * An ordinary error (a full disk, a failing `fill`) is not a crash: the
 * temporary directory is removed and, if step 1 already happened, the old
 * version is renamed back, so the directory is as it was before the call.
 *
 * Writes to the same directory from this process are queued, one at a time.
 * Two processes writing the same directory at once are not supported.
 *
 * The protocol is written once (`swapIn`, a generator of the file-system
 * operations of lib/io/effects.ts) and run asynchronously or, for signal
 * handlers, synchronously.
 */
import type * as fs from 'node:fs';
import * as path from 'node:path';
import { attempt, exists, perform, runAsync, runSync, type Protocol } from './effects.ts';
import { CheckpointError } from './errors.ts';
import { claimTmp, releaseTmp, staleTmpsOf } from './tmp.ts';

/**
 * The points of a save at which a crash is interesting; the save calls a
 * hook at each (tests use it to snapshot the disk or to inject failures).
 * `weights-written` is called by the checkpoint writer, the rest here.
 */
export type SaveStep = 'weights-written' | 'written' | 'old-moved' | 'new-in-place' | 'done';
export type StepHook = (step: SaveStep) => void;

/** The backup name of a directory during a swap. */
export const backupOf = (dir: string): string => `${dir}.old`;

const MARKER = 'manifest.json';

/** Per resolved target directory: the tail of the queue of async writes. */
const queues = new Map<string, Promise<void>>();

const refusal = (target: string): CheckpointError =>
  new CheckpointError(
    target,
    `refusing to replace ${target}: it is not empty and has no ${MARKER}, so it is not a checkpoint`,
  );

const notDir = (target: string): CheckpointError =>
  new CheckpointError(target, `${target} exists and is not a directory`);

/** Throws unless `target` is missing, an empty directory, or a checkpoint. */
function* checkTarget(target: string): Protocol<void> {
  const stat = (yield { op: 'stat', path: target }) as fs.Stats | undefined;
  if (stat === undefined) return;
  if (!stat.isDirectory()) throw notDir(target);
  const entries = (yield { op: 'readdir', path: target }) as string[];
  if (entries.length > 0 && !entries.includes(MARKER)) throw refusal(target);
}

/**
 * The swap, once for both drivers: `fill` writes (and fsyncs) the files
 * into the empty temporary directory it is given; then the steps above.
 */
function* swapIn(target: string, fill: (tmp: string) => Protocol<void>, onStep?: StepHook): Protocol<void> {
  const parent = path.dirname(target);
  const old = backupOf(target);
  yield { op: 'mkdir', path: parent, recursive: true };
  yield* checkTarget(target);
  for (const stale of staleTmpsOf(target)) yield { op: 'rm', path: stale };
  const tmp = claimTmp(target);
  let movedOld = false;
  let inPlace = false;
  try {
    yield { op: 'mkdir', path: tmp };
    yield* fill(tmp);
    yield { op: 'syncDir', path: tmp };
    onStep?.('written');
    if (yield* exists(target)) {
      yield { op: 'rm', path: old }; // `target` is complete, so a leftover backup is not needed
      yield { op: 'rename', from: target, to: old };
      movedOld = true;
      yield { op: 'syncDir', path: parent };
    }
    onStep?.('old-moved');
    yield { op: 'rename', from: tmp, to: target };
    inPlace = true;
    yield { op: 'syncDir', path: parent };
    onStep?.('new-in-place');
    yield { op: 'rm', path: old };
    onStep?.('done');
  } catch (e) {
    if (inPlace) {
      yield* attempt({ op: 'rm', path: old });
    } else {
      if (movedOld) yield* attempt({ op: 'rename', from: old, to: target });
      yield* attempt({ op: 'rm', path: tmp });
    }
    throw e;
  } finally {
    releaseTmp(tmp);
  }
}

/** Run `f` after every earlier async write to `target` has finished. */
const queued = async <A>(target: string, f: () => Promise<A>): Promise<A> => {
  const before = queues.get(target) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = before.then(() => mine);
  queues.set(target, tail);
  await before;
  try {
    return await f();
  } finally {
    release();
    if (queues.get(target) === tail) queues.delete(target);
  }
};

/** Write a directory atomically (see the header); `fill` is a protocol of lib/io/effects.ts. */
export const writeDirAtomically = (dir: string, fill: (tmp: string) => Protocol<void>, onStep?: StepHook): Promise<void> => {
  const target = path.resolve(dir);
  return queued(target, () => runAsync(swapIn(target, fill, onStep)));
};

/**
 * The same, synchronously (for signal handlers). It refuses to run while an
 * async write to the same directory is in flight, since it cannot wait for it.
 */
export const writeDirAtomicallySync = (dir: string, fill: (tmp: string) => Protocol<void>, onStep?: StepHook): void => {
  const target = path.resolve(dir);
  if (queues.has(target))
    throw new CheckpointError(target, `an asynchronous save to ${target} is in progress; a synchronous save cannot wait for it`);
  runSync(swapIn(target, fill, onStep));
};

/** Whether `p` exists (other errors than ENOENT are thrown). */
export const existsAsync = (p: string): Promise<boolean> => runAsync(exists(p));
/** fsync a directory (its entries: renames), where the platform can. */
export const syncDirAsync = async (dir: string): Promise<void> => void (await runAsync(perform({ op: 'syncDir', path: dir })));
export const rmAsync = async (p: string): Promise<void> => void (await runAsync(perform({ op: 'rm', path: p })));
