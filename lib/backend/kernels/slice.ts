/**
 * Slice (and SplitV) for wasm that copy only the slice.
 *
 * The stock wasm Slice starts with readSync(x), which copies the WHOLE input
 * out of the heap on every call; SplitV (the gradient of concat, i.e. of every
 * U-Net skip connection) calls it once per piece. Here the slice is copied
 * straight heap-to-heap as runs: the axes after the last partial axis are
 * whole, so each run is contiguous (a channel split of NHWC is N*H*W runs of
 * C_piece values).
 */
import * as tf from '@tensorflow/tfjs';
import { isWasmBackend, wasmOffset, type WasmBackendLike } from './memory.ts';
import { callStock } from './registry.ts';

type Args = Parameters<tf.KernelFunc>[0];

function sliceWasm(backend: WasmBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = backend.makeOutput(size, x.dtype);
  const rank = x.shape.length;
  const strides = tf.util.computeStrides(x.shape);
  // Innermost axis that is not taken whole: runs span it and everything after it.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) k--;
  const stride = (i: number): number => (i < rank - 1 ? strides[i]! : 1);
  const runLen = rank === 0 ? 1 : size[k]! * stride(k);

  // Views after makeOutput: it may grow (and so detach) the heap.
  const bytes = x.dtype === 'bool' ? 1 : 4;
  const heap = bytes === 4 ? new Int32Array(backend.wasm.HEAPU8.buffer) : backend.wasm.HEAPU8;
  let src0 = wasmOffset(backend, x) / bytes;
  for (let i = 0; i <= k && i < rank; i++) src0 += begin[i]! * stride(i);
  let dst = wasmOffset(backend, out) / bytes;

  const outer = size.slice(0, Math.max(0, k));
  const runs = outer.reduce((p, d) => p * d, 1);
  const idx = new Array<number>(outer.length).fill(0);
  let src = src0;
  for (let r = 0; r < runs; r++) {
    if (runLen < 16) for (let i = 0; i < runLen; i++) heap[dst + i] = heap[src + i]!;
    else heap.copyWithin(dst, src, src + runLen);
    dst += runLen;
    // Odometer over the outer axes, moving src by the input strides.
    for (let i = outer.length - 1; i >= 0; i--) {
      idx[i]!++;
      src += stride(i);
      if (idx[i]! < outer[i]!) break;
      src -= outer[i]! * stride(i);
      idx[i] = 0;
    }
  }
  return out;
}

export function sliceKernel(stock: tf.KernelConfig | undefined): tf.KernelFunc {
  return (args: Args) => {
    const x = args.inputs['x']!;
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const params = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
    const b = params[0]!;
    const s = params[1]!;
    if (!isWasmBackend(args.backend) || x.dtype === 'string' || tf.util.sizeFromShape(s) === 0) {
      return callStock(stock, 'Slice', args);
    }
    return sliceWasm(args.backend, x, b, s);
  };
}

/** SplitV as one Slice per piece, through the registered Slice (the stock one calls its own directly). */
export function splitVKernel(backendName: string): tf.KernelFunc {
  return (args: Args) => {
    const slice = tf.getKernel('Slice', backendName).kernelFunc;
    const x = args.inputs['x']!;
    const { numOrSizeSplits, axis } = args.attrs as unknown as tf.SplitVAttrs;
    const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, numOrSizeSplits, ax);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((piece) => {
      const size = [...x.shape];
      size[ax] = piece;
      const out = slice({ inputs: { x }, backend: args.backend, attrs: { begin: [...begin], size } });
      begin[ax]! += piece;
      return out as tf.TensorInfo;
    });
  };
}
