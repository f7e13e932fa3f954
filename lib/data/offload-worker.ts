/**
 * The data worker's thread (started by ./offload.ts): decodes and augments
 * examples as the main thread's preprocessPair(load(i), key, preprocess)
 * would, bit for bit, keeping each example's decoded and resized pair while
 * the cache has room (every epoch resizes the same way; only the crop and
 * flip are drawn anew).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Key } from '../core/key.ts';
import type { Example, Pair } from './dataset.ts';
import { exampleLoader, type LoaderOptions } from './example-loader.ts';
import { augmentParams, cropFlipResized, resizePair, type PreprocessOptions } from './preprocess.ts';

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
export type Reply = { readonly id: number; readonly pair: Pair } | { readonly id: number; readonly error: { readonly name: string; readonly message: string; readonly path?: string } };

const init = workerData as WorkerInit;
const load = exampleLoader(init.examples, init.loader);
const cache = new Map<string, Pair>();
let cachedBytes = 0;

const resized = async (index: number, preprocess: PreprocessOptions | undefined): Promise<Pair> => {
  const ex = init.examples[index];
  const size = ex ? augmentParams([0, 0], ex.height, ex.width, preprocess).resize : null;
  const id = `${index} ${size ? size.join('x') : 'as is'}`;
  const hit = cache.get(id);
  if (hit) return hit;
  const pair = resizePair(await load(index), preprocess);
  const bytes = (pair.x.length + pair.y.length) * 4;
  if (cachedBytes + bytes <= init.cacheBytes) {
    cache.set(id, pair);
    cachedBytes += bytes;
  }
  return pair;
};

parentPort!.on('message', async (r: Request) => {
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
