/** Adversarial losses on D's logits. */
import * as tf from '@tensorflow/tfjs';

/** `vanilla`: sigmoid cross-entropy on logits (the paper). `lsgan`: least squares. */
export type GanMode = 'vanilla' | 'lsgan';

/** The loss for D's logits when the patches should be judged real (`target` true) or fake. */
export const ganLoss = (mode: GanMode, logits: tf.Tensor, target: boolean): tf.Scalar =>
  tf.tidy(() => {
    if (mode === 'lsgan') return tf.mean(tf.squaredDifference(logits, target ? 1 : 0)) as tf.Scalar;
    // -log sigmoid(l) for real, -log(1 - sigmoid(l)) for fake, written so it never overflows:
    // max(l, 0) - l * t + log(1 + exp(-|l|)).
    const crossEntropy = tf.add(tf.sub(tf.relu(logits), target ? logits : tf.zerosLike(logits)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(crossEntropy) as tf.Scalar;
  });
