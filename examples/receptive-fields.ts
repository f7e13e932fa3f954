/**
 * Receptive fields of the paper's discriminators and of U-Nets of every
 * depth, computed statically from the expressions (no tensor is allocated).
 *
 *   npx tsx examples/receptive-fields.ts
 */
import * as E from 'fp-ts/lib/Either.js';
import { encoderDecoder, paramCount, patchDiscriminator, receptiveField, unet, type Layer, type Shape } from '../lib/node.ts';

const params = (layer: Layer, input: Shape) => {
  const n = paramCount(layer, input);
  return E.isRight(n) ? n.right.toLocaleString('en-US') : 'n/a';
};
const grid = (layer: Layer, input: Shape) => {
  const s = layer.shape(input);
  return E.isRight(s) ? `${s.right[0]}x${s.right[1]}` : 'too small';
};

console.log('PatchGAN discriminators on concat(x, y), 256x256x6');
console.table(
  [1, 16, 34, 70, 142, 286].map((n) => {
    const d = patchDiscriminator(n);
    return { N: n, 'receptive field': receptiveField(d), 'output grid': grid(d, [256, 256, 6]), params: params(d, [256, 256, 6]) };
  }),
);

console.log('U-Net generators (ngf 64) and their encoder-decoder ablations');
console.table(
  [1, 2, 3, 4, 5, 6, 7, 8].map((depth) => {
    const size = Math.max(2 ** depth, 16);
    return {
      depth,
      'receptive field': receptiveField(unet({ depth })),
      'encoder-decoder field': receptiveField(encoderDecoder({ depth })),
      'smallest input': `${2 ** depth}x${2 ** depth}`,
      [`params`]: params(unet({ depth }), [size, size, 3]),
    };
  }),
);
