/** Small blocks that recur in the paper's networks. */
import type { Layer } from '../core/layer.ts';
import { seq } from '../core/combinators.ts';
import { conv } from './conv.ts';
import { relu } from './activations.ts';
import { norm, normHasShift, type NormKind } from './norm.ts';

export interface ConvBnReluOptions {
  readonly kernel?: number;
  readonly stride?: number;
  readonly pad?: number;
  readonly norm?: NormKind;
  readonly trackRunningStats?: boolean;
  /** The activation layer; default relu(). */
  readonly activation?: Layer;
}

/**
 * conv → norm → activation, the paper's "Ck" block (default 4x4, stride 2).
 * The conv has a bias only when the norm has no learned shift.
 */
export const convBnRelu = (channels: number, opts: ConvBnReluOptions = {}): Layer => {
  const { kernel = 4, stride = 2, pad, norm: kind = 'batch', trackRunningStats, activation = relu() } = opts;
  return seq(
    conv(channels, kernel, { stride, ...(pad !== undefined ? { pad } : {}), bias: !normHasShift(kind) }),
    norm(kind, { trackRunningStats: trackRunningStats ?? false }),
    activation,
  );
};
