/**
 * The checkpoint manifest (`manifest.json`): its io-ts codec, and error
 * messages that name the field at fault (`tensors.3.shape.1 should be a
 * non-negative integer, got -2`).
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { errorLines, NonNegativeInt } from '../core/codecs.ts';

export const FORMAT = 'pix2pix-ts/checkpoint';
export const FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';
export const WEIGHTS_FILE = 'weights.bin';

/** Bytes per element; both stored dtypes are 4 bytes wide. */
export const BYTES_PER_ELEMENT = 4;


const Sha256 = new t.Type<string, string, unknown>(
  'a sha-256 digest (64 lowercase hex digits)',
  (u): u is string => typeof u === 'string' && /^[0-9a-f]{64}$/.test(u),
  (u, c) => (typeof u === 'string' && /^[0-9a-f]{64}$/.test(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

export const Dtype = t.keyof({ float32: null, int32: null }, "'float32' or 'int32'");
export type Dtype = t.TypeOf<typeof Dtype>;

export const TensorEntry = t.type(
  {
    tree: t.string,
    path: t.string,
    shape: t.array(NonNegativeInt, 'an array of non-negative integers'),
    dtype: Dtype,
    offset: NonNegativeInt,
    byteLength: NonNegativeInt,
  },
  'a tensor entry',
);
export type TensorEntry = t.TypeOf<typeof TensorEntry>;

/**
 * The shape of a tree without its tensors: `null` for a tensor, a JSON array
 * for an array, a JSON object for a record. Paths alone cannot say whether
 * `{ "0": ... }` was a record or an array, and they lose empty subtrees
 * (the `{}` params of an activation in a `seq`), so the manifest keeps this.
 */
export type Skeleton = null | Skeleton[] | { [key: string]: Skeleton };

export const Skeleton: t.Type<Skeleton> = t.recursion('a subtree (null, an array or a record)', () =>
  t.union([t.null, t.array(Skeleton, 'an array of subtrees'), t.record(t.string, Skeleton, 'a record of subtrees')]),
);

export const Manifest = t.intersection(
  [
    t.type({
      format: t.literal(FORMAT),
      formatVersion: t.literal(FORMAT_VERSION),
      libraryVersion: t.string,
      createdAt: t.string,
      meta: t.unknown,
      tensors: t.array(TensorEntry, 'an array of tensor entries'),
      weightsFile: t.literal(WEIGHTS_FILE),
      byteLength: NonNegativeInt,
      sha256: Sha256,
    }),
    // Optional so that a hand-written manifest can leave it out; the trees
    // are then rebuilt from the tensor paths.
    t.partial({ structure: t.record(t.string, Skeleton, 'a record of tree structures') }),
  ],
  'a checkpoint manifest',
);
export type Manifest = t.TypeOf<typeof Manifest>;

// ------------------------------------------------------------ reporting

/** One line per wrong field (lib/core/codecs.ts), `the manifest` for the whole. */
export const describeErrors = (errors: t.Errors): string[] => errorLines(errors, 'the manifest');

/** Decode a parsed manifest; Left carries the lines of `describeErrors`. */
export const decodeManifest = (json: unknown): E.Either<string[], Manifest> =>
  E.mapLeft(describeErrors)(Manifest.decode(json));
