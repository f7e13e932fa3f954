/**
 * An exclusive lock on a folder for one process: a lock file holding who
 * holds it (PID, host, boot id, start time: pid.ts) and since when.
 *
 * The file is written complete under a temporary name and hard-linked into
 * place, which fails if a lock is already there, so a reader never sees a
 * half-written one. A lock whose holder is gone (killed, rebooted, its PID
 * reused) is stale: it is moved aside, checked to be the one judged stale,
 * and deleted, and the lock taken afresh. Held locks are released on exit,
 * also when the process exits from a signal handler.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { errnoOf, WriteError } from './errors.ts';
import { currentHolder, holderAlive, isCurrentProcess, type Holder } from './pid.ts';
import { claimTmp, releaseTmp } from './tmp.ts';

export interface LockInfo {
  readonly holder: Holder;
  /** What holds it, for the message a second process gets (e.g. "pix2pix train"). */
  readonly command: string;
  readonly since: string;
}

/** The lock is held by a process that is (or may be) running. */
export class LockedError extends Error {
  override readonly name = 'LockedError';
  constructor(
    readonly path: string,
    readonly info: LockInfo,
    message: string,
  ) {
    super(message);
  }
}

export interface Lock {
  readonly path: string;
  /** Delete the lock file if it is still ours; idempotent. */
  release(): void;
}

const held = new Map<string, string>(); // lock path -> the exact text written
let exitHook = false;

const readInfo = (file: string): { text: string; info?: LockInfo } | undefined => {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const info = JSON.parse(text) as LockInfo;
    return typeof info?.holder?.pid === 'number' && typeof info.holder.host === 'string' ? { text, info } : { text };
  } catch {
    return { text }; // not a lock of ours, or damaged: nobody can be holding it
  }
};

/** Put `text` at `file` only if nothing is there; false if something is. */
const place = (file: string, text: string): boolean => {
  const tmp = claimTmp(file);
  try {
    fs.writeFileSync(tmp, text, { flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      return true;
    } catch (e) {
      const code = errnoOf(e);
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw e;
    }
    // A file system without hard links: an exclusive create (a reader may
    // briefly see it empty, which it takes as not yet a lock: see below).
    try {
      fs.writeFileSync(file, text, { flag: 'wx' });
      return true;
    } catch (e) {
      if (errnoOf(e) === 'EEXIST') return false;
      throw e;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
    releaseTmp(tmp);
  }
};

const describe = (info: LockInfo): string => `process ${info.holder.pid} (${info.command}, since ${info.since})`;

/**
 * Take the lock at `file` for `command`, or throw a LockedError naming the
 * process that holds it. Stale locks are recovered.
 */
export const takeLock = (file: string, command: string): Lock => {
  if (held.has(file)) throw new LockedError(file, JSON.parse(held.get(file)!) as LockInfo, `${file} is already held by this process`);
  const text = `${JSON.stringify({ holder: currentHolder(), command, since: new Date().toISOString() } satisfies LockInfo, null, 2)}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let placed: boolean;
    try {
      placed = place(file, text);
    } catch (e) {
      throw errnoOf(e) !== undefined ? new WriteError(file, e, `the lock ${file}`) : e;
    }
    if (placed) {
      held.set(file, text);
      if (!exitHook) {
        exitHook = true;
        process.on('exit', () => [...held.keys()].forEach(release));
      }
      return { path: file, release: () => release(file) };
    }
    const found = readInfo(file);
    if (found === undefined) continue; // released meanwhile: try again
    if (found.info !== undefined) {
      // This process does not hold it (checked above): a leftover of its own is stale.
      const alive = isCurrentProcess(found.info.holder) ? false : holderAlive(found.info.holder);
      if (alive === true)
        throw new LockedError(file, found.info, `it is in use by ${describe(found.info)}: wait for it to end, or stop it (kill ${found.info.holder.pid})`);
      if (alive === 'unknown')
        throw new LockedError(
          file,
          found.info,
          `it is in use by ${describe(found.info)} on host ${found.info.holder.host}; if that process is not running any more, delete ${file}`,
        );
    } else if (found.text === '') {
      continue; // being written by an exclusive create right now
    }
    // Stale: move it aside, and delete it only if it is the lock judged stale.
    const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      fs.renameSync(file, aside);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') continue;
      throw e;
    }
    const moved = readInfo(aside);
    if (moved !== undefined && moved.text !== found.text) {
      // Another process recovered it first and took it: give it back.
      try {
        fs.linkSync(aside, file);
      } catch {
        // a third took it meanwhile; the next attempt sees whose it is
      }
    }
    fs.rmSync(aside, { force: true });
  }
  throw new LockedError(file, { holder: currentHolder(), command, since: '' }, `could not take the lock ${file}: other processes keep taking it`);
};

function release(file: string): void {
  const mine = held.get(file);
  if (mine === undefined) return;
  held.delete(file);
  try {
    if (fs.readFileSync(file, 'utf8') === mine) fs.rmSync(file, { force: true });
  } catch {
    // already gone
  }
}

/** Who holds the lock at `file` now, if a live process does (for readers that only want to know). */
export const lockHolder = (file: string): LockInfo | undefined => {
  const found = readInfo(file);
  return found?.info !== undefined && holderAlive(found.info.holder) !== false ? found.info : undefined;
};
