/**
 * One pix2pix training step, synchronous: one D update, then one G update
 * against the updated D (the reference's order), from a single G forward.
 *
 * G's forward runs under the gradient tape; D is updated inside it with the
 * tape paused (the reference's fake.detach()), so G's gradient flows only
 * through its own loss. Pure unless asked to donate.
 */
import * as tf from '@tensorflow/tfjs';
import { foldIn } from '../core/key.ts';
import type { Ctx } from '../core/layer.ts';
import { offTape } from '../core/tape.ts';
import { leaves, withLeaves, type Tree } from '../core/tree.ts';
import { ganLoss } from '../losses/gan.ts';
import { adversarialTerm } from '../losses/objective.ts';
import { adamUpdate } from '../optim/adam.ts';
import { sumOfSquares } from '../optim/global-norm.ts';
import { adamOf, stateTensors, type Batch, type Pix2PixSpec, type TrainState } from './state.ts';

export interface StepMetrics {
  /** D's loss on real and on fake pairs (absent without an adversarial term). */
  readonly dReal?: number;
  readonly dFake?: number;
  /** G's adversarial loss (non-saturating), unweighted. */
  readonly gGan?: number;
  /** Mean |y - G(x)| and mean (y - G(x))^2, unweighted. */
  readonly gL1: number;
  readonly gL2: number;
  /** The learning rate used. */
  readonly lr: number;
}

/**
 * Thrown when a loss is NaN or infinite, or a network's gradient is (its
 * squared norm overflows float32: its Adam update would put Inf into the
 * second moment, or NaN into the weights). `step` is the number the step
 * would have had (state.step + 1, as in the logs: steps count from 1); the
 * state passed to the step is still intact.
 */
export class DivergedError extends Error {
  override readonly name = 'DivergedError';
  constructor(
    readonly step: number,
    readonly metrics: StepMetrics,
    readonly reason = `a loss is not finite (${JSON.stringify(metrics)})`,
  ) {
    super(`training diverged at step ${step}: ${reason}`);
  }
}

/** D's update: its new parameters, state and moments, its two losses and its gradient's squared norm. */
interface DPhase {
  readonly d: TrainState['d'];
  readonly dOpt: TrainState['dOpt'];
  readonly dLosses: tf.Tensor;
  readonly dGradSq: tf.Scalar;
}

export type Step = (state: TrainState, batch: Batch) => [TrainState, StepMetrics];

export interface StepOptions {
  /**
   * Let the step overwrite G's parameters and Adam moments in the state it
   * is given instead of allocating new ones (JAX's donate_argnums): the fold
   * drops that state anyway, and at 256x256 this saves ~690 MB of peak
   * memory on the native backend. The state passed in must then only be
   * disposed (disposeReplaced), never read. Where the backend has no fused
   * Adam kernel it changes nothing. A step that throws DivergedError has
   * not touched it.
   */
  readonly donate?: boolean;
}

export const makeStep = (spec: Pix2PixSpec, options: StepOptions = {}): Step => {
  const donate = options.donate ?? false;
  const G = spec.generator;
  const D = spec.discriminator;
  const adam = adamOf(spec);
  const adv = adversarialTerm(spec.objective);
  const weight = (kind: 'l1' | 'l2') => spec.objective.terms.filter((t) => t.kind === kind).reduce((w, t) => w + t.weight, 0);
  const wL1 = weight('l1');
  const wL2 = weight('l2');
  const dInput = (x: tf.Tensor4D, y: tf.Tensor4D) => (adv?.kind === 'cgan' ? (tf.concat([x, y], 3) as tf.Tensor4D) : y);

  return (s, batch) => {
    const { x, y } = batch;
    const key = foldIn(s.key, s.step);
    const gCtx: Ctx = { mode: 'train', key: foldIn(key, 'G') };
    const dCtx: Ctx = { mode: 'train', key: foldIn(key, 'D') };
    const lr = adam.lr * (spec.schedule?.(batch.epoch ?? s.epoch) ?? 1);

    // Made inside G's taped function but needed after it: kept, so they are
    // disposed by hand if the step fails. A tensor passed through from the
    // state given (a state a layer left as it was) is not the step's to free.
    const given = new Set(stateTensors(s));
    const kept: tf.Tensor[] = [];
    const keep = <T extends Tree>(tree: T): T => {
      for (const t of leaves(tree)) if (!given.has(t)) kept.push(tf.keep(t));
      return tree;
    };
    let gState: Tree = s.g.state;
    let dPhase: DPhase | undefined; // without an adversarial term there is no D to train

    try {
      return tf.tidy(() => {
        // One G forward serves both updates: D's, computed off G's gradient
        // tape (the reference's fake.detach(): D's update is a constant for
        // G's gradient, and its own activations are freed at once), then G's,
        // against the updated D — the reference's order.
        const gPhase = tf.tidy((): any =>
          tf.valueAndGrads((...ps: tf.Tensor[]) => {
            const [out, newGState] = G.apply(withLeaves(s.g.params, ps), s.g.state, x, gCtx);
            gState = keep(newGState);
            if (adv) {
              dPhase = offTape(() => updateD(out as tf.Tensor4D));
              [dPhase.d.params, dPhase.d.state, dPhase.dOpt.m, dPhase.dOpt.v, dPhase.dLosses, dPhase.dGradSq].forEach(keep);
            }
            const diff = tf.sub(y, out);
            const adversarial = dPhase ? ganLoss(spec.objective.ganMode, D.apply(dPhase.d.params, dPhase.d.state, dInput(x, out), dCtx)[0], true) : tf.scalar(0);
            return tf.stack([adversarial, tf.mean(tf.abs(diff)), tf.mean(tf.square(diff))]);
          })(leaves(s.g.params), tf.tensor1d([adv?.weight ?? 0, wL1, wL2])),
        ) as { value: tf.Tensor; grads: tf.Tensor[] };

        // Every loss, and whether both gradients are finite, is known before
        // G's parameters change (one read-back): a step that diverges throws
        // here and drops all it made.
        const gGradSq = sumOfSquares(gPhase.grads);
        const read = tf.concat([dPhase?.dLosses ?? tf.zeros([2]), gPhase.value, tf.stack([dPhase?.dGradSq ?? tf.scalar(0), gGradSq])]).dataSync();
        const [dReal = NaN, dFake = NaN, gGan = NaN, gL1 = NaN, gL2 = NaN, dSq = NaN, gSq = NaN] = read;
        const metrics: StepMetrics = adv ? { dReal, dFake, gGan, gL1, gL2, lr } : { gL1, gL2, lr };
        if (![dReal, dFake, gGan, gL1, gL2].every((v) => Number.isFinite(v))) throw new DivergedError(s.step + 1, metrics);
        for (const [net, sq] of [['D', dSq], ['G', gSq]] as const)
          if (!Number.isFinite(sq))
            throw new DivergedError(s.step + 1, metrics, `${net}'s gradient is not finite (the sum of its squares is ${sq}), so its Adam update would put Inf or NaN into ${net}'s moments or weights; the losses were ${JSON.stringify(metrics)}`);

        const [gParams, gOpt] = adamUpdate(adam, gPhase.grads, s.gOpt, s.g.params, lr, donate);
        tf.dispose(gPhase.grads);
        const state: TrainState = {
          ...s,
          g: { params: gParams, state: gState },
          d: dPhase?.d ?? s.d,
          gOpt,
          dOpt: dPhase?.dOpt ?? s.dOpt,
          step: s.step + 1,
          epoch: batch.epoch ?? s.epoch,
          position: (batch.index ?? s.position) + 1,
        };
        tf.dispose(dPhase ? [dPhase.dLosses, dPhase.dGradSq] : []);
        return [state, metrics] as any;
      }) as unknown as [TrainState, StepMetrics];
    } catch (e) {
      tf.dispose(kept);
      throw e;
    }

    /** D: (loss on real + loss on fake) / 2, with the fake held fixed; never donated. */
    function updateD(fake: tf.Tensor4D): DPhase {
      return tf.tidy((): any => {
        const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
          const p = withLeaves(s.d.params, ps);
          const [real] = D.apply(p, s.d.state, dInput(x, y), dCtx);
          const [faked] = D.apply(p, s.d.state, dInput(x, fake), dCtx);
          return tf.stack([ganLoss(spec.objective.ganMode, real, true), ganLoss(spec.objective.ganMode, faked, false)]);
        })(leaves(s.d.params), tf.tensor1d([0.5, 0.5]));
        const dGradSq = sumOfSquares(grads);
        const [dParams, dOpt] = adamUpdate(adam, grads, s.dOpt, s.d.params, lr);
        return { d: { params: dParams, state: updatedDState(s.d.state, dParams, x, y, fake) }, dOpt, dLosses: value, dGradSq };
      }) as DPhase;
    }
  };

  /** Batch-norm running statistics of D, if it tracks them (the paper's D does not). */
  function updatedDState(state: Tree, params: Tree, x: tf.Tensor4D, y: tf.Tensor4D, fake: tf.Tensor4D): Tree {
    if (leaves(state).length === 0) return state;
    const ctx: Ctx = { mode: 'train', key: foldIn([0, 0], 0) };
    const [, afterFake] = D.apply(params, state, dInput(x, fake), ctx);
    return D.apply(params, afterFake, dInput(x, y), ctx)[1];
  }
};
