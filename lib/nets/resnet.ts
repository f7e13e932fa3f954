/**
 * The reference's ResNet generator (resnet_9blocks / resnet_6blocks,
 * Johnson et al.'s architecture as pytorch-CycleGAN-and-pix2pix builds it):
 *
 *   reflect-pad 3, conv 7x7 → ngf, norm, ReLU
 *   2 x (conv 3x3/2 doubling the channels, norm, ReLU)
 *   `blocks` x residual(reflect-pad 1, conv 3x3, norm, ReLU, [dropout],
 *                       reflect-pad 1, conv 3x3, norm)
 *   2 x (convT 3x3/2 pad 1 output padding 1 halving the channels, norm, ReLU)
 *   reflect-pad 3, conv 7x7 → outChannels (with bias), tanh
 *
 * Convolutions have a bias only where no norm with a learned shift follows,
 * so the parameter counts equal the reference's exactly (RGB, ngf 64):
 * 9 blocks, batch norm 11,383,427; 6 blocks 7,841,411; 9 blocks, instance
 * norm 11,378,179. Input sizes must be divisible by 4.
 */
import * as E from 'fp-ts/lib/Either.js';
import { named, residual, seq } from '../core/combinators.ts';
import { leaf } from '../core/leaf.ts';
import { showSize } from '../core/shape.ts';
import { pointwise } from '../geometry/geom.ts';
import type { Layer } from '../core/layer.ts';
import { withDefaults } from '../core/options.ts';
import { expectChannels, relu, tanh } from '../layers/activations.ts';
import { conv, convT } from '../layers/conv.ts';
import { dropout } from '../layers/dropout.ts';
import { norm, normHasShift } from '../layers/norm.ts';
import { pad } from '../layers/pad.ts';
import type { GeneratorOptions } from './unet.ts';

/**
 * `ngf`: filters of the first conv (the blocks have 4 * ngf); `dropout`: the
 * rate inside each block, between its two convs (the reference's
 * use_dropout; 0 turns it off); the rest as the U-Net's.
 */
export interface ResnetOptions extends GeneratorOptions {
  /** Residual blocks at a quarter of the input size: 9 = resnet_9blocks, 6 = resnet_6blocks. */
  readonly blocks?: number;
}

/** Two stride-2 convs and two transposed convs give the input size back only when it is divisible by 4. */
const divisibleBy4 = (): Layer =>
  leaf({
    name: 'input',
    geom: pointwise,
    output: (s) => (s[0] % 4 === 0 && s[1] % 4 === 0 ? E.right(s) : E.left(`${showSize(s)} is not divisible by 4, so the two stride-2 convolutions and two transposed ones would not give it back`)),
    apply: (_p, _s, x) => x,
    graph: (_p, _s, x) => x,
  });

const defaults: Required<ResnetOptions> = { blocks: 9, ngf: 64, norm: 'batch', dropout: 0.5, inChannels: 3, outChannels: 3, trackRunningStats: false };

export const resnetGenerator = (options: ResnetOptions = {}): Layer => {
  const o = withDefaults(defaults, options);
  if (!Number.isInteger(o.blocks) || o.blocks < 0) throw new RangeError(`resnetGenerator blocks must be an integer >= 0, got ${o.blocks}`);
  const bias = !normHasShift(o.norm);
  const normed = () => norm(o.norm, { trackRunningStats: o.trackRunningStats && o.norm === 'batch' });
  const block = (c: number) =>
    residual(
      seq(
        pad(1, 'reflect'), conv(c, 3, { pad: 0, bias }), normed(), relu(),
        ...(o.dropout > 0 ? [dropout(o.dropout)] : []),
        pad(1, 'reflect'), conv(c, 3, { pad: 0, bias }), normed(),
      ),
    );
  const c = o.ngf;
  return named(
    `resnet${o.blocks}`,
    seq(
      expectChannels(o.inChannels),
      divisibleBy4(),
      pad(3, 'reflect'), conv(c, 7, { pad: 0, bias }), normed(), relu(),
      conv(2 * c, 3, { stride: 2, pad: 1, bias }), normed(), relu(),
      conv(4 * c, 3, { stride: 2, pad: 1, bias }), normed(), relu(),
      ...Array.from({ length: o.blocks }, (_, i) => named(`block ${i + 1}`, block(4 * c))),
      convT(2 * c, 3, { stride: 2, pad: 1, outputPadding: 1, bias }), normed(), relu(),
      convT(c, 3, { stride: 2, pad: 1, outputPadding: 1, bias }), normed(), relu(),
      pad(3, 'reflect'), conv(o.outChannels, 7, { pad: 0 }), tanh(),
    ),
  );
};
