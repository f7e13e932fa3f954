/**
 * Raw float32 access to the storage of the two backends these kernels serve,
 * plus the small amount of plumbing every composed kernel needs.
 *
 * Why raw access: the data-movement steps (im2col, phase interleave, slice) are
 * memory-bound and the stock kernels that could express them are slow on wasm
 * (StridedSlice copies element by element, Transpose/Slice copy the whole
 * input); plain typed-array loops on the heap are 5-100x faster.
 */
import * as tf from '@tensorflow/tfjs';

/** A float32 array plus the element offset where a tensor starts in it. */
export interface F32 {
  readonly data: Float32Array;
  readonly offset: number;
}

export interface Memory {
  /** A fresh float32 tensor; its contents are undefined (wasm does not zero). */
  alloc(shape: readonly number[]): tf.TensorInfo;
  /**
   * A view of a tensor's floats. Take views only after the last `alloc` of a
   * step: growing the wasm heap detaches every earlier view.
   */
  f32(info: tf.TensorInfo): F32;
}

/** The tfjs-backend-wasm internals used here (stable across 4.x). */
export interface WasmBackendLike {
  readonly wasm: { readonly HEAPU8: Uint8Array };
  readonly dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The tfjs-backend-cpu internals used here. */
interface CpuBackendLike {
  readonly data: { get(dataId: tf.DataId): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: Float32Array): tf.TensorInfo;
}

export function isWasmBackend(backend: unknown): backend is WasmBackendLike {
  return typeof backend === 'object' && backend !== null && 'wasm' in backend && 'dataIdMap' in backend;
}

function isCpuBackend(backend: unknown): backend is CpuBackendLike {
  return typeof backend === 'object' && backend !== null && 'data' in backend && 'makeTensorInfo' in backend;
}

export function wasmOffset(backend: WasmBackendLike, info: tf.TensorInfo): number {
  const entry = backend.dataIdMap.get(info.dataId);
  if (entry === undefined) throw new Error('wasm tensor data not found (already disposed?)');
  return entry.memoryOffset;
}

export function memoryOf(backend: unknown): Memory {
  if (isWasmBackend(backend)) {
    return {
      alloc: (shape) => backend.makeOutput([...shape], 'float32'),
      f32: (info) => ({
        data: new Float32Array(backend.wasm.HEAPU8.buffer),
        // malloc aligns to >= 8 bytes, so the byte offset is a whole float index.
        offset: wasmOffset(backend, info) >>> 2,
      }),
    };
  }
  if (isCpuBackend(backend)) {
    return {
      alloc: (shape) => backend.makeTensorInfo([...shape], 'float32', new Float32Array(tf.util.sizeFromShape([...shape]))),
      f32: (info) => {
        const values = backend.data.get(info.dataId)?.values;
        if (!(values instanceof Float32Array)) throw new Error('cpu tensor is not float32 data');
        return { data: values, offset: 0 };
      },
    };
  }
  throw new Error('pix2pix-ts training kernels support only the wasm and cpu backends');
}

/** Copies n floats; copyWithin when both live in one wasm heap (no subarray garbage). */
export function copyF32(dst: F32, dstAt: number, src: F32, srcAt: number, n: number): void {
  const d = dst.offset + dstAt;
  const s = src.offset + srcAt;
  if (n < 16) {
    for (let i = 0; i < n; i++) dst.data[d + i] = src.data[s + i]!;
  } else if (dst.data.buffer === src.data.buffer && dst.data.byteOffset === src.data.byteOffset) {
    dst.data.copyWithin(d, s, s + n);
  } else {
    dst.data.set(src.data.subarray(s, s + n), d);
  }
}

/** Calls another kernel of the same backend, the way the stock kernels compose. */
export function callKernel(
  kernelName: string,
  backendName: string,
  backend: tf.KernelBackend,
  inputs: Record<string, tf.TensorInfo>,
  attrs: tf.NamedAttrMap,
): tf.TensorInfo {
  const config = tf.getKernel(kernelName, backendName);
  if (config === undefined) throw new Error(`kernel ${kernelName} is not registered for backend ${backendName}`);
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`kernel ${kernelName} returned several tensors`);
  return out;
}

/** Frees intermediate results (refcounted: views made by Reshape stay valid). */
export function disposeAll(backend: tf.KernelBackend, ...infos: readonly tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/** The same data seen with another shape, without copying; never dispose it separately. */
export function withShape(info: tf.TensorInfo, shape: readonly number[]): tf.TensorInfo {
  return { dataId: info.dataId, shape: [...shape], dtype: info.dtype };
}
