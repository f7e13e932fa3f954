/**
 * Data-movement kernels for the 'native' backend, in JavaScript over the cpu
 * backend's Float32Arrays: they copy contiguous runs (TypedArray.set)
 * instead of converting every element's index, as the cpu backend's do —
 * its Slice of a 16x16x128 window out of 18x18x128 takes ~20 ms, its
 * MirrorPad ~6 ms; these take well under one.
 *
 * - Slice (float32, any rank): runs over the innermost axes taken whole.
 * - PadV2 and MirrorPad (float32, rank 4, NHWC): a row at a time.
 * - Pix2pixMirrorPadGrad: MirrorPad's gradient, each padded position's
 *   gradient added onto the position it copies (lib/ops/mirror-pad-grad.ts
 *   calls it where it is registered).
 * - Cast from bool to float32: a Float32Array of the 0s and 1s. The cpu
 *   backend's keeps the bool's Uint8Array as the float32 tensor's values,
 *   which no native loop takes, so everything downstream (dropout's mask
 *   times its scale: 0.29 ms for an 8x8x512 mask) ran in JavaScript. A cast
 *   to its own dtype shares the data, as the cpu kernel does.
 * Other dtypes and ranks go to the cpu backend's kernels.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { MIRROR_PAD_GRAD_KERNEL } from '../../../ops/kernels.ts';

type Info = tf.TensorInfo;
type Values = (backend: MathBackendCPU, t: Info) => Float32Array | undefined;
type Output = (n: number) => Float32Array;
type Pads = ReadonlyArray<readonly [number, number]>;
/** `stock(name)`: the cpu backend's kernel as a fallback; `stock(name, false)`: the same, where it is what native does too (not counted). */
type Stock = (name: string, counted?: boolean) => tf.KernelFunc;

const strides = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
};

/** Where a padded position reads along an axis of length n (`reflect` skips the edge, `symmetric` repeats it). */
const source = (i: number, n: number, mode: 'reflect' | 'symmetric'): number => {
  const e = mode === 'reflect' ? 1 : 0;
  if (i < 0) return -i - 1 + e;
  if (i >= n) return 2 * n - 1 - e - i;
  return i;
};

const sliceRuns = (x: Float32Array, shape: readonly number[], begin: readonly number[], size: readonly number[], out: Float32Array): void => {
  const rank = shape.length;
  const st = strides(shape);
  // The innermost axis not taken whole: each run spans it and every axis after it.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const len = size[k]! * st[k]!;
  const outer = size.slice(0, k);
  const runs = outer.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(k).fill(0);
  let dst = 0;
  for (let r = 0; r < runs; r++) {
    let src = begin[k]! * st[k]!;
    for (let a = 0; a < k; a++) src += (begin[a]! + idx[a]!) * st[a]!;
    out.set(x.subarray(src, src + len), dst);
    dst += len;
    for (let a = k - 1; a >= 0; a--) {
      if (++idx[a]! < outer[a]!) break;
      idx[a] = 0;
    }
  }
};

const padRows = (x: Float32Array, [n, h, w, c]: readonly number[], pads: Pads, out: Float32Array, fill: number): void => {
  const [[, ], [pt, pb], [pl, pr]] = pads as [[number, number], [number, number], [number, number], [number, number]];
  const ow = w! + pl + pr;
  const oh = h! + pt + pb;
  out.fill(fill);
  for (let b = 0; b < n!; b++)
    for (let i = 0; i < h!; i++) {
      const src = ((b * h! + i) * w!) * c!;
      const dst = ((b * oh + i + pt) * ow + pl) * c!;
      out.set(x.subarray(src, src + w! * c!), dst);
    }
};

const mirrorRows = (x: Float32Array, [n, h, w, c]: readonly number[], pads: Pads, mode: 'reflect' | 'symmetric', out: Float32Array): void => {
  const [, [pt, pb], [pl, pr]] = pads as [[number, number], [number, number], [number, number], [number, number]];
  const ow = w! + pl + pr;
  const oh = h! + pt + pb;
  for (let b = 0; b < n!; b++)
    for (let i = 0; i < oh; i++) {
      const row = ((b * h! + source(i - pt, h!, mode)) * w!) * c!;
      const dst = (b * oh + i) * ow * c!;
      out.set(x.subarray(row, row + w! * c!), dst + pl * c!);
      for (let j = 0; j < pl; j++) out.set(x.subarray(row + source(j - pl, w!, mode) * c!, row + (source(j - pl, w!, mode) + 1) * c!), dst + j * c!);
      for (let j = w! + pl; j < ow; j++) out.set(x.subarray(row + source(j - pl, w!, mode) * c!, row + (source(j - pl, w!, mode) + 1) * c!), dst + j * c!);
    }
};

const mirrorGradRows = (dy: Float32Array, [n, h, w, c]: readonly number[], pads: Pads, mode: 'reflect' | 'symmetric', dx: Float32Array): void => {
  const [, [pt, pb], [pl, pr]] = pads as [[number, number], [number, number], [number, number], [number, number]];
  const ow = w! + pl + pr;
  const oh = h! + pt + pb;
  dx.fill(0);
  for (let b = 0; b < n!; b++)
    for (let i = 0; i < oh; i++) {
      const row = ((b * h! + source(i - pt, h!, mode)) * w!) * c!;
      const src = (b * oh + i) * ow * c!;
      for (let j = 0; j < ow; j++) {
        const to = row + source(j - pl, w!, mode) * c!;
        const from = src + j * c!;
        for (let k = 0; k < c!; k++) dx[to + k]! += dy[from + k]!;
      }
    }
};

const zeroOuter = (pads: Pads) => pads.length === 4 && pads[0]![0] === 0 && pads[0]![1] === 0 && pads[3]![0] === 0 && pads[3]![1] === 0;

/** A padding kernel of rank-4 float32 tensors padded in H and W only; anything else goes to the cpu kernel. */
const padKernel = (
  name: string,
  values: Values,
  outputArray: Output,
  stock: Stock,
  run: (x: Float32Array, shape: readonly number[], attrs: Record<string, unknown>, out: Float32Array) => void,
): tf.KernelConfig => ({
  kernelName: name,
  backendName: 'native',
  kernelFunc: (args) => {
    const b = args.backend as MathBackendCPU;
    const { x } = args.inputs as { x: Info };
    const attrs = args.attrs as unknown as Record<string, unknown>;
    const paddings = attrs['paddings'] as Pads;
    const xv = values(b, x);
    if (!xv || x.shape.length !== 4 || !zeroOuter(paddings)) return stock(name)(args);
    const shape = x.shape.map((d, i) => d + paddings[i]![0] + paddings[i]![1]);
    const out = outputArray(shape.reduce((p, d) => p * d, 1));
    run(xv, x.shape, attrs, out);
    return b.makeTensorInfo(shape, 'float32', out);
  },
});

export const copyKernels = (values: Values, outputArray: Output, stock: Stock): tf.KernelConfig[] => [
  {
    kernelName: 'Cast',
    backendName: 'native',
    kernelFunc: (args) => {
      const b = args.backend as MathBackendCPU;
      const { x } = args.inputs as { x: Info };
      const { dtype } = args.attrs as unknown as tf.CastAttrs;
      if (x.dtype === dtype) return stock('Cast', false)(args);
      const xv = b.data.get(x.dataId)?.values;
      if (x.dtype !== 'bool' || dtype !== 'float32' || !(xv instanceof Uint8Array) || xv.length === 0) return stock('Cast')(args);
      const out = outputArray(xv.length);
      out.set(xv);
      return b.makeTensorInfo(x.shape, 'float32', out);
    },
  },
  {
    kernelName: 'Slice',
    backendName: 'native',
    kernelFunc: (args) => {
      const b = args.backend as MathBackendCPU;
      const { x } = args.inputs as { x: Info };
      const xv = values(b, x);
      if (!xv) return stock('Slice')(args);
      const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
      const [bs, ss] = tf.slice_util.parseSliceParams(x as unknown as tf.Tensor, begin, size) as [number[], number[]];
      if (x.shape.length === 0 || ss.some((d) => d === 0)) return stock('Slice')(args);
      const out = outputArray(ss.reduce((p, d) => p * d, 1));
      sliceRuns(xv, x.shape, bs, ss, out);
      return b.makeTensorInfo(ss, 'float32', out);
    },
  },
  padKernel('PadV2', values, outputArray, stock, (xv, shape, attrs, out) => padRows(xv, shape, attrs['paddings'] as Pads, out, attrs['constantValue'] as number)),
  padKernel('MirrorPad', values, outputArray, stock, (xv, shape, attrs, out) => mirrorRows(xv, shape, attrs['paddings'] as Pads, attrs['mode'] as 'reflect' | 'symmetric', out)),
  {
    kernelName: MIRROR_PAD_GRAD_KERNEL,
    backendName: 'native',
    kernelFunc: (args) => {
      const b = args.backend as MathBackendCPU;
      const { dy } = args.inputs as { dy: Info };
      const { paddings, mode, xShape } = args.attrs as unknown as { paddings: Pads; mode: 'reflect' | 'symmetric'; xShape: number[] };
      const dv = values(b, dy);
      if (!dv || xShape.length !== 4 || !zeroOuter(paddings)) throw new Error(`${MIRROR_PAD_GRAD_KERNEL}: a float32 NHWC gradient padded in H and W only expected`);
      const dx = outputArray(xShape.reduce((p, d) => p * d, 1));
      mirrorGradRows(dv, xShape, paddings, mode, dx);
      return b.makeTensorInfo(xShape, 'float32', dx);
    },
  },
];
