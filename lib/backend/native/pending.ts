/**
 * Jobs the native worker thread may still be running (src/conv_async.cc;
 * filter gradients, their sums, Adam's updates: kernels/async.ts):
 * JavaScript goes on while the other core works, so the backend must know
 * which buffers those jobs write and read. A read of a job's output waits for the job; a buffer
 * a job reads or writes goes back to the pool (pool.ts), where the next
 * kernel would write it, only after a wait has shown the job done. The maps
 * also keep the arrays alive: the worker holds their raw pointers.
 */

type Wait = (id: number) => void;

const bufferOf = (values: unknown): ArrayBufferLike | undefined => (ArrayBuffer.isView(values) ? values.buffer : undefined);

export class PendingJobs {
  readonly #writes = new Map<ArrayBufferLike, number>();
  readonly #reads = new Map<ArrayBufferLike, number>();
  /** The job that wrote an array and summed its squares (filter gradients, their sums). */
  readonly #summed = new WeakMap<Float32Array, number>();
  /** Sums of squares of arrays written in line (filter gradients computed on the calling thread). */
  readonly #inLine = new WeakMap<Float32Array, number>();
  #sum: ((id: number) => number | undefined) | undefined;
  #deferred: Array<readonly [number, () => void]> = [];
  #wait: Wait | undefined;
  #waited = 0;

  /** Whether any job may still be running (cheap: checked on every read). */
  get active(): boolean {
    return this.#writes.size > 0 || this.#reads.size > 0 || this.#deferred.length > 0;
  }

  /** Job `id` writes `outs` and reads `inputs`; `wait(id)` blocks until it (and every job before it) finished. */
  track(id: number, wait: Wait, outs: readonly Float32Array[], inputs: readonly Float32Array[]): void {
    this.#wait = wait;
    for (const a of outs) this.#writes.set(a.buffer, id);
    for (const a of inputs) this.#reads.set(a.buffer, id);
  }

  /** Job `id` (tracked) also summed the squares of `out`; `sum(id)` reads that sum once it ran. */
  summed(id: number, out: Float32Array, sum: (id: number) => number | undefined): void {
    this.#sum = sum;
    this.#summed.set(out, id);
  }

  /** `out`, just written on the calling thread, has this sum of squares (the same double a job would report; NaN is not kept). */
  summedInLine(out: Float32Array, sum: number): void {
    if (!Number.isNaN(sum)) this.#inLine.set(out, sum);
  }

  /**
   * The sum of squares of `values` as the job that wrote them reported it
   * (waiting for the job) or as it was taken in line, or undefined where
   * neither is known. Gradients are not written after they are made: the
   * sum stays theirs.
   */
  sumOfSquares(values: Float32Array): number | undefined {
    const id = this.#summed.get(values);
    if (id === undefined) return this.#inLine.get(values);
    this.beforeRead(values);
    return this.#sum!(id);
  }

  /** Whether a job still to be waited for reads or writes `values`' buffer. */
  busy(values: unknown): boolean {
    const buffer = bufferOf(values);
    return buffer !== undefined && (this.#writes.has(buffer) || this.#reads.has(buffer));
  }

  /** Whether a job still to be waited for writes `values`. */
  writing(values: unknown): boolean {
    const buffer = bufferOf(values);
    return buffer !== undefined && this.#writes.has(buffer);
  }

  /** Before `values` are read: waits for the job writing them, if any. */
  beforeRead(values: unknown): void {
    const buffer = bufferOf(values);
    const id = buffer && this.#writes.get(buffer);
    if (id !== undefined) this.#waitFor(id);
  }

  /**
   * Runs `release` (of `values`' buffer to the pool) once no job still to be
   * waited for reads or writes that buffer: now, or after the wait that
   * covers the last such job (no waiting here).
   */
  release(values: unknown, release: () => void): void {
    const buffer = bufferOf(values);
    const id = buffer === undefined ? 0 : Math.max(this.#writes.get(buffer) ?? 0, this.#reads.get(buffer) ?? 0);
    if (id > this.#waited) this.#deferred.push([id, release]);
    else release();
  }

  /** Waits for every job. */
  drain(): void {
    let last = 0;
    for (const id of this.#writes.values()) last = Math.max(last, id);
    for (const id of this.#reads.values()) last = Math.max(last, id);
    for (const [id] of this.#deferred) last = Math.max(last, id);
    if (last > 0) this.#waitFor(last);
  }

  #waitFor(id: number): void {
    if (id > this.#waited) {
      this.#wait!(id);
      this.#waited = id;
    }
    // Jobs run in order: every one up to id is done.
    for (const [buffer, job] of this.#writes) if (job <= id) this.#writes.delete(buffer);
    for (const [buffer, job] of this.#reads) if (job <= id) this.#reads.delete(buffer);
    if (this.#deferred.length > 0) {
      const due = this.#deferred.filter(([job]) => job <= id);
      this.#deferred = this.#deferred.filter(([job]) => job > id);
      for (const [, release] of due) release();
    }
  }
}

/** The native backend's jobs (one worker per process). */
export const nativePending = new PendingJobs();
