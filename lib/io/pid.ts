/**
 * Which process holds something (a lock, a temporary file), said so that a
 * later process can tell whether that holder is still running — even after
 * a reboot or a container restart hands its PID to someone else.
 *
 * On Linux a holder is (host, boot id, PID, the process's start time in
 * clock ticks since boot, from /proc/PID/stat); elsewhere (host, PID).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { errnoOf } from './errors.ts';

export interface Holder {
  readonly pid: number;
  readonly host: string;
  /** /proc/sys/kernel/random/boot_id, where there is one. */
  readonly boot?: string;
  /** Field 22 of /proc/PID/stat (start time after boot), where there is one. */
  readonly start?: string;
}

const readOr = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** The start time of a process (Linux), or undefined where it cannot be read. */
export const startTimeOf = (pid: number): string | undefined => {
  const stat = readOr(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // count fields from the last ')'; starttime is field 22, state field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[22 - 3];
};

let bootId: string | undefined | null = null;
const boot = (): string | undefined => (bootId === null ? (bootId = readOr('/proc/sys/kernel/random/boot_id')) : bootId);

/** This process, as a Holder. */
export const currentHolder = (): Holder => {
  const b = boot();
  const s = startTimeOf(process.pid);
  return { pid: process.pid, host: hostname(), ...(b === undefined ? {} : { boot: b }), ...(s === undefined ? {} : { start: s }) };
};

/** Whether the holder is this very process. */
export const isCurrentProcess = (h: Holder): boolean => h.pid === process.pid && h.host === hostname();

/** Whether a process with this PID exists (on this host). */
export const pidExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoOf(e) === 'EPERM'; // it exists, and belongs to someone else
  }
};

/**
 * Whether the holder is still running: true, false, or 'unknown' when it is
 * on another host (a shared file system), where its PID means nothing here.
 */
export const holderAlive = (h: Holder): boolean | 'unknown' => {
  if (h.host !== hostname()) return 'unknown';
  const b = boot();
  if (h.boot !== undefined && b !== undefined && h.boot !== b) return false; // rebooted since
  if (!pidExists(h.pid)) return false;
  if (h.start !== undefined) {
    const now = startTimeOf(h.pid);
    if (now !== undefined && now !== h.start) return false; // the PID was reused
  }
  return true;
};
