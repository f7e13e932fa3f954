/**
 * Helpers shared by checkpoint saving and loading: messages that describe
 * values and paths, byte order, the library version. No Node built-ins: the
 * decoding half runs in a browser.
 */
import { VERSION } from '../version.ts';

export const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

export const describeValue = (v: unknown): string => {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `${typeof v} ${String(v)}`;
};

export const showShape = (shape: readonly number[]): string => `[${shape.join(',')}]`;
export const label = (tree: string, p: string): string => (p === '' ? tree : `${tree} ${p}`);
export const joinPath = (prefix: string, key: string): string => (prefix === '' ? key : `${prefix}/${key}`);
export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** The library's version (lib/version.ts, kept equal to package.json's by a test). */
export const libraryVersion = (): string => VERSION;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The little-endian bytes of 4-byte elements. On a little-endian host this is
 * a view, not a copy; elsewhere each 4-byte group is reversed (bit-exact,
 * NaN payloads included). The swap is its own inverse, so loading uses it too.
 */
export const littleEndian = (bytes: Uint8Array): Uint8Array => {
  if (LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    out[i] = bytes[i + 3]!;
    out[i + 1] = bytes[i + 2]!;
    out[i + 2] = bytes[i + 1]!;
    out[i + 3] = bytes[i]!;
  }
  return out;
};

