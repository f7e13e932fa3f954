/**
 * Native convolution kernels for the 'native' backend (forward, input
 * gradient, filter gradient): Conv2D, Conv2DBackpropInput (also the forward
 * pass of conv2dTranspose) and Conv2DBackpropFilter, for NHWC float32 tensors
 * with dilation 1 — every convolution of pix2pix. The tensors' Float32Arrays
 * are handed to the native module as they are (no copies); it fills a fresh
 * output array on all cores. Anything else (NCHW, dilation > 1, other
 * dtypes, empty tensors) runs the cpu backend's kernel.
 *
 * Engines (src/conv_engines.h): im2col + OpenBLAS sgemm ('gemm', or
 * 'gemmSplit': positions split between threads, serial sgemm per tile), or
 * oneDNN primitives on the tensors as they are ('dnnl', nhwc/hwio), with
 * oneDNN's blocked weights reordered every call ('dnnlWeights'), or with
 * every layout reordered ('dnnlAny'), or one pass over the filter rows
 * skipping the taps that see only padding ('stream', for layers of 1-4
 * output positions, whose filters a step reads from memory: measured with
 * `conv-engines.ts --cold`). 'auto' picks per op and shape
 * (choose() in src/conv.cc). Measured on the 55 distinct convolutions of a
 * pix2pix 256x256 step (unet_256 + 70x70 PatchGAN, batch 1, 99 GFLOP over
 * 101 calls) on 2 AVX-512 cores, sum of the calls:
 *
 *                 auto   gemm   dnnl   dnnlWeights   (ms, warm caches)
 *   Conv2D         116    148    211    129
 *   BackpropInput  141    151    148    199
 *   BackpropFilter 121    140    165    156
 *
 * i.e. 250-385 GFLOP/s on the big layers; the deep layers (2x2 to 8x8
 * positions, 4-8M-float filters) are bound by streaming their weights. With
 * cold caches, as inside a real step, auto sums to ~440 ms. That is the
 * table of a machine whose OpenBLAS runs AVX-512 kernels; where only oneDNN
 * does (OpenBLAS 0.3.21 on AMD Zen 5 runs its Haswell AVX2 kernels, and so
 * does any OPENBLAS_CORETYPE=Haswell), auto takes a oneDNN-first table
 * instead. On a Zen 5 machine, the same sums (`test/bench/conv-engines.ts`):
 *
 *                 sgemm-first  oneDNN-first  gemm   dnnl   dnnlWeights
 *   Conv2D         104          93           193    252    110
 *   BackpropInput  152         106           178    125    159
 *   BackpropFilter 109          95           161    102    113
 *
 * Where neither library has AVX-512 (an AMD EPYC Zen 3), a third table:
 * sgemm forward, the stream engine for 1-4 positions, oneDNN for the deep
 * layers' gradients (src/conv_table.cc choose_avx2; 64x64 step 49.0 -> 43.6 ms).
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../index.ts';
import { filterGradient } from './async.ts';
import { nativePool } from '../pool.ts';


/** The engines of the native module (the numbers are its API). */
export const ConvEngine = { auto: 0, gemm: 1, gemmSplit: 2, dnnl: 3, dnnlWeights: 4, dnnlAny: 5, stream: 6 } as const;
export type ConvEngineName = keyof typeof ConvEngine;

type Run = (a: Float32Array, b: Float32Array, out: Float32Array, geometry: Int32Array, engine: number) => number;

/** The conv module's functions (see src/conv.cc). */
export interface ConvAddon {
  conv2d: Run;
  conv2dBackpropInput: Run;
  conv2dBackpropFilter: Run;
  /**
   * The filter gradient on the worker thread (src/conv_async.cc): a job id
   * for wait(), or 0 when it was computed before returning (two threads'
   * worth of work, or an engine the worker does not run). Until wait(id)
   * returns, dw must not be read nor x and dy written.
   */
  conv2dBackpropFilterAsync: Run;
  /** out = a + b on the worker, after the jobs before it: the job's id. */
  addAsync(a: Float32Array, b: Float32Array, out: Float32Array): number;
  /**
   * One tensor's Adam update on the worker (the element-wise module's
   * kernel), queued in pieces that a thread waiting for them may run itself:
   * the last piece's id.
   */
  adamAsync(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, pOut: Float32Array, mOut: Float32Array, vOut: Float32Array, b1: number, c1: number, b2: number, c2: number, sb2: number, eps: number, step: number): number;
  /** A finished filter-gradient or add job's sum of squares of its output (undefined once its report is gone, or if NaN). */
  jobSum(id: number): number | undefined;
  /** x's sum of squares, the same double a job that wrote x reports (src/ew_kernels.h). */
  sumOfSquares(x: Float32Array): number;
  /** Returns once job `id` and every job before it ran (running queued Adam pieces up to it itself); throws if one failed. */
  wait(id: number): void;
  /** The worker's time in jobs so far, in seconds (profiles compare it with the step's). */
  busySeconds(): number;
  /** The queued Adam pieces that waiting threads ran so far. */
  helpedJobs(): number;
  /** oneDNN's implementation for op 0 (forward), 1 (input gradient), 2 (filter gradient); 'gemm' for the sgemm engines. */
  impl(op: number, geometry: Int32Array, engine: number): string;
  /**
   * Column-buffer sizes of the sgemm engines: floats per chunk (gemm), floats
   * per thread tile and fewest positions per tile (gemmSplit), the FLOPs
   * below which a convolution runs on one thread (2^27), and the table
   * 'auto' picks engines from (1: sgemm where OpenBLAS is AVX-512, 2:
   * oneDNN first where only oneDNN is, 3: neither is; detected at first
   * use), and the most
   * output positions 'auto' sends to the stream engine (4; -1 turns it off),
   * and how many waiting jobs make the calling thread compute a filter
   * gradient itself, the worker's way (1; -1 never, -2 always), and the
   * elements of each piece of a queued Adam update, which a thread waiting
   * for it may run itself (2^17; -1: whole tensors, the worker's alone);
   * 0 or absent keeps a value. Returns the values before.
   */
  tune(
    chunkFloats: number,
    tileFloats: number,
    tileMinPositions: number,
    singleThreadBelow?: number,
    table?: number,
    streamPositions?: number,
    backlog?: number,
    adamPiece?: number,
  ): [number, number, number, number, number, number, number, number];
  /** Frees the scratch buffers and cached oneDNN primitives. */
  release(): void;
  /** OpenBLAS's core and build configuration. */
  blas(): string;
  threads(): number;
}

/**
 * The engine each kernel asks for ('auto' unless changed: benchmarks and
 * tests force one to compare them). Process-wide.
 */
export const convEngines: Record<'Conv2D' | 'Conv2DBackpropInput' | 'Conv2DBackpropFilter', ConvEngineName> = {
  Conv2D: 'auto',
  Conv2DBackpropInput: 'auto',
  Conv2DBackpropFilter: 'auto',
};


/** The geometry array of the native API: [n, h, w, ci, oh, ow, co, kh, kw, sh, sw, padTop, padLeft]. */
export const nativeGeometry = (info: tf.backend_util.Conv2DInfo): Int32Array =>
  Int32Array.of(
    info.batchSize,
    info.inHeight,
    info.inWidth,
    info.inChannels,
    info.outHeight,
    info.outWidth,
    info.outChannels,
    info.filterHeight,
    info.filterWidth,
    info.strideHeight,
    info.strideWidth,
    info.padInfo.top,
    info.padInfo.left,
  );

type Args = Parameters<tf.KernelFunc>[0];
type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** The Float32Array behind a cpu-backend tensor, or undefined when it has none. */
const f32 = (backend: MathBackendCPU, t: tf.TensorInfo): Float32Array | undefined => {
  if (t.dtype !== 'float32') return undefined;
  const values = backend.data.get(t.dataId)?.values;
  return values instanceof Float32Array ? values : undefined;
};

const servable = (info: tf.backend_util.Conv2DInfo): boolean =>
  info.dilationHeight === 1 &&
  info.dilationWidth === 1 &&
  info.batchSize > 0 &&
  info.inHeight > 0 &&
  info.inWidth > 0 &&
  info.inChannels > 0 &&
  info.outHeight > 0 &&
  info.outWidth > 0 &&
  info.outChannels > 0 &&
  info.filterHeight > 0 &&
  info.filterWidth > 0 &&
  info.padInfo.top >= 0 &&
  info.padInfo.left >= 0;

const fallback = (kernelName: string, args: Args): tf.TensorInfo | tf.TensorInfo[] => {
  const cpu = tf.getKernel(kernelName, 'cpu');
  if (cpu === undefined) throw new Error(`${kernelName}: no cpu kernel to fall back to`);
  return cpu.kernelFunc(args);
};

interface Operands {
  readonly info: tf.backend_util.Conv2DInfo;
  readonly a: tf.TensorInfo;
  readonly b: tf.TensorInfo;
  readonly outShape: number[];
}

function kernel(
  kernelName: keyof typeof convEngines,
  run: Run,
  operands: (args: Args) => Operands | undefined,
): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'native',
    kernelFunc: (args) => {
      const ops = operands(args);
      if (ops === undefined || !servable(ops.info)) return fallback(kernelName, args);
      const backend = args.backend as MathBackendCPU;
      const a = f32(backend, ops.a);
      const b = f32(backend, ops.b);
      if (a === undefined || b === undefined) return fallback(kernelName, args);
      const out = nativePool.take(ops.outShape.reduce((p, d) => p * d, 1));
      run(a, b, out, nativeGeometry(ops.info), ConvEngine[convEngines[kernelName]]);
      return backend.makeTensorInfo(ops.outShape, 'float32', out);
    },
  };
}

const nhwc = (dataFormat: string | undefined): boolean => dataFormat === undefined || dataFormat === 'NHWC';

export const convKernels = (addon: NativeAddon): tf.KernelConfig[] => {
  const conv = addon.conv as unknown as ConvAddon;
  return [
    kernel('Conv2D', conv.conv2d.bind(conv), ({ inputs, attrs }) => {
      const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
      const a = attrs as unknown as tf.Conv2DAttrs;
      if (!nhwc(a.dataFormat) || x.shape.length !== 4 || x.shape[3] !== filter.shape[2]) return undefined;
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filter.shape as [number, number, number, number],
        a.strides,
        a.dilations,
        a.pad as Pad,
        a.dimRoundingMode,
      );
      return { info, a: x, b: filter, outShape: [info.batchSize, info.outHeight, info.outWidth, info.outChannels] };
    }),
    kernel('Conv2DBackpropInput', conv.conv2dBackpropInput.bind(conv), ({ inputs, attrs }) => {
      const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
      if (!nhwc(a.dataFormat) || a.inputShape.length !== 4 || a.inputShape[3] !== filter.shape[2]) return undefined;
      const info = tf.backend_util.computeConv2DInfo(
        a.inputShape,
        filter.shape as [number, number, number, number],
        a.strides,
        1,
        a.pad as Pad,
        a.dimRoundingMode,
      );
      if (!sameShape(dy.shape, [info.batchSize, info.outHeight, info.outWidth, info.outChannels])) return undefined;
      return { info, a: dy, b: filter, outShape: [...a.inputShape] };
    }),
    kernel('Conv2DBackpropFilter', filterGradient(conv), ({ inputs, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      if (!nhwc(a.dataFormat) || x.shape.length !== 4 || x.shape[3] !== a.filterShape[2]) return undefined;
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        a.filterShape,
        a.strides,
        1,
        a.pad as Pad,
        a.dimRoundingMode,
      );
      if (!sameShape(dy.shape, [info.batchSize, info.outHeight, info.outWidth, info.outChannels])) return undefined;
      return { info, a: x, b: dy, outShape: [...a.filterShape] };
    }),
  ];
};

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);
