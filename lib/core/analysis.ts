/**
 * What can be known about a layer before any tensor exists: its parameter
 * count, its receptive field, and a per-layer summary.
 */
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import { serial, type Geom } from '../geometry/geom.ts';
import { footprint as footprintOfGeom, receptiveFieldOf, type Positions } from '../geometry/receptive-field.ts';
import type { Key } from './key.ts';
import type { Initialised, Layer, Plan } from './layer.ts';
import type { Shape, ShapeError } from './shape.ts';

/** The exact receptive field (along one axis) of the layer's output with respect to its input. */
export const receptiveField = (layer: Layer): number => receptiveFieldOf(layer.geom);

/** The input positions (one axis, unbounded input) that output position `o` depends on. */
export const footprint = (layer: Layer, o: number): Positions => footprintOfGeom(layer.geom, o);

const totalParams = (plan: Plan): number => plan.params + plan.children.reduce((n, c) => n + totalParams(c), 0);

/** Number of trainable scalars for this input shape, computed without allocating. */
export const paramCount = (layer: Layer, input: Shape): E.Either<ShapeError, number> =>
  pipe(layer.plan(input), E.map(totalParams));

/** Check the shape, then initialise: a bad shape is a Left, never a tf.js error. */
export const initialize = (layer: Layer, key: Key, input: Shape): E.Either<ShapeError, Initialised> =>
  pipe(layer.plan(input), E.map((plan) => layer.init(key, plan)));

export interface SummaryRow {
  /** `unet › level 2 › conv 4x4/2` */
  readonly path: string;
  readonly output: Shape;
  readonly params: number;
  /** Receptive field of this layer's output with respect to the network's input. */
  readonly receptiveField: number;
}

export interface Summary {
  readonly rows: readonly SummaryRow[];
  readonly params: number;
  readonly output: Shape;
  readonly receptiveField: number;
}

/**
 * One row per leaf layer. The receptive field of a row is that of the
 * network from its input up to that layer: the geometry before a layer is
 * threaded through serial parts and shared by parallel branches.
 */
export const summarize = (layer: Layer, input: Shape): E.Either<ShapeError, Summary> =>
  pipe(
    layer.plan(input),
    E.map((plan) => {
      const rows: SummaryRow[] = [];
      // `scope` is the group of the innermost named scope on the path, if any.
      const walk = (p: Plan, path: readonly string[], before: readonly Geom[], scope?: string): void => {
        const transparent = p.transparent === true;
        const here = transparent ? path : p.group !== undefined && p.group === scope ? [...path.slice(0, -1), p.name] : [...path, p.name];
        const innerScope = transparent ? scope : p.group;
        if (p.composition === 'leaf') {
          rows.push({ path: here.join(' › '), output: p.output, params: p.params, receptiveField: receptiveFieldOf(serial([...before, p.geom])) });
          return;
        }
        let prefix = before;
        for (const child of p.children) {
          walk(child, here, prefix, innerScope);
          if (p.composition === 'serial') prefix = [...prefix, child.geom];
        }
      };
      walk(plan, [], []);
      return { rows, params: totalParams(plan), output: plan.output, receptiveField: receptiveFieldOf(plan.geom) };
    }),
  );

const grouped = (n: number): string => n.toLocaleString('en-US');

/**
 * A summary as the text table `pix2pix summary` prints (layer, output,
 * params, receptive field; a total line), under `title`.
 */
export const formatSummary = (title: string, s: Summary): string => {
  const rows = s.rows.map((r) => [r.path, r.output.join('x'), grouped(r.params), String(r.receptiveField)]);
  const head = ['layer', 'output', 'params', 'receptive field'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    title,
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
    `total: ${grouped(s.params)} parameters, output ${s.output.join('x')}, receptive field ${s.receptiveField}x${s.receptiveField}`,
  ].join('\n');
};
