/**
 * The data worker (Node): decoding and augmentation on a worker thread, so
 * that the training thread only stacks batches. At 64x64 the step's
 * convolutions run on one core and the decode / bicubic resize / crop / flip
 * of the next batches (~10 ms a batch in JavaScript) take the other;
 * decoded and resized pairs are kept in the worker up to a byte budget, so
 * later epochs only crop and flip. Results are bit for bit those of
 * preprocessPair(load(i), key, preprocess) on the main thread.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Key } from '../core/key.ts';
import type { Dataset, Example, Pair, WarmAhead } from './dataset.ts';
import type { LoaderOptions } from './example-loader.ts';
import { DataError } from './image.ts';
import type { PreprocessOptions } from './preprocess.ts';
import type { Reply, Request, Warm, WorkerInit } from './offload-worker.ts';

export interface DataWorker {
  /** Example `index` decoded and preprocessed with `key`, as preprocessPair(load(index), key, preprocess). */
  load(index: number, key: Key, preprocess: PreprocessOptions | undefined): Promise<Pair>;
  /**
   * Starts the thread now (it takes ~0.1-1 s to load its modules). Given
   * `ahead`, the thread then resizes those examples into its cache, in that
   * order, while it has room (a later call replaces the order); resolves
   * with the number of pairs cached when it stops.
   */
  warmUp(ahead?: WarmAhead): Promise<number>;
  /** Stops the thread (and drops its cache); a later load starts a new one. */
  close(): Promise<void>;
}

// Compiled, this file is offload.js beside offload-worker.js. Run from
// source (tsx, vitest), both are .ts, and the thread registers tsx's loader
// itself before importing its entry (tsx's --import does not reach workers).
const fromSource = import.meta.url.endsWith('.ts');
const workerUrl = new URL(fromSource ? './offload-worker.ts' : './offload-worker.js', import.meta.url);
const spawnWorker = (workerData: WorkerInit): Worker => {
  if (!fromSource) return new Worker(workerUrl, { workerData });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
};

const errorOf = (e: { name: string; message: string; path?: string }): Error =>
  e.name === 'DataError' && e.path !== undefined ? new DataError(e.path, e.message) : e.name === 'RangeError' ? new RangeError(e.message) : new Error(e.message);

/** The function-valued phrasing stays behind: what crosses is data only (messages from the worker use the API's names). */
const cloneable = (p: PreprocessOptions | undefined): PreprocessOptions | undefined => {
  if (p === undefined) return undefined;
  const { phrasing: _, ...rest } = p;
  return rest;
};

export const dataWorker = (examples: readonly Example[], loader: LoaderOptions, cacheBytes: number): DataWorker => {
  let worker: Worker | undefined;
  let nextId = 0;
  const pending = new Map<number, { resolve: (p: Pair) => void; reject: (e: Error) => void }>();
  // Warms asked for, by number; each is answered once the thread stops it
  // (a later one stops the earlier ones). Never ref'd: warming keeps no process alive.
  const warms = new Map<number, (cached: number) => void>();
  let nextWarm = 0;
  const failAll = (e: Error) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
    for (const done of warms.values()) done(0);
    warms.clear();
  };
  const start = (): Worker => {
    const w = spawnWorker({ examples, loader, cacheBytes });
    w.on('message', (r: Reply) => {
      if ('warmed' in r) {
        for (const [n, done] of warms) if (n <= r.warmed) (warms.delete(n), done(r.cached));
        return;
      }
      const p = pending.get(r.id);
      if (!p) return;
      pending.delete(r.id);
      if (pending.size === 0) w.unref(); // an idle worker keeps no process alive
      if ('error' in r) p.reject(errorOf(r.error));
      else p.resolve(r.pair);
    });
    w.on('error', (e) => failAll(new Error(`the data worker failed: ${e.message}`, { cause: e })));
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(new Error(`the data worker exited (code ${code}) with batches still to load`));
    });
    w.unref(); // idle until a load
    return w;
  };
  const running = (): Worker => (worker ??= start());
  return {
    load: (index, key, preprocess) =>
      new Promise<Pair>((resolve, reject) => {
        const w = running();
        w.ref(); // a load in flight keeps the process alive, as a decode on the main thread would
        const id = nextId++;
        pending.set(id, { resolve, reject });
        w.postMessage({ id, index, key, preprocess: cloneable(preprocess) } satisfies Request);
      }),
    warmUp: (ahead) => {
      const w = running();
      if (ahead === undefined) return Promise.resolve(0);
      const warm = ++nextWarm;
      const answered = new Promise<number>((resolve) => warms.set(warm, resolve));
      w.postMessage({ warm, order: ahead.order, preprocess: cloneable(ahead.preprocess) } satisfies Warm);
      return answered;
    },
    close: async () => {
      const w = worker;
      worker = undefined;
      if (w) await w.terminate();
    },
  };
};

/** A dataset dropped without close() stops its data worker when collected. */
const stopWhenCollected = new FinalizationRegistry<DataWorker>((w) => void w.close());

/** `dataset` with loadAugmented, warmUp and close served by a data worker over its examples. */
export const withDataWorker = (dataset: Dataset, loader: LoaderOptions, cacheBytes: number): Dataset => {
  const worker = dataWorker(dataset.examples, loader, cacheBytes);
  const served: Dataset = { ...dataset, loadAugmented: worker.load, warmUp: worker.warmUp, close: worker.close };
  stopWhenCollected.register(served, worker);
  return served;
};
