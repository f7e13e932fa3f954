/** The smallest full pix2pix (U-Net depth 4, 16x16 PatchGAN, L1 + cGAN on 16x16 images) the native tests train. */
import { cgan, l1, patchDiscriminator, plus, unet } from '../../lib/index.ts';

export const tinySpec = {
  generator: unet({ depth: 4, ngf: 8 }),
  discriminator: patchDiscriminator(16, { ndf: 8 }),
  objective: plus(l1(100), cgan()),
  inputShape: [16, 16, 3] as const,
  outChannels: 3,
};
