// The replacement training kernels (lib/backend/kernels) against the stock
// kernels of the cpu backend, called directly so that the reference is stock
// even where our kernel has replaced it.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerTrainingKernels, stockKernel } from '../lib/backend/kernels/index.ts';
import { conv2dBackpropInputVia } from '../lib/backend/kernels/conv2d-backprop-input.ts';
import { columnLimit } from '../lib/backend/kernels/conv2d-backprop-filter.ts';
import { conv2dInfo, convGeometry, maxAbsDiff, seededValues, smallConvStep, type ConvGeometry } from './helpers/conv-cases.ts';

interface Case extends ConvGeometry {
  /** Column-buffer limit in floats: small values force chunks that split output lines. */
  readonly chunkFloats: number;
}

let initialBackend = 'cpu';
let stockFilterGrad: tf.KernelConfig;
let stockInputGrad: tf.KernelConfig;
let stockSlice: tf.KernelConfig;
let stockSplit: tf.KernelConfig;

beforeAll(async () => {
  initialBackend = tf.getBackend() ?? 'cpu';
  expect(await tf.setBackend('wasm')).toBe(true);
  expect(await tf.setBackend('cpu')).toBe(true);
  registerTrainingKernels('wasm');
  registerTrainingKernels('cpu');
  registerTrainingKernels('wasm'); // idempotent
  stockFilterGrad = stockKernel('Conv2DBackpropFilter', 'cpu')!;
  stockInputGrad = stockKernel('Conv2DBackpropInput', 'cpu')!;
  stockSlice = stockKernel('Slice', 'cpu')!;
  stockSplit = stockKernel('SplitV', 'cpu')!;
});

afterAll(async () => {
  await tf.setBackend(initialBackend);
});

const values = seededValues;

/** Runs a stock cpu kernel function directly (bypassing the registry) and reads its result. */
async function onStockCpu(
  config: tf.KernelConfig,
  inputs: Record<string, { values: Float32Array | Int32Array | Uint8Array; shape: number[]; dtype?: tf.DataType }>,
  attrs: tf.NamedAttrMap,
): Promise<{ shape: number[]; values: tf.TypedArray }[]> {
  await tf.setBackend('cpu');
  const tensors = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.values, v.shape, v.dtype ?? 'float32')]),
  );
  const raw = config.kernelFunc({ inputs: tensors, backend: tf.backend(), attrs });
  const outs = (Array.isArray(raw) ? raw : [raw]).map((info) => tf.engine().makeTensorFromTensorInfo(info));
  const result = outs.map((t) => ({ shape: t.shape, values: t.dataSync() }));
  tf.dispose([...outs, ...Object.values(tensors)]);
  return result;
}

const convCase: fc.Arbitrary<Case> = fc
  .tuple(convGeometry({ maxExtra: 8, maxChannels: 4 }), fc.oneof(fc.constant(1 << 23), fc.integer({ min: 1, max: 400 })))
  .map(([g, chunkFloats]) => ({ ...g, chunkFloats }));

function outShape(c: Case): [number, number, number, number] | undefined {
  const info = conv2dInfo(c);
  return info ? [c.n, info.outHeight, info.outWidth, c.co] : undefined;
}

function gradAttrs(c: Case) {
  return {
    strides: [c.sh, c.sw],
    pad: c.pad,
    dataFormat: 'NHWC',
    dimRoundingMode: c.rounding,
    filterShape: [c.kh, c.kw, c.ci, c.co],
    inputShape: [c.n, c.h, c.w, c.ci],
  } as unknown as tf.NamedAttrMap;
}

/** Runs `f` on a backend with the case's tensors there and returns the results' values. */
async function onBackend(
  name: string,
  c: Case,
  dyShape: number[],
  f: (t: { x: tf.Tensor; dy: tf.Tensor; w: tf.Tensor }) => tf.TensorInfo[],
): Promise<tf.TypedArray[]> {
  await tf.setBackend(name);
  const x = tf.tensor(values(c.seed, c.n * c.h * c.w * c.ci), [c.n, c.h, c.w, c.ci]);
  const dy = tf.tensor(values(c.seed + 1, dyShape.reduce((a, b) => a * b, 1)), dyShape);
  const w = tf.tensor(values(c.seed + 2, c.kh * c.kw * c.ci * c.co), [c.kh, c.kw, c.ci, c.co]);
  const outs = f({ x, dy, w }).map((info) => tf.engine().makeTensorFromTensorInfo(info));
  const result = outs.map((t) => t.dataSync());
  tf.dispose([x, dy, w, ...outs]);
  return result;
}

describe('registration', () => {
  it('replaces the kernels it serves and keeps the stock ones reachable', () => {
    for (const [name, backend] of [
      ['Conv2DBackpropFilter', 'cpu'],
      ['Conv2DBackpropFilter', 'wasm'],
      ['Conv2DBackpropInput', 'wasm'],
      ['Slice', 'wasm'],
      ['SplitV', 'wasm'],
    ] as const) {
      const current = tf.getKernel(name, backend);
      expect(current, `${name}/${backend}`).toBeDefined();
      expect(current.kernelFunc).not.toBe(stockKernel(name, backend)?.kernelFunc);
    }
    // The stock wasm backend has no filter gradient; cpu keeps its input gradient.
    expect(stockKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'cpu').kernelFunc).toBe(stockInputGrad.kernelFunc);
  });
});

describe('conv2d gradients == stock cpu kernels', () => {
  it('filter gradient (wasm and cpu) and input gradient (wasm, every route)', async () => {
    let worst = 0;
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(convCase, async (c) => {
        const dyShape = outShape(c);
        fc.pre(dyShape !== undefined);
        const attrs = gradAttrs(c);
        const xv = values(c.seed, c.n * c.h * c.w * c.ci);
        const dyv = values(c.seed + 1, dyShape!.reduce((a, b) => a * b, 1));
        const wv = values(c.seed + 2, c.kh * c.kw * c.ci * c.co);
        const [refFilter] = await onStockCpu(
          stockFilterGrad,
          { x: { values: xv, shape: [c.n, c.h, c.w, c.ci] }, dy: { values: dyv, shape: dyShape! } },
          attrs,
        );
        const [refInput] = await onStockCpu(
          stockInputGrad,
          { dy: { values: dyv, shape: dyShape! }, filter: { values: wv, shape: [c.kh, c.kw, c.ci, c.co] } },
          attrs,
        );
        const run = (kernel: string, inputs: Record<string, tf.Tensor>) =>
          tf.engine().runKernel(kernel, inputs, attrs) as tf.Tensor;
        columnLimit.floats = c.chunkFloats;
        const [cpuFilter] = await onBackend('cpu', c, dyShape!, ({ x, dy }) => [
          run('Conv2DBackpropFilter', { x, dy }),
        ]);
        columnLimit.floats = c.chunkFloats;
        const wasm = await onBackend('wasm', c, dyShape!, ({ x, dy, w }) => {
          const args = { inputs: { dy, filter: w }, backend: tf.backend(), attrs };
          return [
            run('Conv2DBackpropFilter', { x, dy }),
            run('Conv2DBackpropInput', { dy, filter: w }),
            conv2dBackpropInputVia('subpixel', 'wasm', args),
            conv2dBackpropInputVia('columns', 'wasm', args),
          ];
        });
        const errors = [
          maxAbsDiff(cpuFilter!, refFilter!.values),
          maxAbsDiff(wasm[0]!, refFilter!.values),
          ...wasm.slice(1).map((v) => maxAbsDiff(v, refInput!.values)),
        ];
        columnLimit.floats = 1 << 23;
        worst = Math.max(worst, ...errors);
        checked++;
        return errors.every((e) => e <= 1e-4);
      }),
      { numRuns: 250, seed: 20250601 },
    );
    expect(worst).toBeLessThanOrEqual(1e-4);
    expect(checked).toBeGreaterThan(200);
  });

  it('gradients through tf ops on wasm match the cpu backend', async () => {
    const grads = async (name: string) => {
      await tf.setBackend(name);
      const x = tf.tensor4d(values(7, 2 * 17 * 15 * 3), [2, 17, 15, 3]);
      const w = tf.tensor4d(values(8, 4 * 4 * 3 * 5), [4, 4, 3, 5]);
      const wt = tf.tensor4d(values(9, 3 * 3 * 2 * 5), [3, 3, 2, 5]);
      const f = (...args: tf.Tensor[]) => {
        const [a, b, c] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const y = tf.conv2d(a, b, 2, 'same');
        const z = tf.conv2dTranspose(y, c, [2, 17, 15, 2], 2, 'same');
        const both = tf.concat([z, tf.slice(a, [0, 0, 0, 1], [-1, -1, -1, 2])], 3);
        return tf.sum(tf.mul(both, both));
      };
      const g = tf.grads(f)([x, w, wt]);
      const out = g.map((t) => t.dataSync());
      tf.dispose([x, w, wt, ...g]);
      return out;
    };
    const cpu = await grads('cpu');
    const wasm = await grads('wasm');
    for (let i = 0; i < cpu.length; i++) {
      const scale = Math.max(1, ...Array.from(cpu[i]!, Math.abs));
      expect(maxAbsDiff(wasm[i]!, cpu[i]!) / scale).toBeLessThan(1e-5);
    }
  });
});

describe('wasm Slice and SplitV == stock cpu kernels', () => {
  const sliceCase = fc
    .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 })
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        begin: fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }))),
        frac: fc.tuple(...shape.map(() => fc.double({ min: 0, max: 1, noNaN: true }))),
        dtype: fc.constantFrom<tf.DataType>('float32', 'float32', 'int32', 'bool'),
        seed: fc.integer({ min: 1, max: 2 ** 30 }),
      }),
    )
    .map(({ shape, begin, frac, dtype, seed }) => ({
      shape,
      begin,
      // Some sizes 0 (empty), some -1 (to the end).
      size: begin.map((b, i) => {
        const room = shape[i]! - b;
        const f = frac[i]!;
        return f > 0.9 ? -1 : Math.floor(f * (room + 1));
      }),
      dtype,
      seed,
    }));

  function typed(dtype: tf.DataType, seed: number, size: number): Float32Array | Int32Array | Uint8Array {
    const v = values(seed, size);
    if (dtype === 'int32') return Int32Array.from(v, (f) => Math.round(f * 1000));
    if (dtype === 'bool') return Uint8Array.from(v, (f) => (f > 0 ? 1 : 0));
    return v;
  }

  it('Slice', async () => {
    await fc.assert(
      fc.asyncProperty(sliceCase, async ({ shape, begin, size, dtype, seed }) => {
        const xv = typed(dtype, seed, shape.reduce((a, b) => a * b, 1));
        const attrs = { begin, size };
        const [ref] = await onStockCpu(stockSlice, { x: { values: xv, shape, dtype } }, attrs);
        await tf.setBackend('wasm');
        const x = tf.tensor(xv, shape, dtype);
        const y = tf.engine().runKernel('Slice', { x }, attrs) as tf.Tensor;
        expect(y.shape).toEqual(ref!.shape);
        expect(Array.from(y.dataSync())).toEqual(Array.from(ref!.values));
        tf.dispose([x, y]);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('SplitV (the gradient of concat)', async () => {
    const splitCase = fc
      .array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 })
      .chain((shape) =>
        fc.record({
          shape: fc.constant(shape),
          axis: fc.integer({ min: 0, max: shape.length - 1 }),
          seed: fc.integer({ min: 1, max: 2 ** 30 }),
          cut: fc.double({ min: 0, max: 1, noNaN: true }),
        }),
      );
    await fc.assert(
      fc.asyncProperty(splitCase, async ({ shape, axis, seed, cut }) => {
        const xv = values(seed, shape.reduce((a, b) => a * b, 1));
        const first = Math.floor(cut * shape[axis]!);
        const attrs = { numOrSizeSplits: [first, shape[axis]! - first], axis };
        const ref = await onStockCpu(stockSplit, { x: { values: xv, shape } }, attrs);
        await tf.setBackend('wasm');
        const x = tf.tensor(xv, shape);
        const parts = tf.engine().runKernel('SplitV', { x }, attrs) as unknown as tf.Tensor[];
        expect(parts.map((p) => p.shape)).toEqual(ref.map((r) => r.shape));
        parts.forEach((p, i) => expect(Array.from(p.dataSync())).toEqual(Array.from(ref[i]!.values)));
        tf.dispose([x, ...parts]);
      }),
      { numRuns: 150, seed: 11 },
    );
  });
});

describe('no leaks on wasm', () => {
  it('repeated gradient steps keep tensors, buffers and the wasm heap constant', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend() as tf.KernelBackend & { wasm: { HEAPU8: Uint8Array } };
    const step = smallConvStep();
    for (let i = 0; i < 3; i++) step.run();
    const before = { tensors: tf.memory().numTensors, data: backend.numDataIds(), heap: backend.wasm.HEAPU8.length };
    for (let i = 0; i < 20; i++) step.run();
    expect(tf.memory().numTensors).toBe(before.tensors);
    expect(backend.numDataIds()).toBe(before.data);
    expect(backend.wasm.HEAPU8.length).toBe(before.heap);
    step.dispose();
  });
});
