/**
 * Backend selection, 'auto' in this order: native TensorFlow (tfjs-node-gpu,
 * then tfjs-node) when installed; WebGPU through Dawn (./webgpu.ts) on a
 * hardware GPU adapter; the native accelerator; WebAssembly (XNNPACK) with
 * the training kernels of ./kernels; plain JS. A software WebGPU adapter
 * (SwiftShader, lavapipe) is passed over for native: on a CPU, native is
 * faster. 'webgpu' by name takes any adapter, software included.
 *
 * Diagnostics go to stderr only: the CLI prints pure JSON on stdout. The
 * cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js"
 * banner is switched off for the backends chosen here (useBackend says
 * which and why instead).
 *
 * Threads: the wasm backend runs single-threaded in Node. tfjs-backend-wasm's
 * WASM_HAS_MULTITHREAD_SUPPORT flag returns false whenever IS_NODE
 * (flags_wasm.ts, tfjs issue #3830), so the plain SIMD binary is loaded.
 * Forcing the flag on would not work either: init() hands emscripten the
 * pthread worker as a Blob URL (URL.createObjectURL of the inlined
 * wasmWorkerContents) and the main script as a Blob (mainScriptUrlOrBlob);
 * Node's worker_threads needs a file path or a file:/data: URL. Enabling it
 * would take a custom init: write the worker source and the threaded-SIMD
 * factory to files, point locateFile/mainScriptUrlOrBlob at them, then
 * setThreadsCount(n) before setBackend('wasm'). Not done here.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { registerTrainingKernels } from './kernels/index.ts';
import { loadNative } from './native/index.ts';
import { NATIVE_BACKEND, registerNativeBackend } from './native/register.ts';
import { activateWebgpu, describeAdapter, probeWebgpu, takeWebgpuErrors, vulkanAbsent, type WebgpuAdapter } from './webgpu.ts';

export { describeAdapter, type WebgpuAdapter } from './webgpu.ts';

export { registerTrainingKernels } from './kernels/index.ts';

export type BackendChoice = 'auto' | 'tensorflow' | 'webgpu' | 'native' | 'wasm' | 'cpu';

export interface BackendInfo {
  readonly name: 'tensorflow' | 'webgpu' | 'native' | 'wasm' | 'cpu';
  readonly reason: string;
  /** With webgpu: the adapter it runs on. */
  readonly adapter?: WebgpuAdapter;
}

const VERSION = '4.22.0';
const NODE_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

function message(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

/** Resolves to undefined on success, or to the reason the import failed. */
async function tryImport(specifier: string): Promise<string | undefined> {
  try {
    // A variable specifier keeps TypeScript (and bundlers) from resolving
    // these optional peer dependencies at build time.
    const name: string = specifier;
    await import(name);
    return undefined;
  } catch (e) {
    return message(e);
  }
}

async function activate(name: BackendInfo['name']): Promise<string | undefined> {
  if (tf.getBackend() === name && tf.findBackend(name) != null) return undefined;
  if (tf.findBackendFactory(name) == null) return `no '${name}' backend is registered with @tensorflow/tfjs`;
  try {
    return (await tf.setBackend(name)) ? undefined : `tf.setBackend('${name}') failed to initialize`;
  } catch (e) {
    return message(e);
  }
}

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** Loads tfjs-node-gpu, else tfjs-node; returns the package used or the reasons it could not. */
async function loadTensorflow(): Promise<{ pkg: string } | { failures: string[]; missing: boolean }> {
  const failures: string[] = [];
  let missing = true;
  for (const pkg of NODE_PACKAGES) {
    if (!installed(pkg)) {
      failures.push(`${pkg}: not installed`);
      continue;
    }
    missing = false;
    const importError = await tryImport(pkg);
    if (importError !== undefined) {
      failures.push(`${pkg}: ${importError}`);
      continue;
    }
    const activateError = await activate('tensorflow');
    if (activateError === undefined) return { pkg };
    failures.push(`${pkg}: ${activateError}`);
  }
  return { failures, missing };
}

async function loadWasm(): Promise<string | undefined> {
  const importError = await tryImport('@tensorflow/tfjs-backend-wasm');
  if (importError !== undefined) return importError;
  return activate('wasm');
}

/** The cpu backend with the native accelerator's kernels; resolves to undefined or the reason it is unavailable. */
async function loadNativeBackend(): Promise<string | undefined> {
  const native = loadNative();
  if ('reason' in native) return native.reason;
  registerTrainingKernels('cpu'); // copied into 'native' for any kernel the accelerator lacks
  registerNativeBackend(native.addon);
  return activate(NATIVE_BACKEND);
}

/** For 'auto': webgpu when Dawn offers a hardware adapter (activated), else why not. */
async function hardwareWebgpu(): Promise<{ adapter: WebgpuAdapter } | { reason: string }> {
  const absent = vulkanAbsent();
  if (absent !== undefined) return { reason: absent };
  const probe = await probeWebgpu();
  if ('reason' in probe) return probe;
  if (probe.adapter.software) return { reason: `its adapter is ${describeAdapter(probe.adapter)}, slower than native on this CPU (--backend webgpu takes it)` };
  return activateWebgpu();
}

async function choose(choice: BackendChoice): Promise<BackendInfo> {
  if (choice === 'tensorflow') {
    const r = await loadTensorflow();
    if ('pkg' in r) return { name: 'tensorflow', reason: `tensorflow: requested; using ${r.pkg}` };
    throw new Error(
      `backend 'tensorflow' is unavailable (${r.failures.join('; ')}). ` +
        `Install it with: npm install @tensorflow/tfjs-node@${VERSION} ` +
        `(or npm install @tensorflow/tfjs-node-gpu@${VERSION} for CUDA GPUs)`,
    );
  }
  if (choice === 'webgpu') {
    const r = await activateWebgpu();
    if ('adapter' in r) return { name: 'webgpu', reason: `webgpu: requested; adapter ${describeAdapter(r.adapter)}`, adapter: r.adapter };
    throw new Error(`backend 'webgpu' is unavailable: ${r.reason}`);
  }
  if (choice === 'native') {
    const err = await loadNativeBackend();
    if (err === undefined) return { name: 'native', reason: 'native: requested' };
    throw new Error(
      `backend 'native' is unavailable (${err}). It is built at install from source: apt-get install -y g++ libopenblas-openmp-dev libdnnl-dev, then npm run build:native`,
    );
  }
  if (choice === 'wasm') {
    const err = await loadWasm();
    if (err === undefined) return { name: 'wasm', reason: 'wasm: requested' };
    throw new Error(
      `backend 'wasm' is unavailable (${err}). Install it with: npm install @tensorflow/tfjs-backend-wasm@${VERSION}`,
    );
  }
  if (choice === 'cpu') {
    const err = await activate('cpu');
    if (err === undefined) return { name: 'cpu', reason: 'cpu: requested' };
    throw new Error(`backend 'cpu' is unavailable (${err}). Reinstall: npm install @tensorflow/tfjs@${VERSION}`);
  }

  const tensorflow = await loadTensorflow();
  if ('pkg' in tensorflow) return { name: 'tensorflow', reason: `tensorflow: ${tensorflow.pkg} is installed` };
  const why = tensorflow.missing
    ? `${NODE_PACKAGES.join(' and ')} are not installed`
    : `native TensorFlow failed to load (${tensorflow.failures.join('; ')})`;
  const gpu = await hardwareWebgpu();
  if ('adapter' in gpu) return { name: 'webgpu', reason: `webgpu: ${why}; GPU adapter ${describeAdapter(gpu.adapter)}`, adapter: gpu.adapter };
  const nativeError = await loadNativeBackend();
  if (nativeError === undefined) return { name: 'native', reason: `native: ${why}; webgpu: ${gpu.reason}; the native accelerator is built` };
  const wasmError = await loadWasm();
  if (wasmError === undefined) return { name: 'wasm', reason: `wasm: ${why}, and the native accelerator is ${nativeError}` };
  const cpuError = await activate('cpu');
  if (cpuError === undefined) return { name: 'cpu', reason: `cpu: ${why}, and wasm failed (${wasmError})` };
  throw new Error(`no TensorFlow.js backend could be initialized: ${why}; wasm: ${wasmError}; cpu: ${cpuError}`);
}

/**
 * Selects and initializes a backend ('auto': tensorflow > webgpu on a GPU > native > wasm > cpu), installs
 * the training kernels it needs, and reports which one and why (also on
 * stderr unless quiet). Idempotent; rejects with install instructions when a
 * named backend cannot load.
 */
export async function useBackend(choice: BackendChoice = 'auto', opts?: { quiet?: boolean }): Promise<BackendInfo> {
  const info = await choose(choice);
  if (info.name === 'wasm' || info.name === 'cpu') registerTrainingKernels(info.name);
  await tf.ready();
  // The cpu backend prints "Hi, looks like you are running TensorFlow.js in
  // Node.js ... install our node backend" on its first tensor; this function
  // already says which backend it took and why, so the banner is switched off.
  const active = tf.backend() as unknown as { firstUse?: boolean };
  if (active.firstUse === true) active.firstUse = false;
  if (opts?.quiet !== true) process.stderr.write(`pix2pix-ts backend ${info.reason}\n`);
  return info;
}

/** A backend reported a failure its kernels did not throw (WebGPU validation errors): the numbers after it are wrong. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
}

/**
 * Throws a BackendError naming `where` if the backend has reported an
 * error since the last check (today: WebGPU's uncaptured errors, which
 * tf.js does not see). Cheap; the CLI calls it after every step and image.
 */
export function checkBackend(where: string): void {
  const errs = takeWebgpuErrors();
  if (errs.length > 0) throw new BackendError(`${where}: WebGPU reported ${errs.length === 1 ? 'an error' : `${errs.length} errors`}, so the results are wrong: ${errs[0]}`);
}
