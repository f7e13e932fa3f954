/**
 * Writing one file so that a reader (or a crash) never sees half of it, and
 * appending to logs; file-system failures become a WriteError naming the
 * file, with nothing temporary left behind.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { errnoOf, WriteError } from './errors.ts';
import { claimTmp, releaseTmp } from './tmp.ts';

export interface WriteOptions {
  /** fsync the data before the rename (or after the append), so it survives a power cut too. */
  readonly durable?: boolean;
}

const asWriteError = (file: string, e: unknown): unknown => (errnoOf(e) !== undefined ? new WriteError(file, e) : e);

/** Open `file` with `flag` ('wx' create, 'a' append), write `data`, fsync if durable, close. */
const writeTo = async (file: string, flag: 'wx' | 'a', data: string | Uint8Array, durable: boolean): Promise<void> => {
  const handle = await fsp.open(file, flag);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
};

/**
 * Replace `file` with `data`: written to a temporary twin in the same folder
 * (created if needed), then renamed over it. On failure the twin is
 * removed and `file` is as it was.
 */
export const writeFileAtomic = async (file: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> => {
  const tmp = claimTmp(file);
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await writeTo(tmp, 'wx', data, opts.durable === true);
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw asWriteError(file, e);
  } finally {
    releaseTmp(tmp);
  }
};

/** Append `text` to `file` (created if missing). */
export const appendText = async (file: string, text: string, opts: WriteOptions = {}): Promise<void> => {
  try {
    await writeTo(file, 'a', text, opts.durable === true);
  } catch (e) {
    throw asWriteError(file, e);
  }
};
