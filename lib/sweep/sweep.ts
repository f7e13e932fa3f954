/**
 * A sweep as a value: a base config (the fields of `pix2pix train`'s
 * config) and axes to vary, expanded to the cross product — or an explicit
 * list of variants — as named run configs. Pure; the runners (local worker
 * processes, a BullMQ queue) take these.
 *
 * Names are stable and readable: the varied fields in axis order,
 * `objective=l1+cgan,seed=1`, so a run's directory says what it is and a
 * re-expanded sweep finds the runs it already has.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import { describeErrors, Int, PositiveInt } from '../core/codecs.ts';
import { decodeConfig, defaultConfig, type TrainConfig } from '../train/config.ts';

export type AxisValue = string | number | boolean;
/** Field name -> the values it takes, in order. */
export type Axes = Readonly<Record<string, readonly AxisValue[]>>;

export interface SweepRun {
  /** `field=value,...` over the varied fields (or `base` when nothing varies). */
  readonly name: string;
  /** The fields this run sets over the base. */
  readonly overrides: Readonly<Record<string, AxisValue>>;
  /** The run's config, or why it does not decode (that run fails; the others go on). */
  readonly config: E.Either<string, TrainConfig>;
}

const Value = t.union([t.string, t.number, t.boolean]);

/**
 * Where `sweep report` scores the runs (as `pix2pix eval`): a dataset
 * (default: each run's own --data), a split (default: the run's --val-split
 * where that folder exists, else test), files [start, end) of it (end 0:
 * to the end; negative from the end), at most `max` pairs, and the mode.
 */
export const SweepEval = t.exact(
  t.partial({
    data: t.string,
    split: t.string,
    range: t.tuple([Int, Int]),
    max: PositiveInt,
    mode: t.keyof({ paper: null, eval: null }),
  }),
);
export type SweepEval = t.TypeOf<typeof SweepEval>;

/** A sweep file: a base config, and axes (a cross product) or an explicit list of variants; where to score them. */
export const SweepFile = t.intersection([
  t.type({ base: t.record(t.string, t.unknown) }),
  t.partial({ axes: t.record(t.string, t.array(Value)), variants: t.array(t.record(t.string, Value)), eval: SweepEval, name: t.string }),
]);
export type SweepFile = t.TypeOf<typeof SweepFile>;

const FIELDS = new Set(Object.keys(defaultConfig).concat(['data', 'scales', 'lrD', 'gradClip', 'trackRunningStats']));

/** A value as it reads in a name; '/' and ',' (path and separator) escaped so a name is one folder name. */
const show = (v: AxisValue): string => String(v).replace(/%/g, '%25').replace(/\//g, '%2F').replace(/,/g, '%2C');

export const runName = (overrides: Readonly<Record<string, AxisValue>>): string => {
  const parts = Object.entries(overrides).map(([k, v]) => `${k}=${show(v)}`);
  return parts.length === 0 ? 'base' : parts.join(',');
};

const checkFields = (where: string, fields: readonly string[]): E.Either<string, void> => {
  const unknown = fields.filter((f) => !FIELDS.has(f));
  return unknown.length === 0 ? E.right(undefined) : E.left(`${where}: ${unknown.map((f) => `'${f}'`).join(', ')} ${unknown.length === 1 ? 'is not a' : 'are not'} config field${unknown.length === 1 ? '' : 's'} (the fields: ${[...FIELDS].sort().join(', ')})`);
};

const runOf = (base: Readonly<Record<string, unknown>>, overrides: Readonly<Record<string, AxisValue>>): SweepRun => {
  const name = runName(overrides);
  return { name, overrides, config: E.mapLeft((e: string) => `${name}: ${e}`)(decodeConfig({ ...defaultConfig, ...base, ...overrides })) };
};

/**
 * The runs of `base` varied over `axes`: the cross product, the first axis
 * varying slowest. An axis that is not a config field, or has no values, is
 * a Left for the whole sweep (a typo would otherwise run the base N times);
 * a value a field does not take is a Left in that run's config only.
 */
export const sweep = (base: Readonly<Record<string, unknown>>, axes: Axes = {}): E.Either<string, readonly SweepRun[]> => {
  const names = Object.keys(axes);
  const fields = checkFields('axes', names);
  if (E.isLeft(fields)) return fields;
  const empty = names.filter((k) => axes[k]!.length === 0);
  if (empty.length > 0) return E.left(`axes: ${empty.join(', ')} ${empty.length === 1 ? 'has' : 'have'} no values`);
  const clash = names.filter((k) => k in base);
  if (clash.length > 0) return E.left(`axes: ${clash.join(', ')} ${clash.length === 1 ? 'is' : 'are'} also set in the base; set ${clash.length === 1 ? 'it' : 'them'} in one place`);
  let combos: Array<Record<string, AxisValue>> = [{}];
  for (const k of names) combos = combos.flatMap((c) => axes[k]!.map((v) => ({ ...c, [k]: v })));
  const runs = combos.map((o) => runOf(base, o));
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.name)) return E.left(`axes: two runs would both be named ${r.name} (a value repeated in an axis?)`);
    seen.add(r.name);
  }
  return E.right(runs);
};

/** A sweep file's runs: its axes' cross product, or its explicit variants (not both). */
export const sweepOf = (file: unknown, where = 'the sweep'): E.Either<string, readonly SweepRun[]> => E.map((s: Sweep) => s.runs)(readSweep(file, where));

const TOP = ['name', 'base', 'axes', 'variants', 'eval'];

/** A decoded sweep file: its runs, and where `sweep report` scores them. */
export interface Sweep {
  readonly runs: readonly SweepRun[];
  readonly eval: SweepEval;
}

/** A sweep file decoded: its runs (as sweepOf) and its eval section. */
export const readSweep = (file: unknown, where = 'the sweep'): E.Either<string, Sweep> => {
  const decoded = SweepFile.decode(file);
  if (E.isLeft(decoded)) return E.left(`${where}: ${describeErrors(decoded.left, 'the sweep')}`);
  const extra = Object.keys(file as object).filter((k) => !TOP.includes(k));
  if (extra.length > 0) return E.left(`${where}: ${extra.map((k) => `'${k}'`).join(', ')} ${extra.length === 1 ? 'is' : 'are'} not part of a sweep file (it holds ${TOP.join(', ')})`);
  const { base, axes, variants } = decoded.right;
  const runs = runsOf(base, axes, variants, where);
  return E.map((r: readonly SweepRun[]) => ({ runs: r, eval: decoded.right.eval ?? {} }))(runs);
};

const runsOf = (base: Readonly<Record<string, unknown>>, axes: Axes | undefined, variants: ReadonlyArray<Readonly<Record<string, AxisValue>>> | undefined, where: string): E.Either<string, readonly SweepRun[]> => {
  const baseFields = checkFields(`${where}: base`, Object.keys(base));
  if (E.isLeft(baseFields)) return baseFields;
  if (axes !== undefined && variants !== undefined) return E.left(`${where}: give axes (a cross product) or variants (a list), not both`);
  if (variants === undefined) return E.mapLeft((e: string) => `${where}: ${e}`)(sweep(base, axes ?? {}));
  for (const [i, v] of variants.entries()) {
    const f = checkFields(`${where}: variants[${i}]`, Object.keys(v));
    if (E.isLeft(f)) return f;
  }
  const runs = variants.map((v) => runOf(base, v));
  const dup = runs.find((r, i) => runs.findIndex((q) => q.name === r.name) !== i);
  return dup === undefined ? E.right(runs) : E.left(`${where}: two variants are both ${dup.name}`);
};
