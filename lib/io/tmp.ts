/**
 * Temporary twins of files and folders being replaced atomically:
 * `<target>.tmp-<pid>-<random>`, beside the target. The PID says whose it
 * is, so that the leftovers of a process that died (SIGKILL, power loss)
 * can be told from the work of one that is still writing.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pidExists } from './pid.ts';

/** Temporary paths this process is writing right now. */
const active = new Set<string>();

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A fresh temporary name for `target`, marked as being written until `release`. */
export const claimTmp = (target: string): string => {
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  active.add(tmp);
  return tmp;
};

export const releaseTmp = (tmp: string): void => void active.delete(tmp);

/** The PID in a temporary name of `target` (a basename in the same folder), or undefined if it is not one. */
const tmpPid = (target: string, name: string): number | undefined => {
  const m = new RegExp(`^${escapeRegExp(path.basename(target))}\\.tmp-(\\d+)-[0-9a-f]+$`).exec(name);
  return m === null ? undefined : Number(m[1]);
};

/**
 * Whether `name` (in target's folder) is a temporary twin of `target` that
 * nobody is writing: its process is gone, or it is this process's own from
 * a write that has ended.
 */
export const isStaleTmp = (target: string, name: string): boolean => {
  const pid = tmpPid(target, name);
  if (pid === undefined) return false;
  if (active.has(path.join(path.dirname(target), name))) return false;
  return pid === process.pid || !pidExists(pid);
};

/** The stale temporary twins of `target`, as full paths. */
/** The entries of `dir`, or none if it cannot be read. */
const namesIn = (dir: string): string[] => {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
};

export const staleTmpsOf = (target: string): string[] => {
  const dir = path.dirname(target);
  return namesIn(dir).filter((n) => isStaleTmp(target, n)).map((n) => path.join(dir, n));
};

/** Every stale temporary file or folder directly in `dir`, whatever its target. */
export const staleTmpsIn = (dir: string): string[] =>
  namesIn(dir).flatMap((n) => {
    const m = /^(.+)\.tmp-\d+-[0-9a-f]+$/.exec(n);
    return m !== null && isStaleTmp(path.join(dir, m[1]!), n) ? [path.join(dir, n)] : [];
  });
