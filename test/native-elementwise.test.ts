// The native accelerator's element-wise, reduction, copy and Adam kernels
// (lib/backend/native/kernels/elementwise.ts) against the stock kernels of
// tf.js's cpu backend, called directly on the same tensors; then gradients
// through tf ops, the fused Adam against the tf-ops Adam, memory, and three
// pix2pix training steps on 'native' against 'cpu'. Skipped where the native
// module is not built.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../lib/backend/index.ts';
import { native, skipNative } from './helpers/native.ts';
import { nativePool } from '../lib/backend/native/pool.ts';
import {
  ADAM_KERNEL,
  collapseBroadcast,
  collapseReduction,
  type ElementwiseAddon,
} from '../lib/backend/native/kernels/elementwise.ts';
import { NORM_GRAD_KERNEL, NORM_KERNEL } from '../lib/backend/native/kernels/norm.ts';
import { hasKernels } from '../lib/ops/kernels.ts';
import { fusedNormalize as fusedNorm } from '../lib/ops/norm.ts';
const hasFusedNorm = () => hasKernels(NORM_KERNEL, NORM_GRAD_KERNEL);
import { makeKey, norm } from '../lib/node.ts';
import { adamDefaults, adamInit, adamUpdate } from '../lib/optim/adam.ts';
import { sumOfSquares } from '../lib/optim/global-norm.ts';
import { trainTiny, worstDifference, type TinyRun } from './helpers/tiny-spec.ts';


type Values = Float32Array | Int32Array | Uint8Array;

/** Deterministic values in [-2, 2), with zeros, -0 and (if asked) NaN and infinities mixed in. */
function values(seed: number, n: number, special = false): Float32Array {
  let s = seed | 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 4294967296;
    out[i] = u * 4 - 2;
    if (special && (s & 63) === 0) out[i] = [0, -0, NaN, Infinity, -Infinity, 1][(s >>> 6) % 6]!;
  }
  return out;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Identical values (0 and -0 differ; NaN equals NaN), or within `ulps`; the first difference, or undefined. */
function firstDiff(got: ArrayLike<number>, want: ArrayLike<number>, ulps = 0): string | undefined {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!, w = want[i]!;
    if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
    if (ulps > 0 && Number.isFinite(w) && Math.abs(g - w) <= ulps * 1.2e-7 * Math.abs(w)) continue;
    return `at ${i}: ${g} != ${w}`;
  }
  return undefined;
}

describe.skipIf(skipNative)('native element-wise kernels', () => {
  const ew = ('addon' in native ? native.addon.elementwise : undefined) as unknown as ElementwiseAddon;
  let initialBackend = 'cpu';
  let backend: MathBackendCPU;

  beforeAll(async () => {
    initialBackend = tf.getBackend() ?? 'cpu';
    nativePool.poison = true; // outputs start as NaN: an element a kernel skips shows
    await useBackend('native', { quiet: true });
    backend = tf.backend() as MathBackendCPU;
  });
  afterAll(async () => {
    nativePool.poison = false;
    await tf.setBackend(initialBackend);
  });

  /**
   * Runs kernel `name` of 'native' and of 'cpu' on the same native-backend
   * tensors; returns both outputs' shapes, dtypes and values (copied) and
   * disposes them.
   */
  function both(name: string, inputs: tf.NamedTensorMap | tf.Tensor[], attrs: tf.NamedAttrMap = {}) {
    const run = (k: tf.KernelFunc) => {
      const out = k({ inputs: inputs as unknown as tf.NamedTensorInfoMap, backend, attrs });
      const outs = Array.isArray(out) ? out : [out];
      const read = outs.map((o) => ({ shape: o.shape, dtype: o.dtype, values: (backend.data.get(o.dataId)!.values as Values).slice() }));
      for (const o of outs) backend.disposeData(o.dataId);
      return read;
    };
    return { got: run(tf.getKernel(name, 'native')!.kernelFunc), want: run(tf.getKernel(name, 'cpu')!.kernelFunc) };
  }

  function expectSame(name: string, inputs: tf.NamedTensorMap | tf.Tensor[], attrs: tf.NamedAttrMap = {}, ulps = 0) {
    const { got, want } = both(name, inputs, attrs);
    expect(got.length).toBe(want.length);
    got.forEach((g, i) => {
      const w = want[i]!;
      expect(g.shape, `${name} output ${i} shape`).toEqual(w.shape);
      expect(g.dtype, `${name} output ${i} dtype`).toBe(w.dtype);
      expect(firstDiff(g.values, w.values, ulps), `${name} ${JSON.stringify(attrs)}`).toBeUndefined();
    });
  }

  // Shapes: an output shape and two operand shapes that broadcast to it.
  const dim = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 6 }) }, { weight: 1, arbitrary: fc.constant(1) });
  const broadcastCase = fc
    .record({
      out: fc.array(dim, { minLength: 0, maxLength: 4 }),
      aKeep: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      bKeep: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      aDrop: fc.integer({ min: 0, max: 4 }),
      bDrop: fc.integer({ min: 0, max: 4 }),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    })
    .map(({ out, aKeep, bKeep, aDrop, bDrop, seed }) => {
      const shape = (keep: boolean[], drop: number) => out.map((d, i) => (keep[i] ? d : 1)).slice(Math.min(drop, out.length));
      return { a: shape(aKeep, aDrop), b: shape(bKeep, bDrop), seed };
    });
  // The broadcasts of the training step, at sizes that take the threaded paths (>= kParMin = 2^18 elements in ew_kernels.cc).
  const stepShapes: [number[], number[]][] = [
    [[2, 48, 48, 64], [64]],
    [[2, 48, 48, 64], [1, 1, 1, 64]],
    [[1, 1, 1, 64], [2, 48, 48, 64]],
    [[2, 48, 48, 64], []],
    [[], [2, 48, 48, 64]],
    [[2, 48, 48, 64], [2, 48, 48, 64]],
    [[1, 1, 1, 1], [1, 64, 64, 3]],
    [[1, 128, 128, 3], [3]],
    [[2, 48, 48, 1], [2, 48, 48, 64]],
    [[4, 4, 512, 64], []],
  ];

  const BINARY = ['Add', 'Sub', 'Multiply', 'RealDiv', 'SquaredDifference', 'Maximum', 'Minimum'];
  const COMPARE = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual'];

  it('binary maps and comparisons with broadcasting == the cpu kernels, bit for bit', () => {
    const check = (aShape: number[], bShape: number[], seed: number) => {
      const a = tf.tensor(values(seed, size(aShape), true), aShape);
      const b = tf.tensor(values(seed + 7, size(bShape), true), bShape);
      for (const k of [...BINARY, ...COMPARE]) expectSame(k, { a, b });
      tf.dispose([a, b]);
    };
    fc.assert(fc.property(broadcastCase, ({ a, b, seed }) => check(a, b, seed)), { numRuns: 60 });
    stepShapes.forEach(([a, b], i) => check(a, b, i + 1));
  });

  it('unary maps and activations == the cpu kernels (transcendentals within an ulp)', () => {
    const exact = ['Sqrt', 'Rsqrt', 'Square', 'Neg', 'Abs', 'Relu', 'Relu6', 'Reciprocal'];
    const libm = ['Exp', 'Log', 'Log1p', 'Tanh', 'Sigmoid'];
    for (const [shape, seed] of [[[3, 5, 7], 1], [[2, 48, 48, 64], 2], [[1], 3], [[], 4]] as [number[], number][]) {
      const x = tf.tensor(values(seed, size(shape), true), shape);
      for (const k of exact) expectSame(k, { x });
      for (const k of libm) expectSame(k, { x }, {}, 1);
      for (const alpha of [0.2, 0, 0.01]) expectSame('LeakyRelu', { x }, { alpha });
      for (const alpha of [0, 0.3]) expectSame('Step', { x }, { alpha });
      x.dispose();
    }
  });

  it('Relu and LeakyRelu gradients (fused on native) == the cpu backend, bit for bit', async () => {
    // Sizes over the parallel bound and under it, with a remainder past the
    // 8-wide vector loop (its scalar tail), specials mixed in.
    const shapes = [[2, 96, 96, 16], [3, 7, 5, 3]];
    const grads = async (name: string, shape: number[]) => {
      await tf.setBackend(name);
      const n = shape.reduce((a, b) => a * b, 1);
      const x = tf.tensor(values(3, n, true), shape);
      const dy = tf.tensor(values(4, n, true), shape);
      const out = [0.2, 0].map((alpha) => tf.grad((v: tf.Tensor) => tf.leakyRelu(v, alpha))(x, dy));
      out.push(tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy));
      const vals = out.map((t) => t.dataSync().slice());
      tf.dispose([...out, x, dy]);
      return vals;
    };
    for (const shape of shapes) {
      const want = await grads('cpu', shape);
      const got = await grads('native', shape);
      want.forEach((w, i) => expect(firstDiff(got[i]!, w), `gradient ${i} at [${shape}]`).toBeUndefined());
    }
    await tf.setBackend('native');
    // The fused kernels are what ran.
    const x = tf.tensor([-1, 2], [2]);
    const seen: string[] = [];
    const info = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.leakyRelu(tf.relu(v), 0.1))(x));
    info.kernels.forEach((k) => seen.push(k.name));
    tf.dispose(info.result as tf.Tensor);
    expect(seen).toEqual(expect.arrayContaining(['Pix2pixLeakyReluGrad', 'Pix2pixReluGrad']));
    expect(seen).not.toContain('Select');
    x.dispose();
  });

  it('Select == the cpu kernel', () => {
    for (const [shape, seed] of [[[3, 4, 5], 1], [[2, 48, 48, 64], 2]] as [number[], number][]) {
      const condition = tf.greater(tf.tensor(values(seed, size(shape)), shape), 0);
      const t = tf.tensor(values(seed + 1, size(shape)), shape);
      const e = tf.tensor(values(seed + 2, size(shape)), shape);
      expectSame('Select', { condition, t, e });
      tf.dispose([condition, t, e]);
    }
  });

  it('Sum and Mean over any axes == the cpu kernels (to float32 rounding)', () => {
    const reduceCase = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
      axes: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      keepDims: fc.boolean(),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    });
    const check = (shape: number[], axis: number[], keepDims: boolean, seed: number) => {
      const xv = values(seed, size(shape));
      const x = tf.tensor(xv, shape);
      // Tolerance: a few float32 ulps of the sum of magnitudes being reduced.
      const absMean = xv.reduce((s, v) => s + Math.abs(v), 0) / Math.max(1, xv.length);
      for (const k of ['Sum', 'Mean']) {
        const { got, want } = both(k, { x }, { axis, keepDims });
        expect(got[0]!.shape).toEqual(want[0]!.shape);
        expect(got[0]!.dtype).toBe(want[0]!.dtype);
        const reduced = size(shape) / Math.max(1, want[0]!.values.length);
        const scale = absMean * (k === 'Sum' ? reduced : 1);
        for (let i = 0; i < want[0]!.values.length; i++)
          expect(Math.abs(got[0]!.values[i]! - want[0]!.values[i]!), `${k} ${shape} ${axis}`).toBeLessThanOrEqual(4e-7 * scale + 1e-30);
      }
      x.dispose();
    };
    fc.assert(
      fc.property(reduceCase, ({ shape, axes, keepDims, seed }) =>
        check(shape, shape.map((_, i) => i).filter((i) => axes[i]), keepDims, seed),
      ),
      { numRuns: 60 },
    );
    // The step's: per channel (batch norm, bias gradients), whole tensors (losses), large enough to thread.
    check([2, 48, 48, 64], [0, 1, 2], true, 1);
    check([1, 96, 96, 32], [1, 2], false, 2);
    check([1, 64, 64, 3], [0, 1, 2, 3], false, 3);
    check([300000], [0], false, 4);
    check([64, 5000], [1], false, 5);
    check([3, 20000, 5], [1], true, 6);
    check([2, 3, 4, 5], [0, 2], false, 7); // not adjacent: the cpu kernel's
  });

  it('the sum of squares of many tensors (Pix2pixSumSquares) == a double-precision loop here; overflow is Infinity, NaN stays NaN; == the tf-ops path on cpu', async () => {
    const oracle = (arrays: Float32Array[]) => Math.fround(arrays.reduce((s, a) => a.reduce((t, v) => t + v * v, s), 0));
    const shapes = [[3, 3, 2, 8], [8], [2, 48, 48, 64], [300001], []];
    const arrays = shapes.map((sh, i) => values(11 + i, size(sh)));
    const ts = shapes.map((sh, i) => tf.tensor(arrays[i]!, sh));
    const fused = sumOfSquares(ts);
    const got = fused.dataSync()[0]!;
    expect(Math.abs(got - oracle(arrays))).toBeLessThanOrEqual(2 * 1.2e-7 * oracle(arrays));
    // Squares past float32's range overflow the sum to Infinity; a NaN element makes it NaN.
    const big = tf.tensor([3e19, 1]);
    const nan = tf.tensor([1, NaN]);
    expect(tf.tidy(() => sumOfSquares([ts[0]!, big]).dataSync()[0])).toBe(Infinity);
    expect(tf.tidy(() => sumOfSquares([nan, ts[1]!]).dataSync()[0])).toBeNaN();
    // The composed path (the cpu backend has no such kernel) agrees.
    await tf.setBackend('cpu');
    const cpuTs = shapes.map((sh, i) => tf.tensor(arrays[i]!, sh));
    const composed = tf.tidy(() => sumOfSquares(cpuTs).dataSync()[0]!);
    expect(Math.abs(composed - got)).toBeLessThanOrEqual(1e-5 * got);
    expect(tf.tidy(() => sumOfSquares([tf.tensor([3e19, 1])]).dataSync()[0])).toBe(Infinity);
    tf.dispose(cpuTs);
    await useBackend('native', { quiet: true });
    tf.dispose([...ts, fused, big, nan]);
  });

  it('Concat and SplitV along any axis == the cpu kernels', () => {
    const copyCase = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
      axis: fc.integer({ min: 0, max: 3 }),
      parts: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    });
    const check = (shape: number[], axis: number, parts: number[], seed: number) => {
      const shapes = parts.map((p) => shape.map((d, i) => (i === axis ? p : d)));
      const xs = shapes.map((s, i) => tf.tensor(values(seed + i, size(s)), s));
      expectSame('Concat', xs, { axis });
      const whole = tf.tensor(values(seed, size(shapes[0]!.map((d, i) => (i === axis ? parts.reduce((a, b) => a + b) : d)))), shapes[0]!.map((d, i) => (i === axis ? parts.reduce((a, b) => a + b) : d)));
      expectSame('SplitV', { x: whole }, { numOrSizeSplits: parts, axis });
      tf.dispose([...xs, whole]);
    };
    fc.assert(fc.property(copyCase, ({ shape, axis, parts, seed }) => check(shape, Math.min(axis, shape.length - 1), parts, seed)), { numRuns: 60 });
    check([1, 64, 64, 32], 3, [32, 32], 1); // the U-Net skip
    check([1, 128, 128, 64], 3, [32, 32], 3); // threaded
    check([1, 128, 128, 3], 3, [3, 3], 2); // cgan's (x, y) pair
  });

  it('Slice, PadV2 and MirrorPad (run copies) == the cpu kernels, bit for bit', () => {
    const sliceCase = fc
      .record({
        shape: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        cuts: fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 4, maxLength: 4 }),
        seed: fc.integer({ min: 1, max: 2 ** 30 }),
      })
      .map(({ shape, cuts, seed }) => {
        const begin = shape.map((d, i) => cuts[i]![0] % d);
        return { shape, begin, size: shape.map((d, i) => 1 + (cuts[i]![1] % (d - begin[i]!))), seed };
      });
    fc.assert(
      fc.property(sliceCase, ({ shape, begin, size: sz, seed }) => {
        const x = tf.tensor(values(seed, size(shape)), shape);
        expectSame('Slice', { x }, { begin, size: sz });
        x.dispose();
      }),
      { numRuns: 80 },
    );
    const padCase = fc.record({
      shape: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 2, max: 6 }), fc.integer({ min: 1, max: 5 })),
      pads: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }),
      mode: fc.constantFrom<'reflect' | 'symmetric'>('reflect', 'symmetric'),
      seed: fc.integer({ min: 1, max: 2 ** 30 }),
    });
    fc.assert(
      fc.property(padCase, ({ shape, pads, mode, seed }) => {
        const [, h, w] = shape;
        const cap = (p: number, n: number) => Math.min(p, mode === 'reflect' ? n - 1 : n);
        const paddings = [[0, 0], [cap(pads[0]!, h), cap(pads[1]!, h)], [cap(pads[2]!, w), cap(pads[3]!, w)], [0, 0]];
        const x = tf.tensor(values(seed, size(shape)), shape);
        expectSame('PadV2', { x }, { paddings, constantValue: seed % 3 });
        expectSame('MirrorPad', { x }, { paddings, mode });
        x.dispose();
      }),
      { numRuns: 60 },
    );
  });

  it("MirrorPad's gradient (Pix2pixMirrorPadGrad on native) == the composed gradient on cpu", async () => {
    const cases: Array<[number[], number[][], 'reflect' | 'symmetric']> = [
      [[2, 5, 6, 3], [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect'],
      [[1, 8, 8, 4], [[0, 0], [3, 3], [3, 3], [0, 0]], 'reflect'],
      [[1, 4, 5, 2], [[0, 0], [2, 0], [1, 3], [0, 0]], 'symmetric'],
      [[1, 2, 2, 1], [[0, 0], [1, 1], [1, 1], [0, 0]], 'reflect'],
    ];
    for (const [shape, paddings, mode] of cases) {
      const grad = async (backend: 'native' | 'cpu') => {
        await useBackend(backend, { quiet: true });
        const x = tf.tensor4d(values(7, size(shape)), shape as [number, number, number, number]);
        const r = tf.tensor(values(8, size(shape.map((d, i) => d + paddings[i]![0]! + paddings[i]![1]!))), shape.map((d, i) => d + paddings[i]![0]! + paddings[i]![1]!));
        const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(xi as tf.Tensor4D, paddings as Array<[number, number]>, mode), r)))(x);
        const out = Array.from(await g.data());
        tf.dispose([x, r, g]);
        return out;
      };
      const cpu = await grad('cpu');
      const native = await grad('native');
      native.forEach((v, i) => expect(Math.abs(v - cpu[i]!), `${JSON.stringify([shape, paddings, mode])} [${i}]`).toBeLessThan(1e-5));
    }
    await useBackend('native', { quiet: true });
  });

  it('other dtypes fall back to the cpu kernels and keep their dtypes', () => {
    const i = tf.tensor([1, -2, 3, 4], [2, 2], 'int32');
    const j = tf.tensor([2, 2, -1, 0], [2, 2], 'int32');
    for (const k of ['Add', 'Sub', 'Multiply', 'Maximum', 'Greater']) expectSame(k, { a: i, b: j });
    for (const k of ['Neg', 'Abs', 'Square', 'Relu']) expectSame(k, { x: i });
    expectSame('Sum', { x: i }, { axis: [0], keepDims: false });
    expectSame('Concat', [i, j], { axis: 1 });
    expectSame('SplitV', { x: i }, { numOrSizeSplits: [1, 1], axis: 0 });
    expect(tf.add(i, j).dtype).toBe('int32');
    expect(tf.greater(tf.ones([3]), tf.zeros([3])).dtype).toBe('bool');
    tf.dispose([i, j]);
  });

  it('shape helpers: broadcasts collapse to at most three strided dimensions', () => {
    expect(collapseBroadcast([2, 3, 4], [2, 3, 4], [2, 3, 4])).toEqual([1, 1, 24, 0, 0, 1, 0, 0, 1]);
    expect(collapseBroadcast([2, 3, 4], [2, 3, 4], [])).toEqual([1, 1, 24, 0, 0, 1, 0, 0, 0]);
    expect(collapseBroadcast([1, 5, 5, 8], [1, 5, 5, 8], [1, 1, 1, 8])).toEqual([1, 25, 8, 0, 8, 1, 0, 0, 1]);
    expect(collapseBroadcast([2, 3, 4, 5], [2, 1, 4, 1], [1, 3, 1, 5])).toBeNull();
    expect(collapseReduction([1, 8, 8, 16], [0, 1, 2])).toEqual([1, 64, 16]);
    expect(collapseReduction([2, 8, 8, 16], [1, 2])).toEqual([2, 64, 16]);
    expect(collapseReduction([2, 3, 4], [0, 2])).toBeNull();
    expect(collapseReduction([2, 1, 4], [0, 2])).toEqual([1, 8, 1]);
  });

  it('the native module checks its arguments', () => {
    const f = new Float32Array(8);
    expect(() => ew.binary(0, new Float32Array(8), f, f, 1, 1, 9, 0, 0, 1, 0, 0, 1)).toThrow(RangeError);
    expect(() => ew.binary(0, new Float32Array(9), f, f, 1, 1, 9, 0, 0, 1, 0, 0, 1)).toThrow(RangeError);
    expect(() => ew.binary(0, new Uint8Array(8) as never, f, f, 1, 1, 8, 0, 0, 1, 0, 0, 1)).toThrow(TypeError);
    expect(() => ew.binary(50, new Float32Array(8), f, f, 1, 1, 8, 0, 0, 1, 0, 0, 1)).toThrow(RangeError);
    expect(() => ew.unary(0, new Float32Array(7), f, 0)).toThrow(RangeError);
    expect(() => ew.reduce(0, new Float32Array(2), f, 2, 2, 1)).toThrow(RangeError);
    expect(() => ew.copy2d(new Float32Array(4), 0, 4, f, 6, 4, 2, 4)).toThrow(RangeError);
    expect(() => ew.adam([f, f, f, f, f, f, new Float32Array(7)], 0, 0, 0, 0, 0, 0, 0)).toThrow(RangeError);
    expect(() => ew.adam([f, f, f, f, f, f], 0, 0, 0, 0, 0, 0, 0)).toThrow(TypeError);
  });

  it('gradients through the ops (batch norm, activations, skip concat, losses) match the cpu backend', async () => {
    const run = async (name: string) => {
      await tf.setBackend(name);
      const x = tf.tensor4d(values(1, 2 * 12 * 12 * 8), [2, 12, 12, 8]);
      const gamma = tf.tensor1d(values(2, 8));
      const beta = tf.tensor1d(values(3, 8));
      const f = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
        const { mean, variance } = tf.moments(x, [0, 1, 2], true);
        const y = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), gamma), beta);
        const [a, b] = tf.split(tf.concat([tf.leakyRelu(y, 0.2), tf.relu(x)], 3), [5, 11], 3);
        const t = tf.tanh(tf.sigmoid(b!));
        return tf.add(tf.mean(tf.abs(tf.sub(a!, 0.5))), tf.add(tf.mean(tf.square(t)), tf.mean(tf.log1p(tf.exp(tf.neg(tf.abs(a!)))))));
      };
      const { value, grads } = tf.valueAndGrads(f)([x, gamma, beta]);
      const out = [value, ...grads].map((t) => t.dataSync().slice());
      tf.dispose([value, ...grads, x, gamma, beta]);
      return out;
    };
    const want = await run('cpu');
    const got = await run('native');
    for (let i = 0; i < want.length; i++) {
      const scale = Math.max(...Array.from(want[i]!, Math.abs));
      expect(scale).toBeGreaterThan(1e-4);
      for (let j = 0; j < want[i]!.length; j++) expect(Math.abs(got[i]![j]! - want[i]![j]!)).toBeLessThanOrEqual(1e-5 * scale);
    }
    await tf.setBackend('native');
  });

  it('fused batch / instance norm: values and gradients == the tf-ops norm on cpu (within 1e-5)', async () => {
    const cases: [number[], boolean, boolean][] = [
      [[2, 5, 7, 3], false, true],
      [[2, 5, 7, 3], true, true],
      [[3, 4, 4, 6], true, false],
      [[1, 1, 1, 4], false, true], // one value per channel: variance 0
      [[1, 96, 96, 32], false, true], // threaded
      [[2, 96, 96, 16], true, true], // threaded, per example
    ];
    for (const [shape, perExample, affine] of cases) {
      const c = shape[3]!;
      const run = async (name: string) => {
        await tf.setBackend(name);
        expect(hasFusedNorm()).toBe(name === 'native');
        const x = tf.tensor4d(values(1, size(shape)), shape as [number, number, number, number]);
        const gamma = tf.tensor1d(values(2, c));
        const beta = tf.tensor1d(values(3, c));
        const dy = tf.tensor4d(values(4, size(shape)), shape as [number, number, number, number]);
        const axes = perExample ? [1, 2] : [0, 1, 2];
        const f = (x: tf.Tensor, g?: tf.Tensor, b?: tf.Tensor) => {
          if (name === 'native') return fusedNorm(x as tf.Tensor4D, g, b, 1e-5, perExample);
          const { mean, variance } = tf.moments(x, axes, true);
          const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
          return g && b ? tf.add(tf.mul(y, g), b) : y;
        };
        const ins = affine ? [x, gamma, beta] : [x];
        const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(xs[0]!, xs[1], xs[2]), dy)))(ins);
        const y = f(x, affine ? gamma : undefined, affine ? beta : undefined);
        const out = [y, value, ...grads].map((t) => t.dataSync().slice());
        tf.dispose([y, value, ...grads, x, gamma, beta, dy]);
        return out;
      };
      const want = await run('cpu');
      const got = await run('native');
      want.forEach((w, i) => {
        let scale = 1e-3;
        for (const v of w) scale = Math.max(scale, Math.abs(v));
        let worst = 0;
        for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(got[i]![j]! - w[j]!));
        expect(worst / scale, `${shape} perExample ${perExample} affine ${affine} output ${i}`).toBeLessThan(1e-5);
      });
    }
    await tf.setBackend('native');
  });

  it("the norm layer takes the fused path on 'native' (no leaks) and tf ops when it keeps running statistics", () => {
    const x = tf.tensor4d(values(9, 2 * 6 * 6 * 4), [2, 6, 6, 4]);
    const count = (f: () => void) => {
      const names: string[] = [];
      const k = tf.getKernel(NORM_KERNEL, 'native')!;
      tf.unregisterKernel(NORM_KERNEL, 'native');
      tf.registerKernel({ ...k, kernelFunc: (a) => (names.push(NORM_KERNEL), k.kernelFunc(a)) });
      try {
        f();
      } finally {
        tf.unregisterKernel(NORM_KERNEL, 'native');
        tf.registerKernel(k);
      }
      return names.length;
    };
    for (const [kind, track, fused] of [['batch', false, 1], ['instance', false, 1], ['batch', true, 0]] as const) {
      const layer = norm(kind, { trackRunningStats: track });
      const made = layer.init(makeKey(0), [6, 6, 4]);
      const before = { tensors: tf.memory().numTensors, data: backend.numDataIds() };
      const calls = count(() =>
        tf.tidy(() => {
          const { grads } = tf.valueAndGrads((v: tf.Tensor) => tf.sum(tf.square(layer.apply(made.params, made.state, v as tf.Tensor4D, { mode: 'train', key: makeKey(1) })[0] as tf.Tensor)))([x]);
          return grads;
        }).forEach((g) => g.dispose()),
      );
      expect(calls, `${kind} trackRunningStats ${track}`).toBe(fused);
      expect(tf.memory().numTensors).toBe(before.tensors);
      expect(backend.numDataIds()).toBe(before.data);
      tf.dispose([...(Object.values(made.params) as tf.Tensor[]), ...(Object.values(made.state) as tf.Tensor[])]);
    }
    expect(tf.getKernel(NORM_GRAD_KERNEL, 'cpu')).toBeUndefined();
    x.dispose();
  });

  it('the fused Adam == the tf-ops Adam bit for bit over several steps; pure; no leaks', async () => {
    expect(tf.getKernel(ADAM_KERNEL, 'native')).toBeDefined();
    expect(tf.getKernel(ADAM_KERNEL, 'cpu')).toBeUndefined();
    // Together over 2^18 elements: one threaded call, blocks of several tensors (and their tails) split between the threads.
    const shapes = [[4, 4, 3, 6000], [7], [3, 3], [64, 4097], [5, 4099]];
    const run = async (name: string) => {
      await tf.setBackend(name);
      let params: tf.Tensor[] = shapes.map((s, i) => tf.tensor(values(10 + i, size(s)), s));
      let state = adamInit(params);
      const first = params.map((p) => p.dataSync().slice());
      const config = { ...adamDefaults, lr: 3e-3, beta2: 0.99 };
      for (let step = 0; step < 4; step++) {
        const grads = shapes.map((s, i) => tf.tensor(values(100 * step + i + 1, size(s), false), s));
        const before = tf.memory().numTensors;
        const [p, s] = adamUpdate(config, grads, state, params, step === 2 ? 1e-3 : config.lr);
        expect(tf.memory().numTensors).toBe(before + 3 * params.length);
        // Pure: the old parameters and moments are intact.
        if (step === 0) params.forEach((t, i) => expect(firstDiff(t.dataSync(), first[i]!)).toBeUndefined());
        tf.dispose([...grads, ...params, ...(state.m as tf.Tensor[]), ...(state.v as tf.Tensor[])]);
        params = p as tf.Tensor[];
        state = s;
      }
      const out = [...params, ...(state.m as tf.Tensor[]), ...(state.v as tf.Tensor[])].map((t) => t.dataSync().slice());
      tf.dispose([...params, ...(state.m as tf.Tensor[]), ...(state.v as tf.Tensor[])]);
      return out;
    };
    const before = tf.memory().numTensors;
    const want = await run('cpu');
    const got = await run('native');
    expect(tf.memory().numTensors).toBe(before);
    want.forEach((w, i) => expect(firstDiff(got[i]!, w), `tensor ${i}`).toBeUndefined());
  });

  it('the fused Adam over many tensors, donated, == the tf-ops Adam bit for bit, in place except for a tensor a clone still sees', async () => {
    const shapes = [[64, 4097], [7], [3, 3, 2, 5], [5, 4099]];
    const config = { ...adamDefaults, lr: 3e-3, beta2: 0.99 };
    const run = async (name: string, donate: boolean) => {
      await tf.setBackend(name);
      let params: tf.Tensor[] = shapes.map((s, i) => tf.tensor(values(20 + i, size(s)), s));
      let state = adamInit(params);
      const alias = tf.clone(params[2]!); // sees params[2]'s array: that one must not change in place
      const aliased = alias.dataSync().slice();
      const arrayOf = (t: tf.Tensor) => (tf.backend() as MathBackendCPU).data.get(t.dataId).values;
      let reused = 0;
      for (let step = 0; step < 3; step++) {
        const grads = shapes.map((s, i) => tf.tensor(values(200 * step + i + 1, size(s), false), s));
        const olds = name === 'native' ? params.map(arrayOf) : [];
        const [p, s] = adamUpdate(config, grads, state, params, config.lr, donate);
        if (name === 'native') reused += (p as tf.Tensor[]).filter((t, i) => arrayOf(t) === olds[i]).length;
        tf.dispose(grads);
        tf.dispose([...params, ...(state.m as tf.Tensor[]), ...(state.v as tf.Tensor[])]); // donated or not, the old tensors go
        params = p as tf.Tensor[];
        state = s;
      }
      expect(firstDiff(alias.dataSync(), aliased)).toBeUndefined();
      const out = [...params, ...(state.m as tf.Tensor[]), ...(state.v as tf.Tensor[])].map((t) => t.dataSync().slice());
      tf.dispose([alias, ...params, ...(state.m as tf.Tensor[]), ...(state.v as tf.Tensor[])]);
      return { out, reused };
    };
    const before = tf.memory().numTensors;
    const want = await run('cpu', false);
    const got = await run('native', true);
    expect(tf.memory().numTensors).toBe(before);
    // Every parameter's array is reused in each of the 3 steps, but for params[2]'s in the first, which its clone sees.
    expect(got.reused).toBe(3 * shapes.length - 1);
    want.out.forEach((w, i) => expect(firstDiff(got.out[i]!, w), `tensor ${i}`).toBeUndefined());
  });

  it('repeated calls keep the tensor and data counts flat', () => {
    const x = tf.tensor4d(values(5, 2 * 20 * 20 * 16), [2, 20, 20, 16]);
    const c = tf.tensor1d(values(6, 16));
    const round = () =>
      tf.tidy(() => {
        const { mean, variance } = tf.moments(x, [0, 1, 2], true);
        const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5)));
        const [a, b] = tf.split(tf.concat([y, tf.mul(x, c)], 3), 2, 3);
        return [tf.sum(tf.where(tf.greater(a!, 0), a!, tf.leakyRelu(b!, 0.2))), tf.mean(tf.squaredDifference(a!, b!))];
      });
    tf.dispose(round());
    const start = { tensors: tf.memory().numTensors, data: backend.numDataIds() };
    for (let i = 0; i < 10; i++) tf.dispose(round());
    expect(tf.memory().numTensors).toBe(start.tensors);
    expect(backend.numDataIds()).toBe(start.data);
    tf.dispose([x, c]);
  });

  it('three pix2pix training steps on native == on cpu (losses and weights within 1e-4)', async () => {
    await tf.setBackend('cpu');
    const want = trainTiny();
    await tf.setBackend('native');
    const got = trainTiny();
    const worst = worstDifference(got, want);
    expect(worst.loss).toBeLessThanOrEqual(1e-4);
    expect(worst.weight).toBeLessThanOrEqual(1e-4);
  });

  it('with other thread counts (1, 3, 16 OpenMP threads, each its own process) the same training, donated', async () => {
    await tf.setBackend('cpu');
    const want = trainTiny();
    await tf.setBackend('native');
    const script = fileURLToPath(new URL('./helpers/train-tiny-native.ts', import.meta.url));
    for (const threads of ['1', '3', '16']) {
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, OMP_NUM_THREADS: threads } });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as TinyRun;
      const worst = worstDifference(got, want);
      expect(worst.loss, `${threads} threads`).toBeLessThanOrEqual(1e-4);
      expect(worst.weight, `${threads} threads`).toBeLessThanOrEqual(1e-4);
    }
  });
});
