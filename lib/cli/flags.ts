/**
 * Command-line flags: node's parseArgs splits them (unknown flags are an
 * error), io-ts codecs decode the values with messages that name the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

/** A usage error: the CLI prints it and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const positiveIntFromString = new t.Type<number, string, unknown>(
  'a positive integer',
  (u): u is number => typeof u === 'number' && Number.isInteger(u) && u > 0,
  (u, c) => {
    const n = typeof u === 'string' && /^\d+$/.test(u.trim()) ? Number(u) : NaN;
    return Number.isInteger(n) && n > 0 ? t.success(n) : t.failure(u, c);
  },
  String,
);

export const numberFromString = new t.Type<number, string, unknown>(
  'a number',
  (u): u is number => typeof u === 'number',
  (u, c) => {
    const n = typeof u === 'string' && u.trim() !== '' ? Number(u) : NaN;
    return Number.isFinite(n) ? t.success(n) : t.failure(u, c);
  },
  String,
);

/** One of a fixed set of strings. */
export const oneOf = <const A extends readonly [string, ...string[]]>(values: A) =>
  t.keyof(Object.fromEntries(values.map((v) => [v, null])) as { [K in A[number]]: null }, values.join(' | '));

const describe = (errors: t.Errors): string =>
  errors
    .map((e) => {
      const key = e.context
        .map((c) => c.key)
        .filter((k) => k !== '')
        .join('.');
      const expected = e.context[e.context.length - 1]?.type.name ?? 'a valid value';
      return `--${key}: expected ${expected}, got ${JSON.stringify(e.value)}`;
    })
    .join('\n');

/**
 * Parse argv against `options` (parseArgs config) and decode with `codec`.
 * Flags are written kebab-case on the command line (`--in-channels`) and
 * decoded camelCase (`inChannels`).
 */
export const decodeFlags = <A>(
  argv: readonly string[],
  options: NonNullable<ParseArgsConfig['options']>,
  codec: t.Decoder<unknown, A>,
): A => {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const camel = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k.replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase()), v]),
  );
  const decoded = codec.decode(camel);
  if (E.isLeft(decoded)) throw new UsageError(describe(decoded.left).replace(/--([a-zA-Z]+)/g, (_, k: string) => `--${k.replace(/[A-Z]/g, (ch) => `-${ch.toLowerCase()}`)}`));
  return decoded.right;
};

/** `--backend`, shared by every command. */
export const backendFlag = oneOf(['auto', 'tensorflow', 'native', 'wasm', 'cpu']);
