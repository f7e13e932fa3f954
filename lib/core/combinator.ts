/**
 * `combinator` turns a small description into a Layer made of layers, the
 * way `leaf` does for primitives. A combinator states only how its output
 * shape follows from its input and its children's outputs, and how it
 * applies its children; planning, initialisation from the plan, key
 * splitting, state threading and summary rows come from here.
 *
 * Children are numbered, and child i draws from foldIn(key, i), with one
 * rule for skip connections: in a `parallel` combinator a branch that is
 * the identity is the input itself — no key, no parameters, no plan row —
 * and when one branch is left it takes the combinator's key and its trees
 * unchanged, so wrapping a layer in `skip` or `residual` never renumbers
 * its weights.
 */
import type * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { parallel, serial, type Geom } from '../geometry/geom.ts';
import { foldIn, type Key } from './key.ts';
import type { Ctx, Layer, Plan } from './layer.ts';
import { orThrow, shapeError, within, type Shape, type ShapeError } from './shape.ts';
import type { Tree } from './tree.ts';
import type { GraphBuilder } from './graph.ts';

/** A child as `apply` sees it: the child applied with its own parameters, state and key. */
export type Child = (x: tf.Tensor4D) => tf.Tensor4D;

export interface CombinatorSpec {
  readonly name: string;
  readonly children: readonly Layer[];
  /**
   * `serial`: child i sees child i-1's output (the first sees the input);
   * `parallel`: every child sees the input.
   */
  readonly composition: 'serial' | 'parallel';
  /**
   * The output shape from the input and the children's outputs, or a message
   * saying why they do not fit (it is reported under this layer's name).
   * Default: the last child's output.
   */
  readonly output?: (input: Shape, outputs: readonly Shape[]) => E.Either<string, Shape>;
  /** The output from the input and the children, each callable once per apply. */
  readonly apply: (x: tf.Tensor4D, children: readonly Child[], ctx: Ctx) => tf.Tensor4D;
  /** Default: the children's geometries in series, or in parallel. */
  readonly geom?: Geom;
  /** Show this layer's name in summary rows (default false: a structural part; `named` names one). */
  readonly visible?: boolean;
  /** `apply` for an exported graph (see ./graph.ts): the same wiring on tensor names. Absent: not exportable. */
  readonly graph?: (x: string, children: ReadonlyArray<(x: string) => string>, g: GraphBuilder) => string;
}

const isPlan = (at: Shape | Plan): at is Plan => !Array.isArray(at);

/**
 * What `init` builds from: the plan it is handed (which must be this
 * layer's), or the plan of the shape it is handed (a bad shape throws a
 * ShapeException naming the layer, before any tensor exists). Children are
 * initialised from their parts of the plan, never re-planned.
 */
export const planFor = (layer: Layer, at: Shape | Plan): Plan => {
  if (!isPlan(at)) return orThrow(layer.plan(at));
  if (at.name !== layer.name) throw new Error(`init: ${layer.name} was handed the plan of ${at.name}`);
  return at;
};

export const combinator = (spec: CombinatorSpec): Layer => {
  const { name, children, composition } = spec;
  const geom = spec.geom ?? (composition === 'serial' ? serial : parallel)(children.map((c) => c.geom));
  // Which children hold a key, parameters and a plan (see the header).
  const keyed = children.map((c) => !(composition === 'parallel' && c.identity === true));
  const slots = children.map((_, i) => keyed.slice(0, i).filter(Boolean).length);
  const count = keyed.filter(Boolean).length;
  const lone = composition === 'parallel' && count === 1;
  const keyOf = (key: Key, i: number): Key => (lone ? key : foldIn(key, slots[i]!));
  const pick = (tree: Tree, i: number): Tree => (lone ? tree : (tree as readonly Tree[])[slots[i]!]!);

  const plan: Layer['plan'] = (input) => {
    const plans: Plan[] = [];
    const outputs: Shape[] = [];
    let shape = input;
    for (const [i, child] of children.entries()) {
      const at = composition === 'serial' ? shape : input;
      if (!keyed[i]) {
        outputs.push(at);
        continue;
      }
      const p = child.plan(at);
      if (E.isLeft(p)) return p;
      plans.push(p.right);
      outputs.push(p.right.output);
      shape = p.right.output;
    }
    const output = spec.output ? spec.output(input, outputs) : E.right<string, Shape>(outputs[outputs.length - 1] ?? input);
    return E.isLeft(output)
      ? E.left<ShapeError, Plan>(within(name)(shapeError(output.left)))
      : E.right<ShapeError, Plan>({
          name,
          input,
          output: output.right,
          params: 0,
          composition,
          children: plans,
          geom,
          ...(spec.visible ? {} : { transparent: true }),
        });
  };

  const self: Layer = {
    name,
    geom,
    plan,
    shape: (input) => E.map((p: Plan) => p.output)(plan(input)),
    init: (key, at) => {
      const p = planFor(self, at);
      const made = children.flatMap((child, i) => (keyed[i] ? [child.init(keyOf(key, i), p.children[slots[i]!]!)] : []));
      return lone ? made[0]! : { params: made.map((m) => m.params), state: made.map((m) => m.state) };
    },
    apply: (params, state, x, ctx) => {
      const newState: Tree[] = new Array(count);
      const run = children.map(
        (child, i): Child =>
          keyed[i]
            ? (input) => {
                const [y, s] = child.apply(pick(params, i), pick(state, i), input, { ...ctx, key: keyOf(ctx.key, i) });
                newState[slots[i]!] = s;
                return y;
              }
            : (input) => input,
      );
      const y = spec.apply(x, run, ctx);
      // A child the combinator did not call this time keeps its state.
      for (const [i] of children.entries()) if (keyed[i] && newState[slots[i]!] === undefined) newState[slots[i]!] = pick(state, i);
      return [y, lone ? newState[0]! : newState];
    },
    ...(spec.graph
      ? {
          graph: (params: Tree, state: Tree, x: string, g: GraphBuilder) =>
            spec.graph!(
              x,
              children.map((child, i) =>
                keyed[i]
                  ? (input: string) => {
                      if (child.graph === undefined) throw new Error(`${name} › ${child.name}: this layer cannot be exported (it has no graph form)`);
                      return child.graph(pick(params, i), pick(state, i), input, g);
                    }
                  : (input: string) => input,
              ),
              g,
            ),
        }
      : {}),
  };
  return self;
};
