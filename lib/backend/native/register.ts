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
import { nativePool, type BufferPool } from './pool.ts';

export const NATIVE_BACKEND = 'native';

/** The kernels the accelerator replaces (for docs and tests). */
export const nativeKernelNames = (addon: NativeAddon): string[] => [...convKernels(addon), ...elementwiseKernels(addon)].map((k) => k.kernelName);

type DataId = object;
type Values = Parameters<MathBackendCPU['write']>[0];

/**
 * The cpu backend, telling the buffer pool which tensors hold which output
 * buffers: every write adopts, every final dispose releases, every read
 * escapes (see pool.ts).
 */
export class NativeBackend extends MathBackendCPU {
  constructor(readonly pool: BufferPool) {
    super();
    // The cpu backend's "install our node backend" banner is wrong here: this is the fast path.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

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
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const disposed = super.disposeData(dataId, force);
    if (values !== undefined && !this.data.has(dataId)) this.pool.release(values);
    return disposed;
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
