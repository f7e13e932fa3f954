/** Helpers shared by checkpoint saving and loading: messages that describe values and paths, byte order, the library version. */
import * as fs from 'node:fs';
import * as os from 'node:os';

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

let cachedVersion: string | undefined;
/** The `version` of this library's package.json. */
export const libraryVersion = (): string => {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
};

const LITTLE_ENDIAN = os.endianness() === 'LE';

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

