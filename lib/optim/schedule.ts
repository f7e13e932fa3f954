/**
 * The reference's learning-rate policy: constant for `epochs` epochs, then
 * linear decay towards 0 over `epochsDecay` more.
 */
export interface LinearDecay {
  readonly epochs: number;
  readonly epochsDecay: number;
}

/** The multiplier of the base learning rate during (0-based) epoch `epoch`. */
export const linearDecay =
  ({ epochs, epochsDecay }: LinearDecay) =>
  (epoch: number): number =>
    Math.max(0, 1 - Math.max(0, epoch + 1 - epochs) / (epochsDecay + 1));
