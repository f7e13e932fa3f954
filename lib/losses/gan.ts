/** Adversarial losses on D's logits. */
import * as tf from '@tensorflow/tfjs';
import { sigmoidCrossEntropy } from '../ops/cross-entropy.ts';

/**
 * `vanilla`: sigmoid cross-entropy on logits (the paper); G's loss is the
 * non-saturating one. `lsgan`: least squares to 1 (real) and 0 (fake).
 * `hinge` (SPADE, pix2pixHD's successors): D mean(relu(1 - real)) and
 * mean(relu(1 + fake)); G -mean(fake).
 */
export type GanMode = 'vanilla' | 'lsgan' | 'hinge';

export const GAN_MODES: readonly GanMode[] = ['vanilla', 'lsgan', 'hinge'];

/** D's loss for logits that should be judged real (`real` true) or fake. */
export const discriminatorLoss = (mode: GanMode, logits: tf.Tensor, real: boolean): tf.Scalar =>
  tf.tidy(() => {
    if (mode === 'lsgan') return tf.mean(tf.squaredDifference(logits, real ? 1 : 0)) as tf.Scalar;
    if (mode === 'hinge') return tf.mean(tf.relu(real ? tf.sub(1, logits) : tf.add(1, logits))) as tf.Scalar;
    // -log sigmoid(l) for real, -log(1 - sigmoid(l)) for fake (one fused op where the backend has it).
    return sigmoidCrossEntropy(logits, real);
  });

/** G's adversarial loss on D's logits for its output: as if they were real, except hinge's -mean. */
export const generatorLoss = (mode: GanMode, logits: tf.Tensor): tf.Scalar =>
  mode === 'hinge' ? tf.tidy(() => tf.neg(tf.mean(logits)) as tf.Scalar) : discriminatorLoss(mode, logits, true);

/** The loss for D's logits when the patches should be judged real (`target` true) or fake (D's side). */
export const ganLoss = discriminatorLoss;
