/**
 * The paper's generator: a U-Net, written as one recursion over
 * `leakyRelu → skip(down → norm → inner level → relu → up → norm → dropout)`.
 *
 * Level 1 is the outermost (no norm after its conv, tanh out, no skip
 * around it); level `depth` is the innermost (no norm after its conv). Each
 * level's transposed conv returns to the channel count of the level's
 * input, so nothing tracks channels by hand.
 *
 * Faithful to the reference implementation (same parameter counts):
 * - The skip concatenates the LeakyReLU'd input of a level (the reference's
 *   in-place LeakyReLU has that effect), then the level's output.
 * - Convolution biases are a network-wide choice: off with batch norm (its
 *   shift makes them redundant), on otherwise; the last transposed conv
 *   always has one.
 * - Dropout follows the decoder blocks of levels 5 .. depth-1 (the three
 *   blocks after the innermost at depth 8, two at depth 7).
 */
import { named, seq, skip } from '../core/combinators.ts';
import type { Layer } from '../core/layer.ts';
import { withDefaults } from '../core/options.ts';
import { expectChannels, leakyRelu, relu, tanh } from '../layers/activations.ts';
import { conv, convT } from '../layers/conv.ts';
import { dropout } from '../layers/dropout.ts';
import { norm, normHasShift, type NormKind } from '../layers/norm.ts';

export interface UnetOptions {
  /** Number of stride-2 levels: 8 = the reference unet_256, 7 = unet_128. */
  readonly depth?: number;
  /** Filters in the first level; level i has ngf * min(2^(i-1), 8). */
  readonly ngf?: number;
  readonly norm?: NormKind;
  /** Dropout rate in the decoder blocks of levels 5 .. depth-1 (0 turns it off). */
  readonly dropout?: number;
  readonly inChannels?: number;
  readonly outChannels?: number;
  /** Keep batch-norm running statistics for `eval` mode. */
  readonly trackRunningStats?: boolean;
}

/** What every generator takes besides its own shape parameters (as the ResNet generator does). */
export type GeneratorOptions = Omit<UnetOptions, 'depth'>;

const defaults: Required<UnetOptions> = { depth: 8, ngf: 64, norm: 'batch', dropout: 0.5, inChannels: 3, outChannels: 3, trackRunningStats: false };

const build = (options: UnetOptions, withSkips: boolean, name: string): Layer => {
  const o = withDefaults(defaults, options);
  if (!Number.isInteger(o.depth) || o.depth < 1) throw new RangeError(`${name} depth must be an integer >= 1, got ${o.depth}`);
  const channels = (level: number) => o.ngf * Math.min(2 ** (level - 1), 8);
  const bias = !normHasShift(o.norm);
  const normLayer = () => norm(o.norm, { trackRunningStats: o.trackRunningStats && o.norm === 'batch' });
  const down = (level: number) => conv(channels(level), 4, { stride: 2, pad: 1, bias });
  const up = (toChannels: number, withBias = bias) => convT(toChannels, 4, { stride: 2, pad: 1, bias: withBias });
  const link = withSkips ? skip : (inner: Layer) => inner;

  // Maps channels(level-1) at size n to channels(level-1) (+ the skip) at size n.
  const level = (i: number): Layer =>
    named(
      `level ${i}`,
      seq(
        leakyRelu(0.2),
        link(
          i === o.depth
            ? seq(down(i), relu(), up(channels(i - 1)), normLayer())
            : seq(
                down(i),
                normLayer(),
                level(i + 1),
                relu(),
                up(channels(i - 1)),
                normLayer(),
                ...(i >= 5 && o.dropout > 0 ? [dropout(o.dropout)] : []),
              ),
        ),
      ),
      { group: 'level' },
    );

  return named(
    name,
    seq(
      expectChannels(o.inChannels),
      named('level 1', seq(down(1), ...(o.depth > 1 ? [level(2)] : []), relu(), up(o.outChannels, true), tanh()), { group: 'level' }),
    ),
  );
};

/** The U-Net generator (depth 8 = unet_256, depth 7 = unet_128). */
export const unet = (options: UnetOptions = {}): Layer => build(options, true, 'unet');

/** The same network with the skips cut: the paper's encoder-decoder ablation. */
export const encoderDecoder = (options: UnetOptions = {}): Layer => build(options, false, 'encoderDecoder');
