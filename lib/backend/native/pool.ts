/**
 * Recycled output buffers for the native backend.
 *
 * tf.js's cpu backend gives every kernel output a fresh typed array and
 * forgets it on dispose; the memory comes back only when V8 next collects.
 * A U-Net step makes hundreds of MiB of outputs, so between collections the
 * dead ones pile up (1.8 GiB resident for 210 MiB of live tensors in
 * inference at 512x512) and new ones land on fresh pages (60k page faults,
 * ~0.2 s of system time per inference at 512).
 *
 * The pool hands those buffers back the moment their last tensor is
 * disposed, so the next step reuses warm memory. It is safe because it
 * counts every tensor whose values live in a pooled buffer (views made by
 * slicing included) and never recycles a buffer whose memory has been handed
 * out by dataSync() / data(): that one is left to the garbage collector.
 */

import { totalmem } from 'node:os';

/** Below this many floats an output is a plain array (small buffers are cheap). */
const MIN_POOLED_FLOATS = 1024;

/** Sizes are rounded up to 8 classes per power of two (≤ 12.5% slack). */
export const sizeClass = (bytes: number): number => {
  const step = 2 ** Math.max(0, Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
};

export interface PoolStats {
  /** Bytes waiting in the free lists. */
  readonly freeBytes: number;
  /** Pooled buffers in use by at least one tensor, and their bytes. */
  readonly liveBuffers: number;
  readonly liveBytes: number;
  /** The most bytes the pool has held at once (in use + free). */
  readonly peakBytes: number;
  /** Outputs served from the free lists, and freshly allocated. */
  readonly reused: number;
  readonly allocated: number;
}

export class BufferPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  readonly #owned = new WeakSet<ArrayBuffer>();
  readonly #shares = new Map<ArrayBuffer, number>();
  readonly #escaped = new WeakSet<ArrayBuffer>();
  #freeBytes = 0;
  #liveBytes = 0;
  #peakBytes = 0;
  #reused = 0;
  #allocated = 0;
  /** Fill every output with NaN first (tests: a kernel that skips an element shows). */
  poison = false;

  /** maxFreeBytes bounds the free lists; 0 turns pooling off. */
  constructor(readonly maxFreeBytes: number) {}

  /** An uninitialised array of `floats` elements for a kernel to fill completely. */
  take(floats: number): Float32Array {
    if (floats < MIN_POOLED_FLOATS) return this.poison ? new Float32Array(floats).fill(Number.NaN) : new Float32Array(floats);
    const bytes = sizeClass(floats * 4);
    let buffer = this.#free.get(bytes)?.pop();
    if (buffer) {
      this.#freeBytes -= bytes;
      this.#reused++;
    } else {
      // Not zero-filled: malloc'd memory as it is (calloc would touch every page).
      buffer = Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
      if (this.maxFreeBytes > 0) this.#owned.add(buffer);
      this.#allocated++;
    }
    const out = new Float32Array(buffer, 0, floats);
    return this.poison ? out.fill(Number.NaN) : out;
  }

  /** A tensor now holds `values` (called for every write into the backend). */
  adopt(values: unknown): void {
    const buffer = this.#pooled(values);
    if (!buffer) return;
    const shares = this.#shares.get(buffer) ?? 0;
    this.#shares.set(buffer, shares + 1);
    if (shares === 0) {
      this.#liveBytes += buffer.byteLength;
      this.#peakBytes = Math.max(this.#peakBytes, this.#liveBytes + this.#freeBytes);
    }
  }

  /** A tensor holding `values` was disposed: recycle the buffer once no tensor holds it. */
  release(values: unknown): void {
    const buffer = this.#pooled(values);
    if (!buffer) return;
    const left = (this.#shares.get(buffer) ?? 1) - 1;
    if (left > 0) {
      this.#shares.set(buffer, left);
      return;
    }
    this.#shares.delete(buffer);
    this.#liveBytes -= buffer.byteLength;
    if (this.#escaped.has(buffer) || this.#freeBytes + buffer.byteLength > this.maxFreeBytes) return;
    const list = this.#free.get(buffer.byteLength);
    if (list) list.push(buffer);
    else this.#free.set(buffer.byteLength, [buffer]);
    this.#freeBytes += buffer.byteLength;
  }

  /** `values` was handed to user code (dataSync, data): never recycle its buffer. */
  escape(values: unknown): void {
    const buffer = this.#pooled(values);
    if (buffer) this.#escaped.add(buffer);
  }

  /** Whether at most one tensor holds `values`' buffer (always true for buffers the pool does not own). */
  exclusive(values: unknown): boolean {
    const buffer = this.#pooled(values);
    return !buffer || (this.#shares.get(buffer) ?? 0) <= 1;
  }

  /** Drops the free lists (the garbage collector reclaims them). */
  clear(): void {
    this.#free.clear();
    this.#freeBytes = 0;
  }

  stats(): PoolStats {
    return { freeBytes: this.#freeBytes, liveBuffers: this.#shares.size, liveBytes: this.#liveBytes, peakBytes: this.#peakBytes, reused: this.#reused, allocated: this.#allocated };
  }

  #pooled(values: unknown): ArrayBuffer | undefined {
    if (!ArrayBuffer.isView(values)) return undefined;
    const buffer = values.buffer as ArrayBuffer;
    return this.#owned.has(buffer) ? buffer : undefined;
  }
}

/**
 * The pool of the native backend. PIX2PIX_NATIVE_POOL_MIB bounds its free
 * lists (0 turns recycling off); by default a quarter of the machine's
 * memory, at most 4 GiB — more than a fixed-shape loop ever leaves free
 * (about one step's turnover: ~0.5 GiB at 256x256), so the bound only
 * matters when shapes keep changing.
 */
export const nativePool = new BufferPool(
  (() => {
    const raw = process.env['PIX2PIX_NATIVE_POOL_MIB'];
    if (raw === undefined || raw === '') return Math.min(4 * 2 ** 30, Math.floor(totalmem() / 4));
    const mib = Number(raw);
    if (!Number.isFinite(mib) || mib < 0) throw new Error(`PIX2PIX_NATIVE_POOL_MIB must be a number of MiB >= 0, got '${raw}'`);
    return mib * 2 ** 20;
  })(),
);
