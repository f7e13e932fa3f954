/**
 * The data worker's thread (started by ./offload.ts): decodes and augments
 * examples as the main thread's preprocessPair(load(i), key, preprocess)
 * would, bit for bit, keeping each example's decoded and resized pair while
 * the cache has room (every epoch resizes the same way; only the crop and
 * flip are drawn anew). Told the order a stream will ask for examples in
 * (a Warm message), it resizes them into the cache ahead of the asks, one at
 * a time between them, while the cache has room: the first epoch's decoding
 * then runs while the training thread is still starting up, as a loop that
 * decodes everything before its first step would, but on the idle core.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Key } from '../core/key.ts';
import type { Example, Pair } from './dataset.ts';
import { exampleBytes, type LoaderOptions } from './example-loader.ts';
import { useNativeJpeg, useNativeResize } from './native.ts';
import { augmentParams, cropFlipResized, resizeBytePair, type PreprocessOptions } from './preprocess.ts';

export interface WorkerInit {
  readonly examples: readonly Example[];
  readonly loader: LoaderOptions;
  readonly cacheBytes: number;
}
export interface Request {
  readonly id: number;
  readonly index: number;
  readonly key: Key;
  readonly preprocess: PreprocessOptions | undefined;
}
/** Resize `order`'s examples into the cache ahead of the asks; a later Warm replaces it. Answered with a Warmed of the same id. */
export interface Warm {
  readonly warm: number;
  readonly order: readonly number[];
  readonly preprocess: PreprocessOptions | undefined;
}
export type Reply =
  | { readonly id: number; readonly pair: Pair }
  | { readonly id: number; readonly error: { readonly name: string; readonly message: string; readonly path?: string } }
  /** Warm `warmed` ended (its order done, the cache full, or replaced) with `cached` pairs in the cache. */
  | { readonly warmed: number; readonly cached: number };

// Same bits as the JavaScript resize (the batches' oracle in test/data-worker.test.ts is the main thread's), 4-5x faster.
useNativeResize();
// sharp's bytes for every JPEG, decoded on this thread at a quarter of sharp's cost.
useNativeJpeg();

const init = workerData as WorkerInit;
const load = exampleBytes(init.examples, init.loader);
const cache = new Map<string, Pair>();
let cachedBytes = 0;

const inFlight = new Map<string, Promise<Pair>>();

const cacheId = (index: number, preprocess: PreprocessOptions | undefined): string => {
  const ex = init.examples[index];
  const size = ex ? augmentParams([0, 0], ex.height, ex.width, preprocess).resize : null;
  return `${index} ${size ? size.join('x') : 'as is'}`;
};

/** Example `index` decoded and resized: from the cache, from a decode already under way (an ask and a warm share it), or anew. */
const resized = (index: number, preprocess: PreprocessOptions | undefined): Promise<Pair> => {
  const id = cacheId(index, preprocess);
  const hit = cache.get(id);
  if (hit) return Promise.resolve(hit);
  let made = inFlight.get(id);
  if (made === undefined) {
    made = (async () => {
      const pair = resizeBytePair(await load(index), preprocess);
      const bytes = (pair.x.length + pair.y.length) * 4;
      if (cachedBytes + bytes <= init.cacheBytes) {
        cache.set(id, pair);
        cachedBytes += bytes;
      }
      return pair;
    })();
    inFlight.set(id, made);
    const done = () => void inFlight.delete(id);
    made.then(done, done);
  }
  return made;
};

let warming: Warm | undefined;
const warm = async (w: Warm): Promise<void> => {
  const running = warming !== undefined;
  warming = w;
  if (running) return; // the loop under way takes the new order up
  let current = w;
  for (let at = 0; ; at++) {
    if (warming !== current) [current, at] = [warming!, 0];
    const index = current.order[at];
    if (index === undefined || cachedBytes >= init.cacheBytes) break;
    try {
      await resized(index, current.preprocess);
    } catch {
      continue; // a bad file is the ask's to report, with its name, when the stream reaches it
    }
    if (!cache.has(cacheId(index, current.preprocess))) break; // no room left for a pair this size
    await new Promise((r) => setImmediate(r)); // asks that came in the meantime go first
  }
  warming = undefined;
  parentPort!.postMessage({ warmed: current.warm, cached: cache.size } satisfies Reply);
};

parentPort!.on('message', async (r: Request | Warm) => {
  if ('warm' in r) return warm(r);
  try {
    const ex = init.examples[r.index]!;
    const base = await resized(r.index, r.preprocess);
    const out = cropFlipResized(ex, base, r.key, r.preprocess);
    // Never hand over the cache's own arrays (no crop and no flip returns them).
    const pair = { ...out, x: out.x === base.x ? out.x.slice() : out.x, y: out.y === base.y ? out.y.slice() : out.y };
    parentPort!.postMessage({ id: r.id, pair } satisfies Reply, [...new Set([pair.x.buffer, pair.y.buffer] as ArrayBuffer[])]);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const path = (err as { path?: unknown }).path;
    parentPort!.postMessage({ id: r.id, error: { name: err.name, message: err.message, ...(typeof path === 'string' ? { path } : {}) } } satisfies Reply);
  }
});
