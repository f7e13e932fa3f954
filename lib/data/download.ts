/**
 * Fetch one of the pix2pix datasets (NAME.tar.gz from the authors' server)
 * and unpack it to destDir/NAME/{train,val,...}.
 *
 * The archive is streamed to a temporary file next to the destination (the
 * big ones are gigabytes: not in memory, and not on a possibly small /tmp),
 * then unpacked with `tar`, then the temporary file is removed, whatever
 * happened.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import * as tar from 'tar';
import { isDirectory } from './files.ts';

export const KNOWN_DATASETS = ['facades', 'cityscapes', 'maps', 'edges2shoes', 'edges2handbags', 'night2day'] as const;
export type KnownDataset = (typeof KNOWN_DATASETS)[number];

export const DEFAULT_BASE_URL = 'http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/';

export interface DownloadProgress {
  /** 'download' while bytes arrive (once per chunk); 'extract' once, when unpacking starts. */
  readonly phase: 'download' | 'extract';
  readonly bytes: number;
  /** From Content-Length; null when the server does not send it. */
  readonly total: number | null;
}

export interface DownloadOptions {
  readonly baseUrl?: string;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Download even when destDir/NAME already has files (unpacks over them). */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

export interface DownloadResult {
  /** destDir/NAME */
  readonly dir: string;
  /** false when it was already there and nothing was fetched. */
  readonly downloaded: boolean;
  readonly bytes: number;
}

export class DownloadError extends Error {
  constructor(
    readonly url: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DownloadError';
  }
}

const isKnown = (name: string): name is KnownDataset => (KNOWN_DATASETS as readonly string[]).includes(name);

const hasFiles = async (dir: string): Promise<boolean> => (await isDirectory(dir)) && (await readdir(dir)).length > 0;

const messageOf = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  // undici reports "fetch failed" and hides the useful part in `cause`.
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
};

/** Stream `url` into `file`, reporting progress. Returns the byte count. */
const fetchToFile = async (url: string, file: string, opts: DownloadOptions): Promise<number> => {
  let res: Response;
  try {
    res = await fetch(url, opts.signal ? { signal: opts.signal } : {});
  } catch (e) {
    throw new DownloadError(url, `GET ${url} failed: ${messageOf(e)}`, undefined, { cause: e });
  }
  if (!res.ok || res.body === null) {
    await res.body?.cancel().catch(() => undefined);
    throw new DownloadError(url, `GET ${url} failed: HTTP ${res.status} ${res.statusText}`.trimEnd(), res.status);
  }
  const length = Number(res.headers.get('content-length'));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  const out = createWriteStream(file);
  const reader = res.body.getReader();
  let bytes = 0;
  try {
    opts.onProgress?.({ phase: 'download', bytes, total });
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (!out.write(value)) await once(out, 'drain');
      opts.onProgress?.({ phase: 'download', bytes, total });
    }
  } catch (e) {
    out.destroy();
    throw new DownloadError(url, `GET ${url} failed after ${bytes} bytes: ${messageOf(e)}`, res.status, { cause: e });
  }
  out.end();
  await once(out, 'close');
  if (total !== null && bytes !== total) {
    throw new DownloadError(url, `GET ${url} ended early: got ${bytes} of ${total} bytes`, res.status);
  }
  return bytes;
};

/**
 * Download dataset `name` into destDir/NAME. Skips the download when that
 * folder already has files, unless `force`.
 */
export const downloadDataset = async (name: string, destDir: string, opts: DownloadOptions = {}): Promise<DownloadResult> => {
  if (!isKnown(name)) throw new Error(`unknown dataset '${name}'; the known ones are: ${KNOWN_DATASETS.join(', ')}`);
  const dir = join(destDir, name);
  if (opts.force !== true && (await hasFiles(dir))) return { dir, downloaded: false, bytes: 0 };
  const base = opts.baseUrl ?? DEFAULT_BASE_URL;
  const url = `${base}${base.endsWith('/') ? '' : '/'}${name}.tar.gz`;
  await mkdir(destDir, { recursive: true });
  const tmp = join(destDir, `.${name}.tar.gz.${process.pid}.part`);
  try {
    const bytes = await fetchToFile(url, tmp, opts);
    opts.onProgress?.({ phase: 'extract', bytes, total: bytes });
    try {
      // strict: a damaged archive is an error, not a warning.
      await tar.x({ file: tmp, cwd: destDir, strict: true });
    } catch (e) {
      throw new DownloadError(url, `cannot unpack ${url}: ${messageOf(e)}`, undefined, { cause: e });
    }
    if (!(await isDirectory(dir))) throw new DownloadError(url, `${url} did not contain a ${name}/ folder (unpacked into ${destDir})`);
    return { dir, downloaded: true, bytes };
  } finally {
    await rm(tmp, { force: true });
  }
};
