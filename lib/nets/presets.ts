/**
 * Named networks, as the CLI and saved configs refer to them. Each name
 * maps to one expression of the DSL.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Layer } from '../core/layer.ts';
import type { NormKind } from '../layers/norm.ts';
import { patchDiscriminator, stridedLayersFor, validPatchSizes } from './patch-discriminator.ts';
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

export const generatorPresets = ['unet256', 'unet128', 'encoderDecoder256', 'encoderDecoder128'] as const;
export type GeneratorPreset = (typeof generatorPresets)[number];

export const generator = (name: string, o: NetOptions = {}): E.Either<string, Layer> => {
  const opts = {
    ...(o.ngf !== undefined ? { ngf: o.ngf } : {}),
    ...(o.norm !== undefined ? { norm: o.norm } : {}),
    ...(o.inChannels !== undefined ? { inChannels: o.inChannels } : {}),
    ...(o.outChannels !== undefined ? { outChannels: o.outChannels } : {}),
    ...(o.dropout !== undefined ? { dropout: o.dropout } : {}),
    ...(o.trackRunningStats !== undefined ? { trackRunningStats: o.trackRunningStats } : {}),
  };
  switch (name) {
    case 'unet256':
      return E.right(unet({ ...opts, depth: 8 }));
    case 'unet128':
      return E.right(unet({ ...opts, depth: 7 }));
    case 'encoderDecoder256':
      return E.right(encoderDecoder({ ...opts, depth: 8 }));
    case 'encoderDecoder128':
      return E.right(encoderDecoder({ ...opts, depth: 7 }));
    default:
      return E.left(`unknown generator '${name}'; choose one of ${generatorPresets.join(', ')}`);
  }
};

export const discriminatorPresets = ['pixel', 'patch16', 'patch70', 'image286'] as const;

/** `pixel` (1x1), `patch16`, `patch70`, `image286`, or `patchN` for any valid N. */
export const discriminator = (name: string, o: NetOptions = {}): E.Either<string, Layer> => {
  const opts = {
    ...(o.ndf !== undefined ? { ndf: o.ndf } : {}),
    ...(o.norm !== undefined ? { norm: o.norm } : {}),
    ...(o.trackRunningStats !== undefined ? { trackRunningStats: o.trackRunningStats } : {}),
  };
  const patch = name === 'pixel' ? 1 : name === 'image286' ? 286 : /^patch\d+$/.test(name) ? Number(name.slice(5)) : NaN;
  if (patch === 1 || stridedLayersFor(patch) !== undefined) return E.right(patchDiscriminator(patch, opts));
  return E.left(
    `unknown discriminator '${name}'; choose one of ${discriminatorPresets.join(', ')}, or patchN with N in ` +
      `${validPatchSizes(1200).join(', ')}, ...`,
  );
};
