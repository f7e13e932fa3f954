/**
 * Static geometry: what a layer does to spatial positions, and nothing else.
 * It is a small data tree, so receptive fields and footprints are computed
 * from the expression without allocating a tensor.
 *
 * Positions are along one spatial axis; every kernel in the library is
 * square, so height and width share one description.
 */
export type Geom =
  /** Output o reads input positions o*stride - pad + j*dilation, j < kernel. */
  | { readonly kind: 'conv'; readonly kernel: number; readonly stride: number; readonly pad: number; readonly dilation: number }
  /** The transpose of the conv with the same kernel, stride and pad. */
  | { readonly kind: 'convT'; readonly kernel: number; readonly stride: number; readonly pad: number }
  /** Output o reads input o (activations, normalisation, dropout, 1x1 maps). */
  | { readonly kind: 'pointwise' }
  /** Parts applied one after the other. */
  | { readonly kind: 'serial'; readonly parts: readonly Geom[] }
  /** Output o reads the union of what each branch reads (concat, sum). */
  | { readonly kind: 'parallel'; readonly branches: readonly Geom[] };

export const pointwise: Geom = { kind: 'pointwise' };
export const serial = (parts: readonly Geom[]): Geom => ({ kind: 'serial', parts });
export const parallel = (branches: readonly Geom[]): Geom => ({ kind: 'parallel', branches });
