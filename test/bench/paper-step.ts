/**
 * The benchmarks' training step: the paper's U-Net (depth log2(size)) or
 * the reference's 9-block ResNet generator, and the 70x70 PatchGAN, L1 +
 * cGAN, donated as `pix2pix train` runs it, on one fixed random pair.
 * Returns a function that takes one step.
 */
import * as tf from '@tensorflow/tfjs';
import { cgan, disposeReplaced, initTrainState, l1, makeKey, makeStep, patchDiscriminator, plus, resnetGenerator, unet } from '../../lib/node.ts';

export const paperStepper = (size: number, ngf: number, ndf: number, generator: 'unet' | 'resnet9' = 'unet'): (() => void) => {
  const G = generator === 'resnet9' ? resnetGenerator({ blocks: 9, ngf }) : unet({ depth: Math.log2(size), ngf });
  const spec = { generator: G, discriminator: patchDiscriminator(70, { ndf }), objective: plus(l1(100), cgan()), inputShape: [size, size, 3] as const, outChannels: 3 };
  const init = initTrainState(spec, makeKey(0));
  if (init._tag === 'Left') throw new Error(init.left.message);
  let state = init.right;
  const step = makeStep(spec, { donate: true });
  const x = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
  return () => {
    const [next] = step(state, { x, y });
    disposeReplaced(state, next);
    state = next;
  };
};
