/**
 * A TrainState as checkpoint contents and back, with no file system (the
 * web page saves and loads these as bytes; ./checkpoint.ts on disk).
 * Everything needed to continue bit for bit: both networks' parameters and
 * state, both optimiser states (their tensors as trees, their numbers in
 * the metadata), the image pool, the step / epoch / position counters and
 * the run's key.
 */
import * as tf from '@tensorflow/tfjs';
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { flatten, type Tree } from '../core/tree.ts';
import type { OptState } from '../optim/transform.ts';
import type { CheckpointContents } from '../io/checkpoint-plan.ts';
import { CheckpointError } from '../io/errors.ts';
import { joinPath } from '../io/common.ts';
import type { TrainState } from './state.ts';
import { describeErrors, NonNegativeInt } from '../core/codecs.ts';

const Word = t.refinement(t.number, (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32, 'a 32-bit word');
const Numbers = t.record(t.string, t.number);

export const TrainMeta = t.intersection([
  t.type({
    step: NonNegativeInt,
    epoch: NonNegativeInt,
    position: NonNegativeInt,
    key: t.tuple([Word, Word]),
  }),
  t.partial({
    /** The numbers in G's and D's optimiser states (step counts), by path in the state. */
    optNumbers: t.type({ g: Numbers, d: Numbers }),
    /** How many slots of the image pool hold fakes. */
    poolFilled: NonNegativeInt,
    /** Checkpoints written before optimisers were values: Adam's step counts. */
    gAdamCount: NonNegativeInt,
    dAdamCount: NonNegativeInt,
  }),
]);
export type TrainMeta = t.TypeOf<typeof TrainMeta>;

/** The children of an array or record level of an optimiser state, keyed as paths name them. */
const entriesOf = (v: OptState): Array<readonly [string, OptState]> =>
  Array.isArray(v) ? v.map((c, i) => [String(i), c] as const) : Object.entries(v as Record<string, OptState>);

/**
 * An optimiser state as checkpoint trees: one tree per top-level entry
 * (`gOpt.m`, `gOpt.v` for Adam, `gOpt.1.m` ... for a chain), numbers left
 * out (they go to the metadata), entries without tensors skipped.
 */
const optTrees = (prefix: string, s: OptState): Array<[string, Tree]> => {
  const tensorsOnly = (v: OptState): Tree | undefined => {
    if (typeof v === 'number') return undefined;
    if (v instanceof tf.Tensor) return v;
    const entries = entriesOf(v)
      .map(([k, c]) => [k, tensorsOnly(c)] as const)
      .filter((e): e is readonly [string, Tree] => e[1] !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  };
  if (typeof s === 'number' || s instanceof tf.Tensor) return [[prefix, tensorsOnly(s) ?? {}]];
  return entriesOf(s).flatMap(([k, c]) => {
    const tree = tensorsOnly(c);
    return tree === undefined ? [] : [[`${prefix}.${k}`, tree] as [string, Tree]];
  });
};

/** The numbers of an optimiser state by path (`count`, `1/count`). */
const optNumbers = (s: OptState, prefix = ''): Record<string, number> => {
  if (typeof s === 'number') return { [prefix]: s };
  if (s instanceof tf.Tensor) return {};
  return Object.assign({}, ...entriesOf(s).map(([k, c]) => optNumbers(c, joinPath(prefix, k))));
};

/** `template` with its tensors taken from the loaded trees and its numbers from the metadata. */
const rebuildOpt = (dir: string, prefix: string, template: OptState, trees: Record<string, Tree>, numbers: Record<string, number>): OptState => {
  const loaded = new Map<string, tf.Tensor>();
  for (const [name] of optTrees(prefix, template)) {
    const sub = name === prefix ? '' : name.slice(prefix.length + 1);
    for (const [p, tensor] of flatten(trees[name]!)) loaded.set(sub === '' ? p : p === '' ? sub : `${sub}/${p}`, tensor);
  }
  const walk = (v: OptState, p: string): OptState => {
    if (typeof v === 'number') {
      const n = numbers[p];
      if (n === undefined) throw new CheckpointError(dir, `checkpoint ${dir}: the metadata has no ${prefix} number at '${p}' (saved with another optimiser?)`);
      return n;
    }
    if (v instanceof tf.Tensor) return loaded.get(p)!;
    if (Array.isArray(v)) return v.map((c, i) => walk(c, joinPath(p, String(i))));
    return Object.fromEntries(entriesOf(v).map(([k, c]) => [k, walk(c, joinPath(p, k))]));
  };
  return walk(template, '');
};

const treesOf = (s: TrainState): Record<string, Tree> => ({
  'g.params': s.g.params,
  'g.state': s.g.state,
  'd.params': s.d.params,
  'd.state': s.d.state,
  ...Object.fromEntries(optTrees('gOpt', s.gOpt)),
  ...Object.fromEntries(optTrees('dOpt', s.dOpt)),
  ...(s.pool && s.pool.images.length > 0 ? { pool: s.pool.images } : {}),
});

const metaOf = (s: TrainState): TrainMeta => ({
  step: s.step,
  epoch: s.epoch,
  position: s.position,
  key: [s.key[0], s.key[1]],
  optNumbers: { g: optNumbers(s.gOpt), d: optNumbers(s.dOpt) },
  ...(s.pool && s.pool.images.length > 0 ? { poolFilled: s.pool.filled } : {}),
});

/** What a checkpoint of `s` holds: trees and metadata (the tensors are `s`'s own, not copies). */
export const trainCheckpoint = (s: TrainState): CheckpointContents => ({ trees: treesOf(s), meta: metaOf(s) });

/** Training metadata from a checkpoint's `meta`, or a CheckpointError naming `where`. */
export const decodeTrainMeta = (dir: string, meta: unknown): TrainMeta => {
  const decoded = TrainMeta.decode(meta);
  if (E.isLeft(decoded)) throw new CheckpointError(dir, `checkpoint ${dir}: bad training metadata: ${describeErrors(decoded.left)}`);
  return decoded.right;
};

/**
 * The TrainState in `loaded` (a checkpoint loaded with
 * `trainCheckpoint(template).trees` as its template), shaped like
 * `template`, which the caller disposes. `dir` names it in errors; on an
 * error the loaded tensors are disposed.
 */
export const trainStateFrom = (dir: string, loaded: CheckpointContents, template: TrainState): TrainState => {
  const meta = decodeTrainMeta(dir, loaded.meta);
  const tr = loaded.trees;
  // Before optimisers were values the metadata held Adam's counts by name.
  const numbers = meta.optNumbers ?? { g: { count: meta.gAdamCount ?? NaN }, d: { count: meta.dAdamCount ?? NaN } };
  try {
    return {
      g: { params: tr['g.params']!, state: tr['g.state']! },
      d: { params: tr['d.params']!, state: tr['d.state']! },
      gOpt: rebuildOpt(dir, 'gOpt', template.gOpt, tr, numbers.g),
      dOpt: rebuildOpt(dir, 'dOpt', template.dOpt, tr, numbers.d),
      ...(template.pool ? { pool: { images: (tr['pool'] as tf.Tensor4D[] | undefined) ?? [], filled: meta.poolFilled ?? 0 } } : {}),
      step: meta.step,
      epoch: meta.epoch,
      position: meta.position,
      key: meta.key,
    };
  } catch (e) {
    tf.dispose(Object.values(tr).flatMap((t) => flatten(t).map(([, x]) => x)));
    throw e;
  }
};
