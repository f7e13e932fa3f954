/**
 * Backend selection where there is no Node: the isomorphic entry's
 * `useBackend`. 'auto' takes the first of webgpu, webgl, wasm and cpu that
 * is registered with tf.js and initialises, and says why it passed over the
 * others. WebGL and cpu come with @tensorflow/tfjs; WebGPU and wasm are
 * registered by importing @tensorflow/tfjs-backend-webgpu or
 * @tensorflow/tfjs-backend-wasm (with its .wasm files served: setWasmPaths).
 * On wasm and cpu the library's training kernels are installed, as in Node.
 * pix2pix-ts/node's `useBackend` adds native, tfjs-node and wasm in Node.
 */
import * as tf from '@tensorflow/tfjs';
import { registerTrainingKernels } from './kernels/index.ts';

export type BrowserBackendChoice = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BrowserBackendInfo {
  readonly name: Exclude<BrowserBackendChoice, 'auto'>;
  readonly reason: string;
}

const ORDER = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
/** Why a backend can be missing from tf.js's registry. */
const UNREGISTERED: Record<(typeof ORDER)[number], string> = {
  webgpu: 'not registered (import @tensorflow/tfjs-backend-webgpu)',
  webgl: 'not registered (@tensorflow/tfjs registers it only in a browser)',
  wasm: 'not registered (import @tensorflow/tfjs-backend-wasm)',
  cpu: 'not registered (import @tensorflow/tfjs)',
};

/** Undefined once `name` is the active backend, else why it is not. */
const activate = async (name: (typeof ORDER)[number]): Promise<string | undefined> => {
  if (tf.findBackendFactory(name) == null) return UNREGISTERED[name];
  if (name === 'webgpu') {
    // Ask first: tf.js's own attempt logs a stack trace when there is no adapter.
    const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
    if (gpu === undefined) return 'this browser has no WebGPU (navigator.gpu)';
    if ((await gpu.requestAdapter().catch(() => null)) == null) return 'no WebGPU adapter';
  }
  try {
    if (!(await tf.setBackend(name))) return 'failed to initialise';
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).split('\n')[0];
  }
  if (name === 'wasm' || name === 'cpu') registerTrainingKernels(name);
  return undefined;
};

/**
 * Select a backend: 'auto' (the first that works of webgpu, webgl, wasm,
 * cpu) or one by name, which is an error saying why when it does not work.
 */
export const useBackend = async (choice: BrowserBackendChoice = 'auto', opts: { quiet?: boolean } = {}): Promise<BrowserBackendInfo> => {
  const tried: string[] = [];
  for (const name of choice === 'auto' ? ORDER : [choice]) {
    const why = await activate(name);
    if (why === undefined) {
      const reason = choice === 'auto' ? `${name}${tried.length > 0 ? ` (${tried.join('; ')})` : ': the first that works'}` : `${name}: requested`;
      if (opts.quiet !== true) console.info(`pix2pix-ts backend ${reason}`);
      return { name, reason };
    }
    tried.push(`${name}: ${why}`);
  }
  throw new Error(`backend '${choice}' is unavailable: ${tried.join('; ')}`);
};
