/** pix2pix-ts: composable conditional-GAN image-to-image translation. */
export * from './core/shape.ts';
export * from './core/key.ts';
export * from './core/tree.ts';
export type { Ctx, Initialised, Layer, Mode, Plan } from './core/layer.ts';
export { leaf, normal, constant, zeros, ones, type LeafSpec, type TensorSpec, type Initializer, type Tensors } from './core/leaf.ts';
export { seq, skip, named } from './core/combinators.ts';
export { receptiveField, footprint, paramCount, initialize, summarize, type Summary, type SummaryRow } from './core/analysis.ts';
export * from './geometry/geom.ts';
export { footprintOf, extent, period, receptiveFieldOf, type Positions } from './geometry/receptive-field.ts';
export { conv, convT, type ConvOptions } from './layers/conv.ts';
export { norm, normHasShift, type NormKind, type NormOptions } from './layers/norm.ts';
export { dropout } from './layers/dropout.ts';
export { relu, leakyRelu, tanh, sigmoid, identity, expectChannels } from './layers/activations.ts';
export { convBnRelu, type ConvBnReluOptions } from './layers/blocks.ts';
export { unet, encoderDecoder, type UnetOptions } from './nets/unet.ts';
export { patchDiscriminator, validPatchSizes, stridedLayersFor, type DiscriminatorOptions } from './nets/patch-discriminator.ts';
