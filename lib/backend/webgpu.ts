/**
 * WebGPU in Node: Dawn's bindings (the optional npm package `webgpu`) under
 * tf.js's webgpu backend (the optional @tensorflow/tfjs-backend-webgpu). A
 * GPU path that needs no libtensorflow: Vulkan on Linux (Metal on macOS,
 * D3D12 on Windows). Without a GPU, SwiftShader's Vulkan driver (shipped by
 * Debian's chromium: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json)
 * gives a software adapter: right numbers, CPU speed — selection by 'auto'
 * passes over it, the tests use it.
 */
import { existsSync, readdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

export const WEBGPU_VERSION = '0.6.2';

export interface WebgpuAdapter {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** A CPU implementation (SwiftShader, lavapipe, llvmpipe, a fallback adapter). */
  readonly software: boolean;
}

/** How an adapter reads in messages: `google swiftshader (SwiftShader driver 5.0.0), software`. */
export const describeAdapter = (a: WebgpuAdapter): string =>
  `${[a.vendor, a.architecture].filter((s) => s !== '').join(' ') || 'unknown adapter'}${a.description !== '' ? ` (${a.description})` : ''}${a.software ? ', software' : ''}`;

interface AdapterLike {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: unknown): Promise<AdapterLike | null>;
}

const SOFTWARE = /swiftshader|lavapipe|llvmpipe|softpipe|software/i;

const adapterOf = (a: AdapterLike): WebgpuAdapter => {
  const i = a.info ?? {};
  const fields = { vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '' };
  const software = i.isFallbackAdapter === true || a.isFallbackAdapter === true || SOFTWARE.test(Object.values(fields).join(' '));
  return { ...fields, software };
};

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];
/** Vulkan drivers that run on the CPU (lavapipe, SwiftShader), by their manifest's name. */
const SOFTWARE_ICD = /lvp|lavapipe|swiftshader|llvmpipe/i;

/**
 * On Linux, why 'auto' need not load Dawn (loading it prints the Vulkan
 * loader's warnings on stderr): no driver manifest (ICD) where the loader
 * looks, only software drivers', or no GPU device node — unless
 * VK_ICD_FILENAMES / VK_DRIVER_FILES names a driver, which is always tried.
 */
export const vulkanAbsent = (): string | undefined => {
  if (process.platform !== 'linux') return undefined;
  if ((process.env['VK_ICD_FILENAMES'] ?? process.env['VK_DRIVER_FILES'] ?? '') !== '') return undefined;
  const icds = ICD_DIRS.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : []));
  if (icds.length === 0) return `no Vulkan driver (no ICD manifest in ${ICD_DIRS.join(', ')}; VK_ICD_FILENAMES unset)`;
  if (icds.every((f) => SOFTWARE_ICD.test(f))) return `only software Vulkan drivers (${icds.join(', ')}), slower than native on this CPU`;
  // A GPU shows up as a device node: a DRM render node (Intel, AMD, NVIDIA's open driver) or NVIDIA's own.
  const gpuNode = (existsSync('/dev/dri') && readdirSync('/dev/dri').some((f) => f.startsWith('renderD'))) || (existsSync('/dev') && readdirSync('/dev').some((f) => /^nvidia\d+$/.test(f)));
  if (!gpuNode) return 'no GPU device (no /dev/dri/renderD* or /dev/nvidia*)';
  return undefined;
};

const message = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

let loaded: { gpu: GpuLike; globals: Record<string, unknown> } | undefined;

/** Dawn's bindings, or why they cannot load. */
const dawn = async (): Promise<{ gpu: GpuLike; globals: Record<string, unknown> } | string> => {
  if (loaded !== undefined) return loaded;
  try {
    const name: string = 'webgpu'; // a variable specifier: an optional dependency, not resolved at build time
    const m = (await import(name)) as { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
    loaded = { gpu: m.create([]), globals: m.globals };
    return loaded;
  } catch (e) {
    return `the optional package 'webgpu' (Dawn's Node bindings) did not load (${message(e)}): npm install webgpu@${WEBGPU_VERSION}`;
  }
};

/** The adapter Dawn offers (without touching tf.js or the globals), or why there is none. */
export const probeWebgpu = async (): Promise<{ adapter: WebgpuAdapter } | { reason: string }> => {
  const d = await dawn();
  if (typeof d === 'string') return { reason: d };
  let a: AdapterLike | null;
  try {
    a = await d.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { reason: `Dawn's requestAdapter failed (${message(e)})` };
  }
  if (a === null) return { reason: `Dawn found no GPU adapter (${vulkanAbsent() ?? 'no Vulkan device: is a Vulkan driver installed, e.g. NVIDIA\'s or mesa-vulkan-drivers?'})` };
  return { adapter: adapterOf(a) };
};

/**
 * Make tf.js's webgpu backend the active one on Dawn's adapter: the WebGPU
 * globals and `navigator.gpu` for tf.js, then its backend package. Resolves
 * to the adapter, or to why it cannot.
 */
export const activateWebgpu = async (): Promise<{ adapter: WebgpuAdapter } | { reason: string }> => {
  const probe = await probeWebgpu();
  if ('reason' in probe) return probe;
  const { gpu, globals } = loaded!;
  const g = globalThis as { navigator?: { gpu?: unknown } };
  for (const [k, v] of Object.entries(globals)) if (!(k in globalThis)) Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true });
  if (g.navigator === undefined) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  else if (g.navigator.gpu === undefined) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  try {
    const name: string = '@tensorflow/tfjs-backend-webgpu';
    await import(name);
  } catch (e) {
    return { reason: `the optional package @tensorflow/tfjs-backend-webgpu did not load (${message(e)}): npm install @tensorflow/tfjs-backend-webgpu@4.22.0` };
  }
  try {
    if (!(await tf.setBackend('webgpu'))) return { reason: `tf.setBackend('webgpu') failed to initialise on ${describeAdapter(probe.adapter)}` };
  } catch (e) {
    return { reason: `tf.js's webgpu backend failed on ${describeAdapter(probe.adapter)} (${message(e)})` };
  }
  watchErrors();
  return probe;
};

/**
 * Dawn reports a failed validation (an invalid pipeline, a binding over a
 * limit) as an event, and tf.js carries on with wrong numbers: the events
 * are collected here, and `takeWebgpuErrors` hands them to whoever checks
 * (the CLI after every step and every image).
 */
const errors: string[] = [];
let watched: unknown;
const watchErrors = (): void => {
  const device = (tf.backend() as unknown as { device?: { addEventListener?(type: string, f: (e: { error?: { message?: string } }) => void): void } }).device;
  if (device === undefined || device === watched || device.addEventListener === undefined) return;
  watched = device;
  device.addEventListener('uncapturederror', (e) => {
    if (errors.length < 20) errors.push((e.error?.message ?? 'unknown error').split('\n')[0]!);
  });
};

/** The WebGPU errors reported since the last call (none on other backends). */
export const takeWebgpuErrors = (): string[] => errors.splice(0, errors.length);
