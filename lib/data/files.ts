/** Folder listing helpers: natural order, image files only, bounded concurrency. */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isImageFile } from './image.ts';

const digits = /(\d+)/;

/**
 * Natural order: digit runs compare as numbers, so 2.jpg < 10.jpg. Written
 * out (not Intl.Collator) so the order never depends on the host's locale.
 */
export const naturalCompare = (a: string, b: string): number => {
  const as = a.split(digits);
  const bs = b.split(digits);
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    const x = as[i]!;
    const y = bs[i]!;
    if (x === y) continue;
    if (i % 2 === 1) {
      // split() with a capture group puts the digit runs at odd indices.
      const xs = x.replace(/^0+/, '');
      const ys = y.replace(/^0+/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
    } else {
      return x < y ? -1 : 1;
    }
  }
  if (as.length !== bs.length) return as.length - bs.length;
  return a < b ? -1 : a > b ? 1 : 0; // e.g. "01" vs "1": any fixed order
};

export const isDirectory = async (path: string): Promise<boolean> => {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
};

/** Names (not paths) in `dir` that are image files, naturally sorted. Follows symlinks. */
export const listImages = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true });
  const names: string[] = [];
  for (const e of entries) {
    if (!isImageFile(e.name)) continue;
    if (e.isFile() || (e.isSymbolicLink() && (await stat(join(dir, e.name)).catch(() => null))?.isFile())) names.push(e.name);
  }
  return names.sort(naturalCompare);
};

/** Names of the subfolders of `dir`, naturally sorted (hidden ones left out). */
export const listSubdirs = async (dir: string): Promise<string[]> => {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const names: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(join(dir, e.name))))) names.push(e.name);
  }
  return names.sort(naturalCompare);
};

/** `items.map(fn)` with at most `limit` calls in flight (sharp queues on libuv's pool anyway). */
export const mapLimit = async <T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> => {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
};
