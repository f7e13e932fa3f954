/**
 * One training step derived from the spec (synchronous, or with its one
 * read-back awaited): the discriminators
 * (any number, or none), the objective's terms, G's and D's optimisers,
 * D updates per G update and the image pool. On a step that updates G:
 * the D update, then the G update against the updated Ds (the reference's
 * order), from a single G forward.
 *
 * G's forward runs under the gradient tape; the Ds are updated inside it
 * with the tape paused (the reference's fake.detach()), so G's gradient
 * flows only through its own loss. Pure unless asked to donate.
 */
import * as tf from '@tensorflow/tfjs';
import { addN } from '../ops/add-n.ts';
import { foldIn } from '../core/key.ts';
import type { Ctx, Layer } from '../core/layer.ts';
import { offTape } from '../core/tape.ts';
import { leaves, tensorsIn, withLeaves, type Tree } from '../core/tree.ts';
import { adversarialTerm, type Critique, type LossContext } from '../losses/objective.ts';
import { sumOfSquares } from '../optim/global-norm.ts';
import { applyGradients, type OptState, type Progress } from '../optim/transform.ts';
import { queryPool, type ImagePool } from './pool.ts';
import { DivergedError, type StepMetrics } from './step-metrics.ts';
import { discriminatorsOf, dKey, optimizersOf, stateTensors, type Batch, type Pix2PixSpec, type TrainState } from './state.ts';

export { DivergedError, showLosses, type StepMetrics } from './step-metrics.ts';

/** D's update: its new parameters, state, optimiser state and pool, its loss parts and its gradient's squared norm. */
interface DPhase {
  readonly d: TrainState['d'];
  readonly dOpt: OptState;
  readonly pool: ImagePool | undefined;
  readonly dLosses: tf.Tensor;
  /** `D/<term>/<part>` for each entry of dLosses. */
  readonly dParts: readonly string[];
  readonly dGradSq: tf.Scalar;
}

export type Step = (state: TrainState, batch: Batch) => [TrainState, StepMetrics];

/** The same step where the one read-back of its losses is awaited (`data()`): for backends without synchronous reads. */
export type AsyncStep = (state: TrainState, batch: Batch) => Promise<[TrainState, StepMetrics]>;

type StepBody = (state: TrainState, batch: Batch) => Generator<tf.Tensor, [TrainState, StepMetrics], ArrayLike<number>>;

export interface StepOptions {
  /**
   * Let the step overwrite G's parameters and optimiser state in the state
   * it is given instead of allocating new ones (JAX's donate_argnums): the
   * fold drops that state anyway, and at 256x256 this saves ~690 MB of peak
   * memory on the native backend with Adam. The state passed in must then
   * only be disposed (disposeReplaced), never read. Where no fused kernel
   * serves the optimiser it changes nothing. A step that throws
   * DivergedError has not touched it.
   */
  readonly donate?: boolean;
}

/** Lazily computed verdicts, each once. */
const memo = <T>(f: (i: number) => T): ((i: number) => T) => {
  const seen = new Map<number, T>();
  return (i) => {
    if (!seen.has(i)) seen.set(i, f(i));
    return seen.get(i)!;
  };
};

const stepBody = (spec: Pix2PixSpec, options: StepOptions): StepBody => {
  const donate = options.donate ?? false;
  const G = spec.generator;
  const Ds = discriminatorsOf(spec);
  const many = Ds.length > 1;
  const opt = optimizersOf(spec);
  const every = spec.dStepsPerG ?? 1;
  const terms = spec.objective.terms;
  const gTerms = terms.filter((t) => t.g !== undefined);
  const dTerms = Ds.length > 0 ? terms.filter((t) => t.d !== undefined) : [];
  const l1Term = gTerms.findIndex((t) => t.name === 'l1');
  const conditional = adversarialTerm(spec.objective)?.sees !== 'output';
  const dInput = (x: tf.Tensor4D, y: tf.Tensor4D) => (conditional ? (tf.concat([x, y], 3) as tf.Tensor4D) : y);
  const part = (t: Tree, i: number): Tree => (many ? (t as readonly Tree[])[i]! : t);
  const critique = (D: Layer, params: Tree, state: Tree, input: tf.Tensor4D, ctx: Ctx): Critique => {
    const features: tf.Tensor4D[] = [];
    const [logits] = D.apply(params, state, input, { ...ctx, features });
    return { logits, features };
  };
  const lrOf = (t: typeof opt.g, at: Progress) => (t.lr ? t.lr(at) : NaN);

  /**
   * The step as a generator: it yields the one tensor it must read back
   * (every loss and both gradients' squared norms, before G's parameters
   * change) and takes its values, so the same code runs with dataSync
   * (makeStep) or with `await data()` (makeAsyncStep, for backends that
   * cannot read synchronously: webgpu in Node). What is made before the
   * read-back and needed after it is kept by hand; whatever way the
   * generator ends, the tensors it made that the new state does not hold
   * are disposed.
   */
  return function* (s: TrainState, batch: Batch): Generator<tf.Tensor, [TrainState, StepMetrics], ArrayLike<number>> {
    const { x, y } = batch;
    const key = foldIn(s.key, s.step);
    const gCtx: Ctx = { mode: 'train', key: foldIn(key, 'G') };
    const dCtx = (i: number): Ctx => ({ mode: 'train', key: dKey(key, i, Ds.length) });
    const at: Progress = { step: s.step, epoch: batch.epoch ?? s.epoch };
    // An objective of D terms only trains no G.
    const updatesG = gTerms.length > 0 && (s.step + 1) % every === 0;

    // Made inside G's taped function but needed after it: kept, so they are
    // disposed by hand if the step fails. A tensor passed through from the
    // state given (a state a layer left as it was) is not the step's to free.
    const given = new Set(stateTensors(s));
    const kept = new Set<tf.Tensor>();
    const keep = <T>(tree: T): T => {
      for (const t of tensorsIn(tree)) if (!given.has(t) && !kept.has(t)) kept.add(tf.keep(t));
      return tree;
    };
    let gState: Tree = s.g.state;
    let dPhase: DPhase | undefined; // without a discriminator there is none to train
    let gGrads: tf.Tensor[] = [];
    let read: tf.Tensor | undefined;
    let succeeded = false;

    try {
      read = tf.tidy(() => {
        // One G forward serves both updates: D's, computed off G's gradient
        // tape (D's update is a constant for G's gradient, and its own
        // activations are freed at once), then G's, against the updated Ds.
        const forward = (ps: Tree): tf.Tensor4D => {
          const [out, newGState] = G.apply(ps, s.g.state, x, gCtx);
          gState = keep(newGState);
          if (Ds.length > 0) dPhase = keep(offTape(() => updateD(out)));
          return out;
        };
        // G's terms (and the L1 monitor, when no term is L1), unweighted, for the log.
        const gTermValues = (out: tf.Tensor4D): tf.Scalar[] => {
          const c = gContext(out);
          const values = gTerms.map((t) => t.g!(c));
          if (l1Term < 0) values.push(tf.mean(tf.abs(tf.sub(y, out))) as tf.Scalar);
          return values;
        };
        let gValue: tf.Tensor;
        if (updatesG) {
          const r = tf.tidy((): any => {
            let values: tf.Tensor | undefined;
            const { grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
              const v = gTermValues(forward(withLeaves(s.g.params, ps)));
              values = tf.keep(tf.stack(v));
              return weightedSum(v.slice(0, gTerms.length), gTerms.map((t) => t.weight));
            })(leaves(s.g.params));
            return { value: values!, grads };
          }) as { value: tf.Tensor; grads: tf.Tensor[] };
          gValue = r.value;
          kept.add(gValue);
          gGrads = r.grads.map((g) => tf.keep(g));
        } else {
          // A D-only step: G's forward off the tape, its losses for the log.
          gValue = tf.tidy(() => tf.stack(gTermValues(forward(s.g.params))));
        }
        const gGradSq = sumOfSquares(gGrads);
        const dp = dPhase as DPhase | undefined;
        const all = tf.concat([dp?.dLosses ?? tf.zeros([0]), gValue, tf.stack([dp?.dGradSq ?? tf.scalar(0), gGradSq])]);
        tf.dispose(dp ? [dp.dLosses, dp.dGradSq, gValue] : [gValue]);
        return all;
      });

      // Every loss, and whether the gradients are finite, is known before
      // G's parameters change (the one read-back): a step that diverges
      // throws here and drops all it made.
      const values = Array.from(yield read);
      const result = tf.tidy(() => {
        const dp = dPhase as DPhase | undefined;
        const nD = dp ? dp.dParts.length : 0;
        const metrics: Record<string, number> = {};
        let j = 0;
        for (const name of dp?.dParts ?? []) metrics[name] = values[j++]!;
        j = nD;
        for (const t of gTerms) metrics[`G/${t.name}`] = values[j++]!;
        metrics['L1'] = l1Term < 0 ? values[j++]! : metrics['G/l1']!;
        const [dSq, gSq] = [values[j]!, values[j + 1]!];
        if (opt.g.lr) metrics['lr'] = lrOf(opt.g, at);
        if (dp && opt.d.lr) metrics['lrD'] = lrOf(opt.d, at);
        if (!values.slice(0, j).every((v) => Number.isFinite(v))) throw new DivergedError(s.step + 1, metrics);
        for (const [net, sq] of [['D', dSq], ['G', gSq]] as const)
          if (!Number.isFinite(sq))
            throw new DivergedError(s.step + 1, metrics, `${net}'s gradient is not finite (the sum of its squares is ${sq}), so its update would put Inf or NaN into ${net}'s optimiser state or weights; the losses were ${JSON.stringify(metrics)}`);

        const [gParams, gOpt] = updatesG ? applyGradients(opt.g, withLeaves(s.g.params, gGrads), s.gOpt, s.g.params, at, { donate }) : [s.g.params, s.gOpt];
        const state: TrainState = {
          ...s,
          g: { params: gParams, state: gState },
          d: dp?.d ?? s.d,
          gOpt,
          dOpt: dp?.dOpt ?? s.dOpt,
          ...(dp?.pool ? { pool: dp.pool } : {}),
          step: s.step + 1,
          epoch: batch.epoch ?? s.epoch,
          position: (batch.index ?? s.position) + 1,
        };
        return [state, metrics] as any;
      }) as unknown as [TrainState, StepMetrics];
      succeeded = true;
      return result;
    } finally {
      tf.dispose(gGrads);
      read?.dispose();
      if (!succeeded) tf.dispose([...kept]);
    }

    /** G's view: the updated Ds' verdicts on its output (on the tape) and on the real pair (constants). */
    function gContext(out: tf.Tensor4D): LossContext {
      const d = dPhase?.d;
      let fakeIn: tf.Tensor4D | undefined; // what every D sees of G's output, made once
      const shown = () => (fakeIn ??= dInput(x, out));
      return {
        x,
        y,
        fake: out,
        critics: Ds.length,
        onFake: memo((i) => critique(Ds[i]!, part(d!.params, i), part(d!.state, i), shown(), dCtx(i))),
        onReal: memo((i) => offTape(() => critique(Ds[i]!, part(d!.params, i), part(d!.state, i), dInput(x, y), dCtx(i)))),
      };
    }

    /** The Ds: their loss parts on real and on (held, maybe pooled) fake pairs; never donated. */
    function updateD(fake: tf.Tensor4D): DPhase {
      return tf.tidy((): any => {
        const [shown, pool] = s.pool ? queryPool(s.pool, dInput(x, fake), foldIn(key, 'pool')) : [dInput(x, fake), undefined];
        const realIn = dInput(x, y);
        let dLosses: tf.Tensor | undefined;
        let dParts: string[] = [];
        const { grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
          const p = withLeaves(s.d.params, ps);
          const c: LossContext = {
            x,
            y,
            fake,
            critics: Ds.length,
            onReal: memo((i) => critique(Ds[i]!, part(p, i), part(s.d.state, i), realIn, dCtx(i))),
            onFake: memo((i) => critique(Ds[i]!, part(p, i), part(s.d.state, i), shown, dCtx(i))),
          };
          const parts = dTerms.flatMap((t) => t.d!(c).map(([name, v, w]) => [`D/${t.name}/${name}`, v, w] as const));
          dParts = parts.map(([name]) => name);
          dLosses = tf.keep(tf.stack(parts.map(([, v]) => v)));
          return weightedSum(parts.map(([, v]) => v), parts.map(([, , w]) => w));
        })(leaves(s.d.params));
        const dGradSq = sumOfSquares(grads);
        const [dParams, dOpt] = applyGradients(opt.d, withLeaves(s.d.params, grads), s.dOpt, s.d.params, at);
        return { d: { params: dParams, state: updatedDState(dParams, realIn, shown) }, dOpt, pool, dLosses: dLosses!, dParts, dGradSq };
      }) as DPhase;
    }

    /** Batch-norm running statistics of the Ds, if they track them (the paper's D does not). */
    function updatedDState(params: Tree, realIn: tf.Tensor4D, fakeIn: tf.Tensor4D): Tree {
      if (leaves(s.d.state).length === 0) return s.d.state;
      const ctx: Ctx = { mode: 'train', key: foldIn([0, 0], 0) };
      const states = Ds.map((D, i) => {
        const [, afterFake] = D.apply(part(params, i), part(s.d.state, i), fakeIn, ctx);
        return D.apply(part(params, i), afterFake, realIn, ctx)[1];
      });
      return many ? states : states[0]!;
    }
  };
};

/**
 * The training step (state, batch) -> [state', metrics], synchronous: its
 * read-back is a dataSync. Bit for bit the same as makeAsyncStep's.
 */
export const makeStep = (spec: Pix2PixSpec, options: StepOptions = {}): Step => {
  const body = stepBody(spec, options);
  return (s, batch) => {
    const it = body(s, batch);
    let r = it.next();
    while (r.done !== true) {
      let values: ArrayLike<number>;
      try {
        values = r.value.dataSync();
      } catch (e) {
        it.return(undefined as never); // the step's tensors are disposed
        if (tf.getBackend() === 'webgpu')
          throw new Error(`makeStep reads its losses synchronously, which the webgpu backend cannot do outside a browser page (${e instanceof Error ? e.message : String(e)}): use makeAsyncStep, the same step with the read-back awaited`, { cause: e });
        throw e;
      }
      r = it.next(values);
    }
    return r.value;
  };
};

/**
 * The training step with its read-back awaited: what webgpu needs in Node
 * (no synchronous reads there), and works on every backend. `fit` takes
 * either kind.
 */
export const makeAsyncStep = (spec: Pix2PixSpec, options: StepOptions = {}): AsyncStep => {
  const body = stepBody(spec, options);
  return async (s, batch) => {
    const it = body(s, batch);
    let r = it.next();
    while (r.done !== true) {
      let values: ArrayLike<number>;
      try {
        values = await r.value.data();
      } catch (e) {
        it.return(undefined as never);
        throw e;
      }
      r = it.next(values);
    }
    return r.value;
  };
};

/**
 * sum_i w_i * v_i, the loss a network descends: its gradient reaches each
 * v_i as exactly w_i, as the weighted-stack form of the step before terms
 * were values did (so the paper's default keeps its bits).
 */
const weightedSum = (values: readonly tf.Scalar[], weights: readonly number[]): tf.Scalar =>
  addN(values.map((v, i) => tf.mul(v, weights[i]!))) as tf.Scalar;
