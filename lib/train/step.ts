/**
 * One pix2pix training step, synchronous, inside one tf.tidy: one D update,
 * then one G update against the updated D (the reference's order).
 *
 * G runs forward twice with the same key — once for D's update, once under
 * the gradient tape for its own — so both see the identical dropout mask
 * and batch statistics, i.e. the same fake as the reference's single forward.
 */
import * as tf from '@tensorflow/tfjs';
import { foldIn } from '../core/key.ts';
import type { Ctx } from '../core/layer.ts';
import { leaves, withLeaves, type Tree } from '../core/tree.ts';
import { ganLoss } from '../losses/gan.ts';
import { adversarialTerm } from '../losses/objective.ts';
import { adamUpdate } from '../optim/adam.ts';
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

/** Thrown when a loss is NaN or infinite; the state passed to the step is still intact. */
export class DivergedError extends Error {
  override readonly name = 'DivergedError';
  constructor(readonly step: number, readonly metrics: StepMetrics) {
    super(`training diverged at step ${step}: a loss is not finite (${JSON.stringify(metrics)})`);
  }
}

export type Step = (state: TrainState, batch: Batch) => [TrainState, StepMetrics];

export const makeStep = (spec: Pix2PixSpec): Step => {
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

    // Nested scopes keep the peak small: each phase frees its activations
    // and gradients as soon as it has produced what the next phase needs.
    const [next, metrics] = tf.tidy((): any => {
      const [fake, gState] = tf.tidy((): any => G.apply(s.g.params, s.g.state, x, gCtx)) as [tf.Tensor4D, TrainState['g']['state']];
      const dPhase = tf.tidy((): any => {
        if (!adv) return { d: s.d, dOpt: s.dOpt, dLosses: tf.zeros([2]) };
        // D: (loss on real + loss on fake) / 2, with the fake held fixed.
        const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
          const p = withLeaves(s.d.params, ps);
          const [real] = D.apply(p, s.d.state, dInput(x, y), dCtx);
          const [faked] = D.apply(p, s.d.state, dInput(x, fake), dCtx);
          return tf.stack([ganLoss(spec.objective.ganMode, real, true), ganLoss(spec.objective.ganMode, faked, false)]);
        })(leaves(s.d.params), tf.tensor1d([0.5, 0.5]));
        const [dParams, dOpt] = adamUpdate(adam, grads, s.dOpt, s.d.params, lr);
        return { d: { params: dParams, state: updatedDState(s.d.state, dParams, x, y, fake) }, dOpt, dLosses: value };
      }) as { d: TrainState['d']; dOpt: TrainState['dOpt']; dLosses: tf.Tensor };
      const { d } = dPhase;
      // G: weighted adversarial + reconstruction terms, against the updated D.
      const gPhase = tf.tidy((): any => {
        const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
          const [out] = G.apply(withLeaves(s.g.params, ps), s.g.state, x, gCtx);
          const diff = tf.sub(y, out);
          const adversarial = adv ? ganLoss(spec.objective.ganMode, D.apply(d.params, d.state, dInput(x, out), dCtx)[0], true) : tf.scalar(0);
          return tf.stack([adversarial, tf.mean(tf.abs(diff)), tf.mean(tf.square(diff))]);
        })(leaves(s.g.params), tf.tensor1d([adv?.weight ?? 0, wL1, wL2]));
        const [gParams, gOpt] = adamUpdate(adam, grads, s.gOpt, s.g.params, lr);
        return { gParams, gOpt, gLosses: value };
      }) as { gParams: TrainState['g']['params']; gOpt: TrainState['gOpt']; gLosses: tf.Tensor };
      const state: TrainState = {
        ...s,
        g: { params: gPhase.gParams, state: gState },
        d,
        gOpt: gPhase.gOpt,
        dOpt: dPhase.dOpt,
        step: s.step + 1,
        epoch: batch.epoch ?? s.epoch,
        position: (batch.index ?? s.position) + 1,
      };
      return [state, tf.concat([dPhase.dLosses, gPhase.gLosses])];
    }) as [TrainState, tf.Tensor];

    const [dReal = NaN, dFake = NaN, gGan = NaN, gL1 = NaN, gL2 = NaN] = Array.from(metrics.dataSync());
    metrics.dispose();
    const m: StepMetrics = adv ? { dReal, dFake, gGan, gL1, gL2, lr } : { gL1, gL2, lr };
    if (![dReal, dFake, gGan, gL1, gL2].every((v) => Number.isFinite(v))) {
      // Throw before anyone can replace the last good state.
      disposeNew(s, next);
      throw new DivergedError(s.step, m);
    }
    return [next, m];
  };

  /** Batch-norm running statistics of D, if it tracks them (the paper's D does not). */
  function updatedDState(state: Tree, params: Tree, x: tf.Tensor4D, y: tf.Tensor4D, fake: tf.Tensor4D): Tree {
    if (leaves(state).length === 0) return state;
    const ctx: Ctx = { mode: 'train', key: foldIn([0, 0], 0) };
    const [, afterFake] = D.apply(params, state, dInput(x, fake), ctx);
    return D.apply(params, afterFake, dInput(x, y), ctx)[1];
  }
};

function disposeNew(old: TrainState, next: TrainState) {
  const oldTensors = new Set(stateTensors(old));
  for (const t of stateTensors(next)) if (!oldTensors.has(t)) t.dispose();
}
