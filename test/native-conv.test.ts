// The native accelerator's convolution kernels (lib/backend/native/kernels/conv.ts)
// against the stock kernels of tf.js's cpu backend, every engine of the
// native module, then through tf ops on the 'native' backend. Skipped where
// the native module is not built (it needs g++, OpenBLAS and oneDNN).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../lib/backend/index.ts';
import { stockKernel } from '../lib/backend/kernels/index.ts';
import { native, skipNative } from './helpers/native.ts';
import { nativePool } from '../lib/backend/native/pool.ts';
import {
  ConvEngine,
  convEngines,
  nativeGeometry,
  type ConvAddon,
  type ConvEngineName,
} from '../lib/backend/native/kernels/conv.ts';
import { conv2dInfo, convGeometry, maxAbsDiff, seededValues, smallConvStep, type ConvGeometry } from './helpers/conv-cases.ts';

type KernelName = 'Conv2D' | 'Conv2DBackpropInput' | 'Conv2DBackpropFilter';

interface Case extends ConvGeometry {
  /** Small column buffers force the sgemm engines through many chunks and tiles. */
  readonly smallChunks: boolean;
}

const ENGINES: ConvEngineName[] = ['gemm', 'gemmSplit', 'dnnl', 'dnnlWeights', 'dnnlAny', 'stream'];
const KERNELS: KernelName[] = ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];

const convCase: fc.Arbitrary<Case> = fc
  .tuple(convGeometry({ maxExtra: 9, maxChannels: 8 }), fc.boolean())
  .map(([g, smallChunks]) => ({ ...g, smallChunks }));
const values = seededValues;
const convInfo = conv2dInfo;

describe.skipIf(skipNative)('native convolutions', () => {
  const addon = ('addon' in native ? native.addon.conv : undefined) as unknown as ConvAddon;
  let stock: Record<KernelName, tf.KernelConfig>;
  let initialBackend = 'cpu';

  beforeAll(async () => {
    initialBackend = tf.getBackend() ?? 'cpu';
    nativePool.poison = true; // outputs start as NaN: an element a kernel skips shows
    // Before useBackend('native') replaces cpu's Conv2DBackpropFilter (stockKernel remembers the stock one).
    stock = {
      Conv2D: stockKernel('Conv2D', 'cpu')!,
      Conv2DBackpropInput: stockKernel('Conv2DBackpropInput', 'cpu')!,
      Conv2DBackpropFilter: stockKernel('Conv2DBackpropFilter', 'cpu')!,
    };
    await useBackend('native', { quiet: true });
    for (const k of KERNELS) expect(stock[k], k).toBeDefined();
  });

  afterAll(async () => {
    nativePool.poison = false;
    for (const k of KERNELS) convEngines[k] = 'auto';
    await tf.setBackend(initialBackend);
  });

  /** Runs a kernel function directly on a backend; returns the output values and shape. */
  async function runOn(
    backendName: string,
    kernelFunc: tf.KernelFunc,
    inputs: Record<string, { values: Float32Array; shape: number[] }>,
    attrs: tf.NamedAttrMap,
  ): Promise<{ values: tf.TypedArray; shape: number[] }> {
    await tf.setBackend(backendName);
    const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape)]));
    const out = tf.engine().makeTensorFromTensorInfo(
      kernelFunc({ inputs: tensors, backend: tf.backend(), attrs }) as tf.TensorInfo,
    );
    const result = { values: out.dataSync(), shape: out.shape };
    tf.dispose([out, ...Object.values(tensors)]);
    return result;
  }

  it('every engine == the stock cpu kernels (random strides, kernels, pads, sizes)', async () => {
    let worst = 0;
    let checked = 0;
    const ran = new Set<string>();
    const fns = { Conv2D: addon.conv2d, Conv2DBackpropInput: addon.conv2dBackpropInput, Conv2DBackpropFilter: addon.conv2dBackpropFilter };
    await fc.assert(
      fc.asyncProperty(convCase, async (c) => {
        const info = convInfo(c);
        fc.pre(info !== undefined);
        const geometry = nativeGeometry(info!);
        const dyShape = [c.n, info!.outHeight, info!.outWidth, c.co];
        const x = { values: values(c.seed, c.n * c.h * c.w * c.ci), shape: [c.n, c.h, c.w, c.ci] };
        const w = { values: values(c.seed + 1, c.kh * c.kw * c.ci * c.co), shape: [c.kh, c.kw, c.ci, c.co] };
        const dy = { values: values(c.seed + 2, dyShape.reduce((a, b) => a * b, 1)), shape: dyShape };
        const common = { strides: [c.sh, c.sw], pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.rounding };
        const cases: [KernelName, Record<string, typeof x>, tf.NamedAttrMap][] = [
          ['Conv2D', { x, filter: w }, { ...common, dilations: [1, 1] } as unknown as tf.NamedAttrMap],
          ['Conv2DBackpropInput', { dy, filter: w }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap],
          ['Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: w.shape } as unknown as tf.NamedAttrMap],
        ];
        const errors: number[] = [];
        const previous = c.smallChunks ? addon.tune(37, 53, 1) : undefined;
        try {
          for (const [kernel, inputs, attrs] of cases) {
            const ref = await runOn('cpu', stock[kernel].kernelFunc, inputs, attrs);
            // Through the registered kernel (engine 'auto').
            const got = await runOn('native', tf.getKernel(kernel, 'native').kernelFunc, inputs, attrs);
            expect(got.shape).toEqual(ref.shape);
            errors.push(maxAbsDiff(got.values, ref.values));
            // Every engine, directly; outputs start as NaN: each must write every element.
            const [a, b] = Object.values(inputs).map((t) => t.values);
            for (const engine of ENGINES) {
              const out = new Float32Array(ref.values.length).fill(NaN);
              const used = fns[kernel].call(addon, a!, b!, out, geometry, ConvEngine[engine]);
              ran.add(`${kernel}:${used}`);
              errors.push(maxAbsDiff(out, ref.values));
            }
          }
        } finally {
          if (previous) addon.tune(...previous);
        }
        worst = Math.max(worst, ...errors);
        checked++;
        return errors.every((e) => e <= 1e-4);
      }),
      { numRuns: 250, seed: 20250611 },
    );
    expect(worst).toBeLessThanOrEqual(1e-4);
    expect(checked).toBeGreaterThan(200);
    // oneDNN served each op (an engine that cannot serve a geometry falls back to sgemm).
    for (const k of KERNELS) for (const e of ['gemm', 'dnnl', 'dnnlWeights', 'dnnlAny', 'stream'] as const) expect(ran).toContain(`${k}:${ConvEngine[e]}`);
  });

  it('every engine == the stock cpu kernels on layers big enough for both threads and many tiles', async () => {
    const medium: Case[] = [
      { n: 2, h: 24, w: 24, ci: 16, co: 32, kh: 4, kw: 4, sh: 2, sw: 2, pad: 1, rounding: undefined, seed: 5, smallChunks: false },
      { n: 1, h: 19, w: 19, ci: 24, co: 40, kh: 3, kw: 3, sh: 1, sw: 1, pad: 'same', rounding: undefined, seed: 6, smallChunks: true },
      { n: 2, h: 16, w: 16, ci: 64, co: 48, kh: 1, kw: 1, sh: 1, sw: 1, pad: 'valid', rounding: undefined, seed: 7, smallChunks: false },
      { n: 1, h: 31, w: 31, ci: 64, co: 1, kh: 4, kw: 4, sh: 1, sw: 1, pad: 1, rounding: undefined, seed: 8, smallChunks: false },
      { n: 3, h: 35, w: 29, ci: 12, co: 24, kh: 5, kw: 5, sh: 3, sw: 3, pad: 'valid', rounding: undefined, seed: 9, smallChunks: true },
    ];
    const fns = { Conv2D: addon.conv2d, Conv2DBackpropInput: addon.conv2dBackpropInput, Conv2DBackpropFilter: addon.conv2dBackpropFilter };
    for (const c of medium) {
      const info = convInfo(c)!;
      const geometry = nativeGeometry(info);
      const dyShape = [c.n, info.outHeight, info.outWidth, c.co];
      const x = { values: values(c.seed, c.n * c.h * c.w * c.ci), shape: [c.n, c.h, c.w, c.ci] };
      const w = { values: values(c.seed + 1, c.kh * c.kw * c.ci * c.co), shape: [c.kh, c.kw, c.ci, c.co] };
      const dy = { values: values(c.seed + 2, dyShape.reduce((a, b) => a * b, 1)), shape: dyShape };
      const common = { strides: [c.sh, c.sw], pad: c.pad, dataFormat: 'NHWC' };
      const cases: [KernelName, Record<string, typeof x>, tf.NamedAttrMap][] = [
        ['Conv2D', { x, filter: w }, { ...common, dilations: [1, 1] } as unknown as tf.NamedAttrMap],
        ['Conv2DBackpropInput', { dy, filter: w }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap],
        ['Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: w.shape } as unknown as tf.NamedAttrMap],
      ];
      // Both threads whatever the size (1: no convolution is below the single-thread bound).
      const previous = c.smallChunks ? addon.tune(4096, 2048, 8, 1) : addon.tune(0, 0, 0, 1);
      try {
        for (const [kernel, inputs, attrs] of cases) {
          const ref = await runOn('cpu', stock[kernel].kernelFunc, inputs, attrs);
          const [a, b] = Object.values(inputs).map((t) => t.values);
          const scale = Math.max(1, ...Array.from(ref.values, Math.abs));
          for (const engine of ['auto', ...ENGINES] as ConvEngineName[]) {
            const out = new Float32Array(ref.values.length).fill(NaN);
            fns[kernel].call(addon, a!, b!, out, geometry, ConvEngine[engine]);
            expect(maxAbsDiff(out, ref.values) / scale, `${kernel} ${engine} ${geometry.join(',')}`).toBeLessThan(2e-6);
          }
        }
      } finally {
        addon.tune(...previous);
      }
    }
  });

  it("auto's table: oneDNN first exactly where OpenBLAS's core lacks AVX-512 on an AVX-512 CPU, the no-AVX-512 table on a CPU without it (per /proc/cpuinfo), in a child per OPENBLAS_CORETYPE", () => {
    const avx512 = process.platform === 'linux' && /\bavx512f\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    const script = "import('./lib/backend/native/index.ts').then(({ loadNative }) => { const n = loadNative(); const c = n.addon.conv; console.log(JSON.stringify([c.blas().split(' ')[0], c.tune(0, 0, 0)[4]])); })";
    const detected = (core: string) => {
      const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8', env: { ...process.env, OPENBLAS_CORETYPE: core } });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as [string, number];
    };
    expect(detected('Haswell')).toEqual(['Haswell', avx512 ? 2 : 3]);
    if (avx512) expect(detected('SkylakeX')).toEqual(['SkylakeX', 1]);
  });

  it("auto follows the table set: the 64x64 D's stride-1 input gradient (8x8x128 -> 7x7x256) is sgemm on the sgemm-first table, oneDNN on the other two, and == the cpu kernel on all", async () => {
    const g = Int32Array.of(1, 8, 8, 128, 7, 7, 256, 4, 4, 1, 1, 1, 1);
    const x = { values: values(41, 8 * 8 * 128), shape: [1, 8, 8, 128] };
    const dy = { values: values(42, 7 * 7 * 256), shape: [1, 7, 7, 256] };
    const w = { values: values(43, 4 * 4 * 128 * 256), shape: [4, 4, 128, 256] };
    const attrs = { strides: [1, 1], pad: 1, dataFormat: 'NHWC', inputShape: x.shape } as unknown as tf.NamedAttrMap;
    const ref = await runOn('cpu', stock.Conv2DBackpropInput.kernelFunc, { dy, filter: w }, attrs);
    const scale = Array.from(ref.values).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const previous = addon.tune(0, 0, 0);
    try {
      for (const [table, want] of [[1, 'gemm'], [2, 'dnnl:'], [3, 'dnnl:']] as const) {
        addon.tune(0, 0, 0, 0, table);
        expect(addon.impl(1, g, 0).startsWith(want), `table ${table}: ${addon.impl(1, g, 0)}`).toBe(true);
        const out = new Float32Array(ref.values.length).fill(NaN);
        addon.conv2dBackpropInput(dy.values, w.values, out, g, 0);
        expect(maxAbsDiff(out, ref.values) / scale).toBeLessThan(2e-6);
      }
    } finally {
      addon.tune(...previous);
    }
  });

  it("auto reads the paper's innermost layers' filters once (the stream engine), on every table (4x4 -> 2x2 on the oneDNN-first and no-AVX-512 ones), == the cpu kernels: 2x2 -> 1x1 (3 of 4 kernel rows and columns in padding) and 4x4 -> 2x2", async () => {
    const layers = [
      { g: Int32Array.of(1, 2, 2, 256, 1, 1, 256, 4, 4, 2, 2, 1, 1), ops: [0, 1, 2] },
      { g: Int32Array.of(1, 4, 4, 128, 2, 2, 128, 4, 4, 2, 2, 1, 1), ops: [0, 1] }, // table 3 streams its filter gradient too
    ];
    const previous = addon.tune(0, 0, 0);
    try {
      for (const { g, ops } of layers) {
        const [h, w, ci, oh, ow, co] = [g[1]!, g[2]!, g[3]!, g[4]!, g[5]!, g[6]!];
        const x = { values: values(51, h * w * ci), shape: [1, h, w, ci] };
        const dy = { values: values(52, oh * ow * co), shape: [1, oh, ow, co] };
        const filter = { values: values(53, 16 * ci * co), shape: [4, 4, ci, co] };
        const common = { strides: [2, 2], pad: 1, dataFormat: 'NHWC' };
        const refs = [
          await runOn('cpu', stock.Conv2D.kernelFunc, { x, filter }, { ...common, dilations: [1, 1] } as unknown as tf.NamedAttrMap),
          await runOn('cpu', stock.Conv2DBackpropInput.kernelFunc, { dy, filter }, { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap),
          await runOn('cpu', stock.Conv2DBackpropFilter.kernelFunc, { x, dy }, { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap),
        ];
        const calls = [
          (out: Float32Array) => addon.conv2d(x.values, filter.values, out, g, 0),
          (out: Float32Array) => addon.conv2dBackpropInput(dy.values, filter.values, out, g, 0),
          (out: Float32Array) => addon.conv2dBackpropFilter(x.values, dy.values, out, g, 0),
        ];
        for (const table of g[4] === 1 ? [1, 2, 3] : [2, 3]) {
          addon.tune(0, 0, 0, 0, table);
          for (const op of table === 3 ? [0, 1, 2] : ops) {
            expect(addon.impl(op, g, 0), `table ${table}, op ${op}, ${g.join(',')}`).toBe('stream');
            const ref = refs[op]!;
            const out = new Float32Array(ref.values.length).fill(NaN);
            expect(calls[op]!(out)).toBe(ConvEngine.stream);
            const scale = Array.from(ref.values).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            expect(maxAbsDiff(out, ref.values) / scale, `table ${table}, op ${op}, ${g.join(',')}`).toBeLessThan(2e-6);
          }
        }
      }
    } finally {
      addon.tune(...previous);
    }
  });

  it('the native module checks its arguments', () => {
    const info = convInfo({ n: 1, h: 5, w: 5, ci: 2, co: 3, kh: 3, kw: 3, sh: 1, sw: 1, pad: 'same', rounding: undefined, seed: 1 })!;
    const g = nativeGeometry(info);
    const x = new Float32Array(50);
    const w = new Float32Array(54);
    expect(() => addon.conv2d(x, w, new Float32Array(75), g, ConvEngine.gemm)).not.toThrow();
    expect(() => addon.conv2d(x, w, new Float32Array(74), g, ConvEngine.gemm)).toThrow(/sizes/);
    expect(() => addon.conv2d(x, w, new Float32Array(75), new Int32Array(12), ConvEngine.gemm)).toThrow(/geometry/);
    expect(() => addon.conv2d(x, w, new Float32Array(75), g, 9)).toThrow(/engine 0-6/);
    expect(addon.threads()).toBeGreaterThanOrEqual(1);
    expect(addon.impl(0, g, ConvEngine.dnnl)).toMatch(/^dnnl:/);
  });

  /** Values and gradients of a small pix2pix-like network (U-Net block + PatchGAN) on a backend. */
  async function pix2pixLike(backendName: string): Promise<tf.TypedArray[]> {
    await tf.setBackend(backendName);
    const x = tf.tensor4d(values(11, 2 * 32 * 32 * 6), [2, 32, 32, 6]);
    // Weights scaled by 1/sqrt(fan-in), as initialisers do, so activations stay O(1).
    const filter = (seed: number, shape: [number, number, number, number]) =>
      tf.tensor4d(values(seed, shape.reduce((a, b) => a * b, 1)).map((v) => v / Math.sqrt(shape[0] * shape[1] * shape[2])), shape);
    const ws = [
      filter(12, [4, 4, 6, 16]), // e1 4x4/2 pad 1: 32 -> 16
      filter(13, [4, 4, 16, 32]), // e2: 16 -> 8
      filter(14, [4, 4, 32, 32]), // innermost-like: 2 -> 1
      filter(15, [4, 4, 16, 32]), // convT: 8 -> 16 (filter [k, k, out, in])
      filter(16, [4, 4, 3, 16]), // convT: 16 -> 32, 3 channels out
      filter(17, [4, 4, 9, 8]), // PatchGAN 4x4/1, explicit pad 1
      filter(18, [4, 4, 8, 1]), // PatchGAN last layer: one channel
    ];
    const f = (...args: tf.Tensor[]) => {
      const [xi, w1, w2, w3, w4, w5, w6, w7] = args as tf.Tensor4D[];
      const e1 = tf.leakyRelu(tf.conv2d(xi!, w1!, 2, 1), 0.2);
      const e2 = tf.leakyRelu(tf.conv2d(e1, w2!, 2, 1), 0.2);
      const inner = tf.conv2d(tf.slice(e2, [0, 0, 0, 0], [-1, 2, 2, -1]), w3!, 2, 1);
      const e2b = tf.add<tf.Tensor4D>(e2, tf.mean(inner));
      const d1 = tf.relu(tf.conv2dTranspose(e2b, w4!, [2, 16, 16, 16], 2, 1));
      const d2 = tf.tanh(tf.conv2dTranspose(tf.add<tf.Tensor4D>(d1, e1), w5!, [2, 32, 32, 3], 2, 1));
      const pair = tf.concat([xi!, d2], 3);
      const h = tf.leakyRelu(tf.conv2d(pair, w6!, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]), 0.2);
      const patch = tf.conv2d(h, w7!, 1, 1);
      return tf.add(tf.sum(tf.square(patch)), tf.sum(tf.abs(d2)));
    };
    const inputs = [x, ...ws];
    const { value, grads } = tf.valueAndGrads(f)(inputs);
    const out = [value, ...grads].map((t) => t.dataSync());
    tf.dispose([value, ...grads, ...inputs]);
    return out;
  }

  it("the paper's layers at small scale: values and gradients through tf ops == the cpu backend", async () => {
    const cpu = await pix2pixLike('cpu');
    for (const engine of ['auto', ...ENGINES] as ConvEngineName[]) {
      for (const k of KERNELS) convEngines[k] = engine;
      const got = await pix2pixLike('native');
      for (let i = 0; i < cpu.length; i++) {
        const scale = Math.max(...Array.from(cpu[i]!, Math.abs));
        expect(scale, `output ${i} is not all zeros`).toBeGreaterThan(0.01);
        expect(maxAbsDiff(got[i]!, cpu[i]!) / scale, `${engine} output ${i}`).toBeLessThan(1e-5);
      }
    }
    for (const k of KERNELS) convEngines[k] = 'auto';
  });

  it('falls back to the cpu kernel for dilation > 1', async () => {
    const run = async (name: string) => {
      await tf.setBackend(name);
      const x = tf.tensor4d(values(21, 1 * 11 * 9 * 3), [1, 11, 9, 3]);
      const w = tf.tensor4d(values(22, 3 * 3 * 3 * 4), [3, 3, 3, 4]);
      const y = tf.conv2d(x, w, 1, 'same', 'NHWC', 2);
      const out = y.dataSync();
      tf.dispose([x, w, y]);
      return out;
    };
    expect(maxAbsDiff(await run('native'), await run('cpu'))).toBeLessThan(1e-5);
  });

  it('repeated gradient steps on the native backend keep the tensor count constant', async () => {
    await tf.setBackend('native');
    const backend = tf.backend();
    const step = smallConvStep();
    for (let i = 0; i < 3; i++) step.run();
    const before = { tensors: tf.memory().numTensors, data: backend.numDataIds() };
    for (let i = 0; i < 20; i++) step.run();
    expect(tf.memory().numTensors).toBe(before.tensors);
    expect(backend.numDataIds()).toBe(before.data);
    step.dispose();
  });
});
