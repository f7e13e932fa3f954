/**
 * The 'native' backend: tf.js's cpu backend (its tensors are plain
 * Float32Arrays in JavaScript memory, so native code reads and writes them
 * without copies and without wasm's 4 GiB heap), with the hot kernels
 * replaced by the native accelerator's multi-threaded ones. Every kernel the
 * accelerator does not provide is the cpu backend's own.
 */
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './index.ts';
import { convKernels } from './kernels/conv.ts';
import { elementwiseKernels } from './kernels/elementwise.ts';
import { nativePending, type PendingJobs } from './pending.ts';
import { nativePool, type BufferPool } from './pool.ts';

export const NATIVE_BACKEND = 'native';

/** The kernels the accelerator replaces (for docs and tests). */
export const nativeKernelNames = (addon: NativeAddon): string[] => [...convKernels(addon), ...elementwiseKernels(addon)].map((k) => k.kernelName);

type DataId = object;
type Values = Parameters<MathBackendCPU['write']>[0];

/**
 * The cpu backend, telling the buffer pool which tensors hold which output
 * buffers: every write adopts, every final dispose releases, every read
 * escapes (see pool.ts); and waiting for the jobs of the native worker
 * thread (see pending.ts) before what they write is read
 * (every kernel, and readSync, gets a tensor's values through data.get) and
 * before a buffer a job uses goes back to the pool.
 */
export class NativeBackend extends MathBackendCPU {
  constructor(
    readonly pool: BufferPool,
    readonly pending: PendingJobs = nativePending,
  ) {
    super();
    // The cpu backend's "install our node backend" banner is wrong here: this is the fast path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
    const data = this.data;
    const get = data.get.bind(data);
    this.peek = get;
    data.get = (dataId) => {
      const entry = get(dataId);
      if (pending.active && !this.#disposing && entry !== undefined) pending.beforeRead(entry.values);
      return entry;
    };
  }

  #disposing = false;

  /** A tensor's entry without waiting for a job writing its values (for the worker's kernels, which look before they wait). */
  readonly peek: (dataId: DataId) => { values?: unknown } | undefined;

  override write(values: Values, shape: number[], dtype: tf.DataType): DataId {
    this.pool.adopt(values);
    return super.write(values, shape, dtype);
  }

  override move(dataId: DataId, values: Values, shape: number[], dtype: tf.DataType, refCount: number): void {
    // A move onto an id this backend already holds replaces its values.
    if (this.data.has(dataId)) this.pool.release(this.data.get(dataId).values);
    this.pool.adopt(values);
    super.move(dataId, values, shape, dtype, refCount);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    // data.get would fetch a missing id from other backends: ask has() first.
    // Disposing is no read: no waiting for a job writing the values, and the
    // buffer goes back to the pool once no job uses it.
    const values = this.data.has(dataId) ? this.peek(dataId)?.values : undefined;
    this.#disposing = true;
    let disposed: boolean;
    try {
      disposed = super.disposeData(dataId, force);
    } finally {
      this.#disposing = false;
    }
    if (values !== undefined && !this.data.has(dataId)) {
      if (this.pending.active) this.pending.release(values, () => this.pool.release(values));
      else this.pool.release(values);
    }
    return disposed;
  }

  override dispose(): void {
    this.pending.drain();
    super.dispose();
  }

  override readSync(dataId: DataId): tf.backend_util.BackendValues {
    const values = super.readSync(dataId);
    this.pool.escape(values);
    return values;
  }
}

export const registerNativeBackend = (addon: NativeAddon): void => {
  if (tf.findBackendFactory(NATIVE_BACKEND) != null) return;
  // Low priority: never picked unless asked for (useBackend picks explicitly).
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(nativePool), -1);
  for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  for (const k of [...convKernels(addon), ...elementwiseKernels(addon)]) {
    // Replace the cpu copy where there is one; new kernels (the fused ones) are simply added.
    if (tf.getKernel(k.kernelName, NATIVE_BACKEND)) tf.unregisterKernel(k.kernelName, NATIVE_BACKEND);
    tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  }
};
