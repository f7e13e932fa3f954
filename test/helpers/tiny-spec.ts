/** The smallest full pix2pix (U-Net depth 4, 16x16 PatchGAN, L1 + cGAN on 16x16 images) the native tests train. */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { cgan, disposeReplaced, disposeState, flatten, initTrainState, l1, makeKey, makeStep, patchDiscriminator, plus, unet } from '../../lib/node.ts';
import { seededValues } from './conv-cases.ts';

export const tinySpec = {
  generator: unet({ depth: 4, ngf: 8 }),
  discriminator: patchDiscriminator(16, { ndf: 8 }),
  objective: plus(l1(100), cgan()),
  inputShape: [16, 16, 3] as const,
  outChannels: 3,
};

export interface TinyRun {
  /** D/cgan/real, D/cgan/fake, G/cgan, G/l1, L1 of each step. */
  readonly losses: number[];
  /** Every parameter of G then D after the last step. */
  readonly weights: number[][];
}

/** `steps` training steps of tinySpec on the current backend, from a fixed seed and pair. */
export function trainTiny(steps = 3, options: { donate?: boolean } = {}): TinyRun {
  const init = initTrainState(tinySpec, makeKey(3));
  if (E.isLeft(init)) throw new Error(init.left.message);
  let s = init.right;
  const step = makeStep(tinySpec, options);
  const x = tf.tensor4d(seededValues(31, 16 * 16 * 3), [1, 16, 16, 3]);
  const y = tf.tidy(() => tf.tanh(tf.mul(x, -0.7))) as tf.Tensor4D;
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const [n, m] = step(s, { x, y });
    losses.push(m['D/cgan/real']!, m['D/cgan/fake']!, m['G/cgan']!, m['G/l1']!, m['L1']!);
    disposeReplaced(s, n);
    s = n;
  }
  const weights = [...flatten(s.g.params), ...flatten(s.d.params)].map(([, t]) => Array.from(t.dataSync()));
  disposeState(s);
  tf.dispose([x, y]);
  return { losses, weights };
}

/** The worst relative difference of got from want: losses each against itself, weights against each tensor's largest magnitude. */
export function worstDifference(got: TinyRun, want: TinyRun): { loss: number; weight: number } {
  let loss = 0;
  want.losses.forEach((w, i) => (loss = Math.max(loss, Math.abs(got.losses[i]! - w) / (Math.abs(w) + 1e-2))));
  let weight = 0;
  want.weights.forEach((w, i) => {
    let scale = 0;
    for (const v of w) scale = Math.max(scale, Math.abs(v));
    for (let j = 0; j < w.length; j++) weight = Math.max(weight, Math.abs(got.weights[i]![j]! - w[j]!) / scale);
  });
  return { loss, weight };
}
