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
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { CheckpointError, errnoOf as errno } from './errors.ts';
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

/** fsync of a directory, where the platform allows it (Windows does not). */
const IGNORED_DIR_SYNC = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES']);

const refusal = (target: string): CheckpointError =>
  new CheckpointError(
    target,
    `refusing to replace ${target}: it is not empty and has no ${MARKER}, so it is not a checkpoint`,
  );

const notDir = (target: string): CheckpointError =>
  new CheckpointError(target, `${target} exists and is not a directory`);

// ---------------------------------------------------------------- async

/** Whether `p` exists (other errors than ENOENT are thrown). */
export const existsAsync = async (p: string): Promise<boolean> => {
  try {
    await fsp.stat(p);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
};

/** fsync a directory (its entries: renames), where the platform can. */
export const syncDirAsync = async (dir: string): Promise<void> => {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    if (!IGNORED_DIR_SYNC.has(errno(e) ?? '')) throw e;
  } finally {
    await handle?.close();
  }
};

export const rmAsync = (p: string): Promise<void> => fsp.rm(p, { recursive: true, force: true });

const attemptAsync = async (f: () => Promise<unknown>): Promise<void> => {
  try {
    await f();
  } catch {
    // best effort: the error being reported is the one that matters
  }
};

/** Throws unless `target` is missing, an empty directory, or a checkpoint. */
const checkTargetAsync = async (target: string): Promise<void> => {
  let stat: fs.Stats;
  try {
    stat = await fsp.stat(target);
  } catch (e) {
    if (errno(e) === 'ENOENT') return;
    throw e;
  }
  if (!stat.isDirectory()) throw notDir(target);
  const entries = await fsp.readdir(target);
  if (entries.length > 0 && !entries.includes(MARKER)) throw refusal(target);
};

const removeStaleAsync = async (target: string): Promise<void> => {
  for (const stale of staleTmpsOf(target)) await rmAsync(stale);
};

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

/**
 * Write a directory atomically: `fill` writes (and fsyncs) the files into
 * the empty temporary directory it is given; then the swap above.
 */
export const writeDirAtomically = (
  dir: string,
  fill: (tmp: string) => Promise<void>,
  onStep?: StepHook,
): Promise<void> => {
  const target = path.resolve(dir);
  return queued(target, async () => {
    const parent = path.dirname(target);
    const old = backupOf(target);
    await fsp.mkdir(parent, { recursive: true });
    await checkTargetAsync(target);
    await removeStaleAsync(target);
    const tmp = claimTmp(target);
    let movedOld = false;
    let inPlace = false;
    try {
      await fsp.mkdir(tmp);
      await fill(tmp);
      await syncDirAsync(tmp);
      onStep?.('written');
      if (await existsAsync(target)) {
        await rmAsync(old); // `target` is complete, so a leftover backup is not needed
        await fsp.rename(target, old);
        movedOld = true;
        await syncDirAsync(parent);
      }
      onStep?.('old-moved');
      await fsp.rename(tmp, target);
      inPlace = true;
      await syncDirAsync(parent);
      onStep?.('new-in-place');
      await rmAsync(old);
      onStep?.('done');
    } catch (e) {
      if (inPlace) {
        await attemptAsync(() => rmAsync(old));
      } else {
        if (movedOld) await attemptAsync(() => fsp.rename(old, target));
        await attemptAsync(() => rmAsync(tmp));
      }
      throw e;
    } finally {
      releaseTmp(tmp);
    }
  });
};

// ----------------------------------------------------------------- sync

const existsSync = (p: string): boolean => {
  try {
    fs.statSync(p);
    return true;
  } catch (e) {
    if (errno(e) === 'ENOENT') return false;
    throw e;
  }
};

const syncDirSync = (dir: string): void => {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (e) {
    if (!IGNORED_DIR_SYNC.has(errno(e) ?? '')) throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
};

const rmSync = (p: string): void => fs.rmSync(p, { recursive: true, force: true });

const attemptSync = (f: () => unknown): void => {
  try {
    f();
  } catch {
    // best effort, as above
  }
};

const checkTargetSync = (target: string): void => {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch (e) {
    if (errno(e) === 'ENOENT') return;
    throw e;
  }
  if (!stat.isDirectory()) throw notDir(target);
  const entries = fs.readdirSync(target);
  if (entries.length > 0 && !entries.includes(MARKER)) throw refusal(target);
};

/**
 * The synchronous `writeDirAtomically` (for signal handlers). It refuses to
 * run while an async write to the same directory is in flight, since it
 * cannot wait for it.
 */
export const writeDirAtomicallySync = (dir: string, fill: (tmp: string) => void, onStep?: StepHook): void => {
  const target = path.resolve(dir);
  if (queues.has(target))
    throw new CheckpointError(target, `an asynchronous save to ${target} is in progress; a synchronous save cannot wait for it`);
  const parent = path.dirname(target);
  const old = backupOf(target);
  fs.mkdirSync(parent, { recursive: true });
  checkTargetSync(target);
  for (const stale of staleTmpsOf(target)) rmSync(stale);
  const tmp = claimTmp(target);
  let movedOld = false;
  let inPlace = false;
  try {
    fs.mkdirSync(tmp);
    fill(tmp);
    syncDirSync(tmp);
    onStep?.('written');
    if (existsSync(target)) {
      rmSync(old);
      fs.renameSync(target, old);
      movedOld = true;
      syncDirSync(parent);
    }
    onStep?.('old-moved');
    fs.renameSync(tmp, target);
    inPlace = true;
    syncDirSync(parent);
    onStep?.('new-in-place');
    rmSync(old);
    onStep?.('done');
  } catch (e) {
    if (inPlace) {
      attemptSync(() => rmSync(old));
    } else {
      if (movedOld) attemptSync(() => fs.renameSync(old, target));
      attemptSync(() => rmSync(tmp));
    }
    throw e;
  } finally {
    releaseTmp(tmp);
  }
};
