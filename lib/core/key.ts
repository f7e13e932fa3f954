/**
 * Explicit, splittable random keys (in the style of JAX's PRNGKey).
 *
 * A key is two 32-bit words. Nothing in the library draws randomness from a
 * global generator: initialisers and dropout derive a tf.js seed from the key
 * they are handed, so the same key always gives the same numbers.
 */
export type Key = readonly [number, number];

// The murmur3 finaliser: a cheap, well-mixed 32-bit bijection.
const mix = (h: number): number => {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
};

const hashString = (s: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
};

/** A key from an integer seed. */
export const makeKey = (seed: number): Key => {
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  return [mix(lo ^ 0x9e3779b9), mix(hi + mix(lo))];
};

/** A new key derived from `key` and a number or a name (deterministic). */
export const foldIn = (key: Key, data: number | string): Key => {
  const d = typeof data === 'number' ? data >>> 0 : hashString(data);
  const a = mix(key[0] ^ mix(d + 0x9e3779b9));
  const b = mix((key[1] + Math.imul(d ^ a, 0x632be5ab)) >>> 0);
  return [a, b];
};

/** `n` independent keys. */
export const split = (key: Key, n = 2): Key[] =>
  Array.from({ length: n }, (_, i) => foldIn(key, i));

/** A seed for tf.js random ops (which take a number). */
export const seedOf = (key: Key): number => mix(key[0] ^ key[1]) + (key[1] % 1024) * 2 ** 32;
