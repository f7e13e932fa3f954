/**
 * After a crash: where the newest complete version of a directory written by
 * `writeDirAtomically` is, and how to finish or roll back the swap that the
 * crash interrupted (see the table in atomic.ts).
 *
 * The versions, newest first:
 *  1. `pending`: a temporary twin `<dir>.tmp-<pid>-<random>` whose writer is
 *     gone and which is complete (the caller's `isComplete` says so). A save
 *     only renames a twin into place once it is complete, and removes the
 *     twins of dead writers before it starts, so a complete one left over is
 *     newer than `dir`: the crash came after writing it, before or between
 *     the renames.
 *  2. `current`: `dir` itself.
 *  3. `backup`: `<dir>.old`, the previous version, kept only during a swap.
 * Twins of a writer that is still running are never candidates: it may be
 * renaming them this moment.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { backupOf, existsAsync as exists, rmAsync as rm, syncDirAsync as syncDir } from './atomic.ts';
import { staleTmpsOf } from './tmp.ts';

export interface Version {
  readonly path: string;
  readonly kind: 'pending' | 'current' | 'backup';
}

/** Whether a version looks complete (cheap: no checksum). */
export type CompletenessCheck = (dir: string) => Promise<boolean>;

const mtime = async (p: string): Promise<number> => {
  try {
    return (await fsp.stat(p)).mtimeMs;
  } catch {
    return 0;
  }
};

/** Complete twins of dead writers, newest first. */
const pendingOf = async (target: string, isComplete: CompletenessCheck): Promise<string[]> => {
  const complete: Array<[string, number]> = [];
  for (const tmp of staleTmpsOf(target)) if (await isComplete(tmp)) complete.push([tmp, await mtime(tmp)]);
  return complete.sort((a, b) => b[1] - a[1]).map(([p]) => p);
};

/** The versions of `dir` that exist, in the order above (pending ones only if complete). */
export const versionsOf = async (dir: string, isComplete: CompletenessCheck): Promise<Version[]> => {
  const target = path.resolve(dir);
  const out: Version[] = (await pendingOf(target, isComplete)).map((p) => ({ path: p, kind: 'pending' }));
  if (await exists(target)) out.push({ path: target, kind: 'current' });
  if (await exists(backupOf(target))) out.push({ path: backupOf(target), kind: 'backup' });
  return out;
};

/**
 * Put the newest complete version in place as `dir` and remove the rest:
 * a pending twin finishes its swap; a lone backup is rolled back into
 * place. Only for the one process allowed to write `dir` (a lock holder).
 * Each step is a rename, so a crash in the middle leaves a state this
 * function settles the next time. Resolves to what was done, or undefined
 * when nothing needed doing.
 */
export const settleDir = async (dir: string, isComplete: CompletenessCheck): Promise<'finished' | 'rolled back' | 'cleaned' | undefined> => {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const backup = backupOf(target);
  const [newest] = await versionsOf(target, isComplete);
  const leftovers = staleTmpsOf(target).filter((p) => p !== newest?.path);
  let done: 'finished' | 'rolled back' | 'cleaned' | undefined;
  if (newest?.kind === 'pending') {
    if (await exists(target)) {
      await rm(backup);
      await fsp.rename(target, backup);
      await syncDir(parent);
    }
    await fsp.rename(newest.path, target);
    await syncDir(parent);
    done = 'finished';
  } else if (newest?.kind === 'backup') {
    await fsp.rename(backup, target);
    await syncDir(parent);
    done = 'rolled back';
  }
  if (await exists(backup)) {
    await rm(backup);
    done ??= 'cleaned';
  }
  for (const p of leftovers) {
    await rm(p);
    done ??= 'cleaned';
  }
  return done;
};
