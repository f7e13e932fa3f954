/** io-ts codecs and error messages shared by configs, flags, checkpoints and manifests. */
import * as t from 'io-ts';

const integerAtLeast = (min: number, name: string) =>
  new t.Type<number, number, unknown>(
    name,
    (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= min,
    (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) && u >= min ? t.success(u) : t.failure(u, c)),
    t.identity,
  );

export const NonNegativeInt = integerAtLeast(0, 'a non-negative integer');
export const PositiveInt = integerAtLeast(1, 'a positive integer');
export const Int = integerAtLeast(Number.MIN_SAFE_INTEGER, 'an integer');

const isAlternation = (type: t.Decoder<unknown, unknown>): boolean => {
  if (type instanceof t.RecursiveType) return isAlternation(type.type as t.Decoder<unknown, unknown>);
  return type instanceof t.UnionType || type instanceof t.IntersectionType;
};

const show = (value: unknown): string => {
  if (value === undefined) return 'nothing';
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
};

/**
 * One line per wrong field, e.g. `tensors.1.shape should be an array of
 * non-negative integers, got "abc"`; `root` names the whole value. The
 * member indices that unions and intersections add to io-ts contexts are
 * left out, and a union's failures at one field are merged (`should be null
 * or an array of subtrees or ...`).
 */
export const errorLines = (errors: t.Errors, root = 'the value'): string[] => {
  const byField = new Map<string, { expected: string[]; value: unknown }>();
  for (const error of errors) {
    const ctx = error.context;
    const keys = ctx.filter((_entry, i) => i > 0 && !isAlternation(ctx[i - 1]!.type)).map((entry) => entry.key);
    const field = keys.length === 0 ? root : keys.join('.');
    const expected = ctx[ctx.length - 1]?.type.name ?? 'valid';
    const seen = byField.get(field);
    if (seen === undefined) byField.set(field, { expected: [expected], value: error.value });
    else if (!seen.expected.includes(expected)) seen.expected.push(expected);
  }
  return [...byField].map(([field, { expected, value }]) => `${field} should be ${expected.join(' or ')}, got ${show(value)}`);
};

/** The lines of `errorLines`, joined: `size should be a positive integer, got -3; lr should be ...`. */
export const describeErrors = (errors: t.Errors, root?: string): string => errorLines(errors, root).join('; ');
