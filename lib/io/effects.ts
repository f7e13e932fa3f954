/**
 * File-system protocols written once, run two ways. A protocol is a
 * generator that yields the operations below and receives their results;
 * `runSync` performs them with node:fs (for signal handlers, which cannot
 * await), `runAsync` with node:fs/promises. An operation that fails is
 * thrown into the generator at the point that yielded it, so its
 * try / catch / finally blocks (cleanups, rollbacks) run under either driver.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { errnoOf } from './errors.ts';

/** A file opened by `open`: a descriptor (sync) or a handle (async); protocols only pass it back. */
export type OpenFile = number | fsp.FileHandle;

/** A tensor's data as a typed array, as `dataSync()` / `await data()` give it. */
interface Readable {
  dataSync(): ArrayBufferView;
  data(): Promise<ArrayBufferView>;
}

export type FsOp =
  /** fs.Stats, or undefined where nothing is (ENOENT). */
  | { readonly op: 'stat'; readonly path: string }
  | { readonly op: 'readdir'; readonly path: string }
  | { readonly op: 'mkdir'; readonly path: string; readonly recursive?: boolean }
  /** rm -rf; nothing there is not an error. */
  | { readonly op: 'rm'; readonly path: string }
  | { readonly op: 'rename'; readonly from: string; readonly to: string }
  /** fsync of a directory's entries, where the platform allows it. */
  | { readonly op: 'syncDir'; readonly path: string }
  | { readonly op: 'open'; readonly path: string; readonly flags: string }
  | { readonly op: 'write'; readonly file: OpenFile; readonly bytes: Uint8Array | string }
  | { readonly op: 'fsync'; readonly file: OpenFile }
  | { readonly op: 'close'; readonly file: OpenFile }
  | { readonly op: 'data'; readonly tensor: Readable };

export type Protocol<R> = Generator<FsOp, R, unknown>;

/** Directory fsync is not possible everywhere (Windows, some file systems): those refusals are not failures. */
const IGNORED_DIR_SYNC = new Set(['EISDIR', 'EPERM', 'EINVAL', 'EBADF', 'EACCES']);

const absentIsUndefined = <A>(f: () => A): A | undefined => {
  try {
    return f();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw e;
  }
};

const bytesOf = (b: Uint8Array | string): Uint8Array => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b);

const performSync = (o: FsOp): unknown => {
  switch (o.op) {
    case 'stat':
      return absentIsUndefined(() => fs.statSync(o.path));
    case 'readdir':
      return fs.readdirSync(o.path);
    case 'mkdir':
      return void fs.mkdirSync(o.path, { recursive: o.recursive ?? false });
    case 'rm':
      return fs.rmSync(o.path, { recursive: true, force: true });
    case 'rename':
      return fs.renameSync(o.from, o.to);
    case 'syncDir': {
      let fd: number | undefined;
      try {
        fd = fs.openSync(o.path, 'r');
        fs.fsyncSync(fd);
      } catch (e) {
        if (!IGNORED_DIR_SYNC.has(errnoOf(e) ?? '')) throw e;
      } finally {
        if (fd !== undefined) fs.closeSync(fd);
      }
      return undefined;
    }
    case 'open':
      return fs.openSync(o.path, o.flags);
    case 'write': {
      const bytes = bytesOf(o.bytes);
      for (let done = 0; done < bytes.length; ) done += fs.writeSync(o.file as number, bytes, done, bytes.length - done);
      return undefined;
    }
    case 'fsync':
      return fs.fsyncSync(o.file as number);
    case 'close':
      return fs.closeSync(o.file as number);
    case 'data':
      return o.tensor.dataSync();
  }
};

const performAsync = async (o: FsOp): Promise<unknown> => {
  switch (o.op) {
    case 'stat':
      try {
        return await fsp.stat(o.path);
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') return undefined;
        throw e;
      }
    case 'readdir':
      return fsp.readdir(o.path);
    case 'mkdir':
      return void (await fsp.mkdir(o.path, { recursive: o.recursive ?? false }));
    case 'rm':
      return fsp.rm(o.path, { recursive: true, force: true });
    case 'rename':
      return fsp.rename(o.from, o.to);
    case 'syncDir': {
      let handle: fsp.FileHandle | undefined;
      try {
        handle = await fsp.open(o.path, 'r');
        await handle.sync();
      } catch (e) {
        if (!IGNORED_DIR_SYNC.has(errnoOf(e) ?? '')) throw e;
      } finally {
        await handle?.close();
      }
      return undefined;
    }
    case 'open':
      return fsp.open(o.path, o.flags);
    case 'write': {
      const bytes = bytesOf(o.bytes);
      const handle = o.file as fsp.FileHandle;
      for (let done = 0; done < bytes.length; ) done += (await handle.write(bytes, done, bytes.length - done)).bytesWritten;
      return undefined;
    }
    case 'fsync':
      return (o.file as fsp.FileHandle).sync();
    case 'close':
      return (o.file as fsp.FileHandle).close();
    case 'data':
      return o.tensor.data();
  }
};

export const runSync = <R>(p: Protocol<R>): R => {
  let step = p.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = performSync(step.value);
    } catch (e) {
      step = p.throw(e);
      continue;
    }
    step = p.next(result);
  }
  return step.value;
};

export const runAsync = async <R>(p: Protocol<R>): Promise<R> => {
  let step = p.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = await performAsync(step.value);
    } catch (e) {
      step = p.throw(e);
      continue;
    }
    step = p.next(result);
  }
  return step.value;
};

/** One operation, as a protocol. */
export function* perform(op: FsOp): Protocol<unknown> {
  return yield op;
}

/** Run `op`; a failure is swallowed (a cleanup while another error is being reported). */
export function* attempt(op: FsOp): Protocol<void> {
  try {
    yield op;
  } catch {
    // best effort: the error being reported is the one that matters
  }
}

/** Whether something exists at `path`. */
export function* exists(path: string): Protocol<boolean> {
  return (yield { op: 'stat', path }) !== undefined;
}

/** A file written whole: opened exclusively, written, fsynced, closed (also on failure). */
export function* writeFileDurably(path: string, chunks: Iterable<Uint8Array | string>): Protocol<void> {
  const file = (yield { op: 'open', path, flags: 'wx' }) as OpenFile;
  try {
    for (const bytes of chunks) yield { op: 'write', file, bytes };
    yield { op: 'fsync', file };
  } finally {
    yield { op: 'close', file };
  }
}
