/**
 * A discriminator's verdicts: its logits and the features its `feature`
 * layers mark, on one input, or on the real and the fake pair at once.
 *
 * The paired form shows D both pairs as one batch of two blocks
 * (Ctx.groups = 2) where every layer of D is `groupwise` (keeps the blocks
 * apart: convolutions, activations, norms without running statistics), so
 * D's update runs one forward and one backward pass instead of two of each:
 * half the kernel launches and D's weights read once per pass. Each block's
 * logits and features are what a pass of its own gives; D's weight
 * gradients sum the two blocks' terms in another order (one reduction over
 * both instead of two added), so they agree with the two-pass form to float
 * rounding, not bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import type { Ctx, Layer } from '../core/layer.ts';
import type { Tree } from '../core/tree.ts';
import type { Critique } from '../losses/objective.ts';

/** D on one input. */
export const critique = (D: Layer, params: Tree, state: Tree, input: tf.Tensor4D, ctx: Ctx): Critique => {
  const features: tf.Tensor4D[] = [];
  const [logits] = D.apply(params, state, input, { ...ctx, features });
  return { logits, features };
};

/** Whether `pairedCritique` serves D on these inputs: D keeps blocks apart, and the two pairs are of one shape. */
export const canPair = (D: Layer, real: tf.Tensor4D, fake: tf.Tensor4D): boolean =>
  D.groupwise === true && real.shape.every((d, i) => d === fake.shape[i]);

const halves = (t: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] => tf.split(t, 2, 0) as [tf.Tensor4D, tf.Tensor4D];

/** D on the real and the fake pair as one batch of two blocks (see the header); only where `canPair`. */
export const pairedCritique = (D: Layer, params: Tree, state: Tree, real: tf.Tensor4D, fake: tf.Tensor4D, ctx: Ctx): { real: Critique; fake: Critique } => {
  if (!canPair(D, real, fake)) throw new Error(`pairedCritique: ${D.name} is not groupwise, or the pairs differ in shape (${real.shape} and ${fake.shape})`);
  const both = critique(D, params, state, tf.concat([real, fake], 0) as tf.Tensor4D, { ...ctx, groups: 2 });
  const [realLogits, fakeLogits] = halves(both.logits);
  const features = both.features.map(halves);
  return {
    real: { logits: realLogits, features: features.map(([r]) => r) },
    fake: { logits: fakeLogits, features: features.map(([, f]) => f) },
  };
};
