/**
 * Native element-wise, reduction, copy and optimiser kernels for the
 * 'native' backend: the binary maps with broadcasting (Add, Sub, Multiply,
 * RealDiv, SquaredDifference, Maximum, Minimum and the comparisons), the
 * unary maps and activations, Select, Sum and Mean, Concat and SplitV, the
 * fused Adam update ('Pix2pixAdam', used by lib/optim/adam.ts), the sum of
 * squares of many tensors ('Pix2pixSumSquares', lib/optim/global-norm.ts), the fused
 * batch / instance norm (./norm.ts, used by lib/layers/norm.ts) and the
 * fused Relu / LeakyRelu gradients (./activations.ts) and the fused sigmoid
 * cross-entropy (./cross-entropy.ts, used by lib/ops/cross-entropy.ts).
 *
 * The tensors' Float32Arrays are handed to the native module as they are (no
 * copies); it fills a fresh output array, on all cores when the tensor is
 * big enough. Results equal the cpu backend's bit for bit, except Sum and
 * Mean, which add in double in another order (within an ulp of the float32
 * result). Anything else — other dtypes, broadcasts that do not collapse to
 * three strided dimensions, reductions over non-adjacent axes, empty
 * tensors — runs the cpu backend's own kernel. PIX2PIX_NATIVE_ELEMENTWISE=0
 * registers none of them (the cpu backend's kernels, tf-ops Adam and norm).
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../index.ts';
import type { NativeBackend } from '../register.ts';
import { pendingAdd, queuedAdam } from './async.ts';
import type { ConvAddon } from './conv.ts';
import { nativePool } from '../pool.ts';
import { activationKernels, installActivationGradients, type ActivationAddon } from './activations.ts';
import { adamKernel, type AdamAddon } from './adam.ts';
import { copyKernels } from './copy.ts';
import { crossEntropyKernels, type CrossEntropyAddon } from './cross-entropy.ts';
import { normKernels, type NormAddon } from './norm.ts';
import { sumSquaresKernel, type SumSquaresAddon } from './sum-squares.ts';
// The fused Adam and sum-of-squares kernels' names and attributes live with
// the ops that use them (lib/ops/kernels.ts): registered here for 'native'.
import { ADAM_KERNEL, SUM_SQUARES_KERNEL, type AdamKernelAttrs } from '../../../ops/kernels.ts';

export { ADAM_KERNEL, SUM_SQUARES_KERNEL, type AdamKernelAttrs };

/** The element-wise module's functions (see src/elementwise.cc). */
export interface ElementwiseAddon extends AdamAddon, SumSquaresAddon, CrossEntropyAddon {
  binary(op: number, out: Float32Array | Uint8Array, a: Float32Array, b: Float32Array, ...dims: number[]): void;
  unary(op: number, out: Float32Array, x: Float32Array, alpha: number): void;
  select(out: Float32Array, cond: Uint8Array, t: Float32Array, e: Float32Array): void;
  reduce(op: 0 | 1, out: Float32Array, x: Float32Array, outer: number, reduced: number, inner: number): void;
  copy2d(dst: Float32Array, dstOffset: number, dstStride: number, src: Float32Array, srcOffset: number, srcStride: number, rows: number, width: number): void;
  /** Makes glibc keep freed memory for reuse (see src/elementwise.cc); false where it cannot. */
  tuneMalloc(): boolean;
  threads(): number;
}

/** Op codes of the native module (src/ew_kernels.h). */
const BINARY = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3, SquaredDifference: 4, Maximum: 5, Minimum: 6 } as const;
const COMPARE = { Greater: 100, GreaterEqual: 101, Less: 102, LessEqual: 103, Equal: 104, NotEqual: 105 } as const;
const UNARY = {
  Sqrt: 0, Rsqrt: 1, Square: 2, Neg: 3, Abs: 4, Exp: 5, Log: 6, Log1p: 7, Relu: 8, LeakyRelu: 9,
  Tanh: 10, Sigmoid: 11, Step: 12, Reciprocal: 13, Relu6: 14,
} as const;


type Args = Parameters<tf.KernelFunc>[0];
type Info = tf.TensorInfo;

const values = (backend: MathBackendCPU, t: Info): Float32Array | undefined => {
  if (t.dtype !== 'float32') return undefined;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Float32Array ? v : undefined;
};

const bools = (backend: MathBackendCPU, t: Info): Uint8Array | undefined => {
  if (t.dtype !== 'bool') return undefined;
  const v = backend.data.get(t.dataId)?.values;
  return v instanceof Uint8Array ? v : undefined;
};

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** An output array the kernel will fill completely (recycled, not zeroed: see pool.ts). */
export const outputArray = (n: number): Float32Array => nativePool.take(n);

/**
 * How often each kernel fell back on the cpu backend's JavaScript (a dtype,
 * a broadcast or a view the native loop does not take), by kernel name.
 * Tests hold the training step to none; a profile that finds a slow kernel
 * can look here first.
 */
export const stockFallbacks = new Map<string, number>();

/** The cpu backend's kernel, looked up when first needed; `counted` in stockFallbacks (not where it is what native does too). */
const stockOf = (name: string, counted = true): tf.KernelFunc => {
  let f: tf.KernelFunc | undefined;
  return (args) => {
    f ??= tf.getKernel(name, 'cpu')?.kernelFunc;
    if (!f) throw new Error(`native backend: no cpu kernel '${name}' to fall back on`);
    if (counted) stockFallbacks.set(name, (stockFallbacks.get(name) ?? 0) + 1);
    return f(args);
  };
};

/**
 * a op b broadcast to `out`, as at most three dimensions with strides (0 on
 * a broadcast axis): [n0, n1, n2], [sa0, sa1, sa2], [sb0, sb1, sb2]; null
 * when it takes more. Size-1 axes are dropped and neighbours that both
 * operands walk the same way are merged, so same-shape and scalar ops are one
 * dimension, [N,H,W,C] op [C] or [1,1,1,C] two.
 */
export const collapseBroadcast = (out: readonly number[], aShape: readonly number[], bShape: readonly number[]): number[] | null => {
  const rank = out.length;
  const strides = (shape: readonly number[]) => {
    const s = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = rank - 1; i >= 0; i--) {
      const j = i - (rank - shape.length);
      const dim = j >= 0 ? shape[j]! : 1;
      s[i] = dim === 1 ? 0 : acc;
      acc *= dim;
    }
    return s;
  };
  const sa = strides(aShape);
  const sb = strides(bShape);
  const dims: { n: number; a: number; b: number }[] = [];
  for (let i = 0; i < rank; i++) {
    const n = out[i]!;
    if (n === 1) continue;
    const last = dims[dims.length - 1];
    if (last && last.a === sa[i]! * n && last.b === sb[i]! * n) {
      last.n *= n;
      last.a = sa[i]!;
      last.b = sb[i]!;
    } else dims.push({ n, a: sa[i]!, b: sb[i]! });
  }
  if (dims.length > 3) return null;
  while (dims.length < 3) dims.unshift({ n: 1, a: 0, b: 0 });
  return [...dims.map((d) => d.n), ...dims.map((d) => d.a), ...dims.map((d) => d.b)];
};

/**
 * x reduced over `axes` as [outer, reduced, inner], or null when the reduced
 * axes (ignoring size-1 ones) are not adjacent.
 */
export const collapseReduction = (shape: readonly number[], axes: readonly number[]): [number, number, number] | null => {
  let outer = 1, reduced = 1, inner = 1;
  let phase = 0; // 0: before the reduced block, 1: in it, 2: after it
  for (let i = 0; i < shape.length; i++) {
    const n = shape[i]!;
    if (n === 1) continue;
    if (axes.includes(i)) {
      if (phase === 2) return null;
      phase = 1;
      reduced *= n;
    } else if (phase === 0) outer *= n;
    else {
      phase = 2;
      inner *= n;
    }
  }
  return [outer, reduced, inner];
};

let mallocTuned = false;

export const elementwiseKernels = (addon: NativeAddon): tf.KernelConfig[] => {
  // For comparisons and debugging: the cpu backend's kernels and tf-ops Adam / norm.
  if (process.env['PIX2PIX_NATIVE_ELEMENTWISE'] === '0') return [];
  const ew = addon.elementwise as unknown as ElementwiseAddon & NormAddon & ActivationAddon;
  // Every kernel output is a fresh array, about 1 GB a step at 256x256: let
  // glibc recycle freed memory instead of unmapping it and faulting it back
  // in. Process-wide; PIX2PIX_NATIVE_MALLOC=0 leaves malloc alone.
  if (!mallocTuned && process.env['PIX2PIX_NATIVE_MALLOC'] !== '0') {
    ew.tuneMalloc();
    mallocTuned = true;
  }
  const configs: tf.KernelConfig[] = [];
  const add = (kernelName: string, kernelFunc: (args: Args, stock: tf.KernelFunc) => Info | Info[]) => {
    const stock = stockOf(kernelName);
    configs.push({ kernelName, backendName: 'native', kernelFunc: (args) => kernelFunc(args, stock) });
  };

  // A gradient summed while the worker thread still computes a term of it: queued behind it.
  const queuedAdd = pendingAdd(addon.conv as unknown as ConvAddon);
  const binary = (name: string, op: number, bool: boolean) =>
    add(name, (args, stock) => {
      const backend = args.backend as MathBackendCPU;
      const { a, b } = args.inputs as { a: Info; b: Info };
      const queued = name === 'Add' ? queuedAdd(backend as NativeBackend, a, b) : undefined;
      if (queued) return queued;
      const av = values(backend, a);
      const bv = values(backend, b);
      if (!av || !bv) return stock(args);
      const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      const n = size(shape);
      const dims = n > 0 ? collapseBroadcast(shape, a.shape, b.shape) : null;
      if (!dims) return stock(args);
      const out = bool ? new Uint8Array(n) : outputArray(n);
      ew.binary(op, out, av, bv, ...dims);
      return backend.makeTensorInfo(shape, bool ? 'bool' : 'float32', out);
    });
  for (const [name, op] of Object.entries(BINARY)) binary(name, op, false);
  for (const [name, op] of Object.entries(COMPARE)) binary(name, op, true);

  for (const [name, op] of Object.entries(UNARY))
    add(name, (args, stock) => {
      const backend = args.backend as MathBackendCPU;
      const { x } = args.inputs as { x: Info };
      const xv = values(backend, x);
      if (!xv) return stock(args);
      const alpha = Number((args.attrs as { alpha?: number } | undefined)?.alpha ?? 0);
      const out = outputArray(xv.length);
      ew.unary(op, out, xv, alpha);
      return backend.makeTensorInfo(x.shape, 'float32', out);
    });

  add('Select', (args, stock) => {
    const backend = args.backend as MathBackendCPU;
    const { condition, t, e } = args.inputs as { condition: Info; t: Info; e: Info };
    const cv = bools(backend, condition);
    const tv = values(backend, t);
    const ev = values(backend, e);
    const same = (s: readonly number[]) => s.length === t.shape.length && s.every((d, i) => d === t.shape[i]);
    if (!cv || !tv || !ev || !same(condition.shape) || !same(e.shape) || tv.length === 0) return stock(args);
    const out = outputArray(tv.length);
    ew.select(out, cv, tv, ev);
    return backend.makeTensorInfo(t.shape, 'float32', out);
  });

  for (const [name, op] of [['Sum', 0], ['Mean', 1]] as const)
    add(name, (args, stock) => {
      const backend = args.backend as MathBackendCPU;
      const { x } = args.inputs as { x: Info };
      const xv = values(backend, x);
      if (!xv || xv.length === 0) return stock(args);
      const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
      const axes = tf.util.parseAxisParam(axis, x.shape);
      const view = collapseReduction(x.shape, axes);
      if (!view) return stock(args);
      const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
      const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
      const out = outputArray(view[0] * view[2]);
      ew.reduce(op, out, xv, ...view);
      return backend.makeTensorInfo(shape, 'float32', out);
    });

  add('Concat', (args, stock) => {
    const backend = args.backend as MathBackendCPU;
    const inputs = args.inputs as unknown as Info[];
    const vals = inputs.map((t) => values(backend, t));
    if (inputs.length === 0 || vals.some((v) => !v)) return stock(args);
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, inputs[0]!.shape)[0]!;
    const shapes = inputs.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const shape = tf.backend_util.computeOutShape(shapes, axis);
    const n = size(shape);
    if (n === 0) return stock(args);
    const rows = size(shape.slice(0, axis));
    const width = n / rows;
    const out = outputArray(n);
    let col = 0;
    inputs.forEach((t, i) => {
      const w = size(t.shape.slice(axis));
      ew.copy2d(out, col, width, vals[i]!, 0, w, rows, w);
      col += w;
    });
    return backend.makeTensorInfo(shape, 'float32', out);
  });

  add('SplitV', (args, stock) => {
    const backend = args.backend as MathBackendCPU;
    const { x } = args.inputs as { x: Info };
    const xv = values(backend, x);
    if (!xv || xv.length === 0) return stock(args);
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const rows = size(x.shape.slice(0, ax));
    const inner = size(x.shape.slice(ax + 1));
    const stride = x.shape[ax]! * inner;
    let offset = 0;
    return sizes.map((s) => {
      const shape = [...x.shape];
      shape[ax] = s;
      const out = outputArray(rows * s * inner);
      ew.copy2d(out, 0, s * inner, xv, offset, stride, rows, s * inner);
      offset += s * inner;
      return backend.makeTensorInfo(shape, 'float32', out);
    });
  });

  configs.push(adamKernel(ew, values, outputArray, queuedAdam(addon.conv as unknown as ConvAddon)));

  configs.push(sumSquaresKernel(ew, values));

  configs.push(...normKernels(ew, values, outputArray), ...activationKernels(ew, values, outputArray), ...copyKernels(values, outputArray, stockOf));
  configs.push(...crossEntropyKernels(ew, values, outputArray));
  installActivationGradients();

  return configs;
};
