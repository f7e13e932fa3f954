/** Convolutions: `conv` and its transpose `convT`, NHWC, square kernels. */
import * as tf from '@tensorflow/tfjs';
import type { GraphBuilder } from '../core/graph.ts';
import * as E from 'fp-ts/lib/Either.js';
import { leaf, normal, zeros } from '../core/leaf.ts';
import type { Layer } from '../core/layer.ts';
import { showSize } from '../core/shape.ts';

export interface ConvOptions {
  readonly stride?: number;
  /** Zero padding on every side; default floor((kernel - 1) / 2), i.e. 1 for the paper's 4x4 kernels. */
  readonly pad?: number;
  readonly dilation?: number;
  /** Add a learned bias (leave it off where a norm with a shift follows). Default true. */
  readonly bias?: boolean;
  /** Std of the N(0, std) weight init; the reference uses 0.02. */
  readonly initStd?: number;
}

const checkInt = (what: string, v: number, min: number) => {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${what} must be an integer >= ${min}, got ${v}`);
};

const withBias = (y: tf.Tensor4D, b: tf.Tensor | undefined): tf.Tensor4D => (b ? tf.add(y, b) : y);

/**
 * A kernel in ONNX's layout, the same permutation for both: conv
 * [kh, kw, in, out] -> [out, in, kh, kw]; convT [kh, kw, out, in] ->
 * [in, out, kh, kw] (ConvTranspose's [C, M/group, kh, kw]).
 */
const toOnnxKernel = (w: Float32Array, shape: readonly number[]): [Float32Array, number[]] => {
  const [kh, kw, a, b] = shape as [number, number, number, number]; // conv: a = in, b = out; convT: a = out, b = in
  const out = new Float32Array(w.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) out[((j * a + i) * kh + y) * kw + x] = w[((y * kw + x) * a + i) * b + j]!;
  return [out, [b, a, kh, kw]];
};

/** A Conv or ConvTranspose node with this layer's kernel (in ONNX's layout), bias and square geometry. */
const kernelNode = (
  g: GraphBuilder,
  op: 'Conv' | 'ConvTranspose',
  x: string,
  w: tf.Tensor,
  b: tf.Tensor | undefined,
  { kernel, stride, pad }: { kernel: number; stride: number; pad: number },
  extra: Readonly<Record<string, readonly number[]>>,
): string =>
  g.node(op, [x, g.constant(...toOnnxKernel(g.values(w), w.shape), `${op}.w`), ...(b ? [g.constant(g.values(b), b.shape, `${op}.b`)] : [])], {
    kernel_shape: [kernel, kernel],
    strides: [stride, stride],
    pads: [pad, pad, pad, pad],
    ...extra,
  });

/** A 2-D convolution to `channels` output channels; input channels come from the input shape. */
export const conv = (channels: number, kernel: number, opts: ConvOptions = {}): Layer => {
  const { stride = 1, pad = Math.floor((kernel - 1) / 2), dilation = 1, bias = true, initStd = 0.02 } = opts;
  checkInt('conv channels', channels, 1);
  checkInt('conv kernel', kernel, 1);
  checkInt('conv stride', stride, 1);
  checkInt('conv pad', pad, 0);
  checkInt('conv dilation', dilation, 1);
  const span = dilation * (kernel - 1) + 1;
  return leaf({
    name: `conv ${kernel}x${kernel}/${stride}`,
    geom: { kind: 'conv', kernel, stride, pad, dilation },
    output: ([h, w]) => {
      if (Math.min(h, w) + 2 * pad < span) {
        const need = Math.max(1, span - 2 * pad);
        return E.left(
          `input ${h}x${w} is smaller than the kernel (${kernel}x${kernel}` +
            `${dilation > 1 ? ` dilated ${dilation}` : ''} with padding ${pad} needs at least ${need}x${need})`,
        );
      }
      const out = (n: number) => Math.floor((n + 2 * pad - span) / stride) + 1;
      return E.right([out(h), out(w), channels] as const);
    },
    params: ([, , c]) => ({
      w: normal([kernel, kernel, c, channels], 0, initStd),
      ...(bias ? { b: zeros([channels]) } : {}),
    }),
    apply: ({ w, b }, _state, x) =>
      withBias(tf.conv2d(x, w as tf.Tensor4D, stride, pad, 'NHWC', dilation), b),
    graph: ({ w, b }, _state, x, g) => kernelNode(g, 'Conv', x, w!, b, { kernel, stride, pad }, { dilations: [dilation, dilation] }),
  });
};

export interface ConvTOptions extends Omit<ConvOptions, 'dilation'> {
  /**
   * Rows and columns added at the bottom and right of the output (PyTorch's
   * output_padding): the reference ResNet's 3x3/2 pad 1 with 1 doubles the
   * size. Smaller than the stride, and at most `pad`. Default 0.
   */
  readonly outputPadding?: number;
}

/**
 * A transposed convolution (the gradient of `conv` with the same kernel,
 * stride and pad): output size (n - 1) * stride - 2 * pad + kernel +
 * outputPadding, so the paper's 4x4/2 pad 1 doubles the size.
 */
export const convT = (channels: number, kernel: number, opts: ConvTOptions = {}): Layer => {
  const { stride = 1, pad = Math.floor((kernel - 1) / 2), bias = true, initStd = 0.02, outputPadding = 0 } = opts;
  checkInt('convT channels', channels, 1);
  checkInt('convT kernel', kernel, 1);
  checkInt('convT stride', stride, 1);
  checkInt('convT pad', pad, 0);
  checkInt('convT outputPadding', outputPadding, 0);
  if (outputPadding >= stride || outputPadding > pad)
    throw new RangeError(`convT outputPadding must be smaller than the stride (${stride}) and at most the padding (${pad}), got ${outputPadding}`);
  const out = (n: number) => (n - 1) * stride - 2 * pad + kernel + outputPadding;
  return leaf({
    name: `convT ${kernel}x${kernel}/${stride}${outputPadding > 0 ? ` +${outputPadding}` : ''}`,
    geom: { kind: 'convT', kernel, stride, pad },
    output: ([h, w]) =>
      out(Math.min(h, w)) < 1
        ? E.left(`input ${showSize([h, w, 0])} gives an empty output (${out(h)}x${out(w)}) with padding ${pad}`)
        : E.right([out(h), out(w), channels] as const),
    // tf.js stores transposed-conv filters as [k, k, out, in].
    params: ([, , c]) => ({
      w: normal([kernel, kernel, channels, c], 0, initStd),
      ...(bias ? { b: zeros([channels]) } : {}),
    }),
    apply: ({ w, b }, _state, x) => {
      const [n, h, wd] = x.shape;
      const y = tf.conv2dTranspose(x, w as tf.Tensor4D, [n, out(h), out(wd), channels], stride, pad);
      return withBias(y, b);
    },
    graph: ({ w, b }, _state, x, g) => kernelNode(g, 'ConvTranspose', x, w!, b, { kernel, stride, pad }, { output_padding: [outputPadding, outputPadding] }),
  });
};
