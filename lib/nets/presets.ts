/**
 * Named networks, as the CLI and saved configs refer to them. Each name
 * maps to one expression of the DSL.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Layer } from '../core/layer.ts';
import type { NormKind } from '../layers/norm.ts';
import { patchDiscriminator, stridedLayersFor, validPatchSizes } from './patch-discriminator.ts';
import { resnetGenerator } from './resnet.ts';
import { encoderDecoder, unet } from './unet.ts';

export interface NetOptions {
  readonly ngf?: number;
  readonly ndf?: number;
  readonly norm?: NormKind;
  readonly inChannels?: number;
  readonly outChannels?: number;
  readonly dropout?: number;
  readonly trackRunningStats?: boolean;
}

export const generatorPresets = ['unet256', 'unet128', 'encoderDecoder256', 'encoderDecoder128', 'resnet9', 'resnet6'] as const;

/**
 * `unetN` / `encoderDecoderN` for N = 2^depth: unet256 is the reference
 * unet_256 (depth 8), unet128 is unet_128 (depth 7), unet64 suits 64x64
 * images. `resnetN`: the reference's ResNet generator with N blocks
 * (resnet9 = resnet_9blocks, resnet6 = resnet_6blocks).
 */
export const generator = (name: string, o: NetOptions = {}): E.Either<string, Layer> => {
  const { ngf, norm, inChannels, outChannels, dropout, trackRunningStats } = o;
  const resnet = /^resnet(\d+)$/.exec(name);
  if (resnet) return E.right(resnetGenerator({ blocks: Number(resnet[1]), ngf, norm, inChannels, outChannels, dropout, trackRunningStats }));
  const m = /^(unet|encoderDecoder)(\d+)$/.exec(name);
  const depth = m ? Math.log2(Number(m[2])) : NaN;
  if (!m || !Number.isInteger(depth) || depth < 1)
    return E.left(
      `unknown generator '${name}'; choose one of ${generatorPresets.join(', ')}, unetN / encoderDecoderN with N a power of 2 (N = 2^depth), or resnetN (N blocks)`,
    );
  return E.right((m[1] === 'unet' ? unet : encoderDecoder)({ ngf, norm, inChannels, outChannels, dropout, trackRunningStats, depth }));
};

export const discriminatorPresets = ['pixel', 'patch16', 'patch70', 'image286'] as const;

/** `pixel` (1x1), `patch16`, `patch70`, `image286`, or `patchN` for any valid N. */
export const discriminator = (name: string, o: NetOptions = {}): E.Either<string, Layer> => {
  const opts = { ndf: o.ndf, norm: o.norm, trackRunningStats: o.trackRunningStats };
  const patch = name === 'pixel' ? 1 : name === 'image286' ? 286 : /^patch\d+$/.test(name) ? Number(name.slice(5)) : NaN;
  if (patch === 1 || stridedLayersFor(patch) !== undefined) return E.right(patchDiscriminator(patch, opts));
  return E.left(
    `unknown discriminator '${name}'; choose one of ${discriminatorPresets.join(', ')}, or patchN with N in ` +
      `${validPatchSizes(1200).join(', ')}, ...`,
  );
};
