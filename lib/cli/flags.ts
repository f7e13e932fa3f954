/**
 * Command-line flags: node's parseArgs splits them (unknown flags are an
 * error), io-ts codecs decode the values with messages that name the flag.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { Phrasing } from '../core/options.ts';
import { inRange, showRange, type Range } from '../train/config.ts';

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

/** A number in a range, e.g. `--beta1` in [0, 1): the error names the range. */
export const numberFromStringIn = (r: Range, unit = '') =>
  new t.Type<number, string, unknown>(
    `${showRange(r)}${unit}`,
    (u): u is number => typeof u === 'number' && inRange(r, u),
    (u, c) => {
      const n = typeof u === 'string' && u.trim() !== '' ? Number(u) : NaN;
      return inRange(r, n) ? t.success(n) : t.failure(u, c);
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
 * `--lr -1` as `--lr=-1`: parseArgs takes a value that starts with a dash
 * for a flag, so a negative number would be "ambiguous" instead of getting
 * the range error that says what the flag takes.
 */
const withNegatives = (argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] => {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
};

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
    ({ values } = parseArgs({ args: withNegatives(argv, options), options, strict: true, allowPositionals: false }));
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

const FLAGS: Readonly<Record<string, string>> = {
  skipBad: '--skip-bad',
  layout: '--layout',
  split: '--split',
  preprocess: '--preprocess',
  loadSize: '--load-size',
  cropSize: '--size',
  batchSize: '--batch',
};

/** Library messages in the CLI's words: `skipBad: true` is `--skip-bad`, `layout 'separate'` is `--layout separate`. */
export const cliPhrasing: Phrasing = (option, value) => {
  const flag = FLAGS[option] ?? `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  return value === undefined || value === true ? flag : `${flag} ${String(value)}`;
};

/** `--backend`, shared by every command. */
export const backendFlag = oneOf(['auto', 'tensorflow', 'webgpu', 'native', 'wasm', 'cpu']);
