// The native worker thread (src/conv_async.cc, kernels/async.ts, pending.ts):
// filter gradients computed off the JavaScript thread, read only once
// written, their operands never recycled while a job reads them, sums of
// pending gradients queued behind them, and donated Adam updates of small
// networks queued per tensor. Oracles: tf.js's stock cpu kernels, and the
// same kernel run in line.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../lib/backend/index.ts';
import { ADAM_QUEUE_MAX, convAsync } from '../lib/backend/native/kernels/async.ts';
import { convEngines, type ConvAddon } from '../lib/backend/native/kernels/conv.ts';
import { nativePending } from '../lib/backend/native/pending.ts';
import { nativePool } from '../lib/backend/native/pool.ts';
import type { NativeBackend } from '../lib/backend/native/register.ts';
import { maxAbsDiff, seededValues } from './helpers/conv-cases.ts';
import { native, skipNative } from './helpers/native.ts';
import { ADAM_KERNEL, SUM_SQUARES_KERNEL } from '../lib/ops/kernels.ts';
import { adam as adamOptimiser, cgan, chain, clipByGlobalNorm, disposeReplaced, disposeState, initTrainState, l1, leaves, makeKey, makeStep, patchDiscriminator, plus, unet, type Pix2PixSpec } from '../lib/node.ts';
import type { SumSquaresAddon } from '../lib/backend/native/kernels/sum-squares.ts';

// A layer of the paper's 64x64 U-Net: 32 -> 64 channels, 4x4 stride 2, 32x32 -> 16x16 (~17M FLOPs: one thread's worth).
const X = [1, 32, 32, 32] as const;
const F = [4, 4, 32, 64] as const;
const DY = [1, 16, 16, 64] as const;

/** The Conv2DBackpropFilter kernel of the current backend (stride 2, pad 1). */
const backpropFilter = (x: tf.Tensor, dy: tf.Tensor): tf.Tensor =>
  tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [2, 2], pad: 1, dataFormat: 'NHWC', filterShape: [...F] }) as tf.Tensor;

/** The filter gradient on the cpu backend, values only. */
const onCpu = async (x: Float32Array, dy: Float32Array): Promise<Float32Array> => {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  const dw = tf.tidy(() => backpropFilter(tf.tensor4d(x, [...X]), tf.tensor4d(dy, [...DY])));
  const v = dw.dataSync() as Float32Array;
  dw.dispose();
  await tf.setBackend(previous);
  return v;
};

describe.skipIf(skipNative)('native worker thread', () => {
  const conv = ('addon' in native ? native.addon.conv : undefined) as unknown as ConvAddon;
  let initial = 'cpu';
  let waits = 0;
  let realWait: ConvAddon['wait'];
  const xv = seededValues(7, 32 * 32 * 32);
  const dyv = seededValues(8, 16 * 16 * 64);
  let reference: Float32Array;
  let backlog = 1;

  beforeAll(async () => {
    initial = tf.getBackend() ?? 'cpu';
    reference = await onCpu(xv, dyv);
    await useBackend('native', { quiet: true });
    // Every filter gradient queued, even behind waiting jobs (tests below need them there); one test looks at the default.
    backlog = conv.tune(0, 0, 0, 0, 0, 0, -1)[6];
    realWait = conv.wait.bind(conv);
    conv.wait = (id) => (waits++, realWait(id));
  });
  afterAll(async () => {
    conv.tune(0, 0, 0, 0, 0, 0, backlog);
    conv.wait = realWait;
    convAsync.filterGradient = true;
    convAsync.adam = true;
    convEngines.Conv2DBackpropFilter = 'auto';
    await tf.setBackend(initial);
  });

  const scale = (v: Float32Array) => v.reduce((m, a) => Math.max(m, Math.abs(a)), 0);
  const filterGradient = () => tf.tidy(() => backpropFilter(tf.tensor4d(xv, [...X]), tf.tensor4d(dyv, [...DY])));
  const bitsOf = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  /** Every parameter of G and D, values only, after 4 donated training steps on one pair from key `seed`. */
  const trainedParams = (spec: Pix2PixSpec, seed: number, x: tf.Tensor4D, y: tf.Tensor4D): Float32Array[] => {
    const init = initTrainState(spec, makeKey(seed));
    if (init._tag === 'Left') throw new Error(init.left.message);
    let state = init.right;
    const step = makeStep(spec, { donate: true });
    for (let i = 0; i < 4; i++) {
      const [next] = step(state, { x, y });
      disposeReplaced(state, next);
      state = next;
    }
    const params = [...leaves(state.g.params), ...leaves(state.d.params)].map((t) => t.dataSync().slice() as Float32Array);
    disposeState(state);
    return params;
  };

  it('goes to the worker (a job is pending after the kernel returns) and, read at once, == the cpu kernel', () => {
    convAsync.filterGradient = true;
    const dw = filterGradient();
    expect(nativePending.active).toBe(true);
    const before = waits;
    const v = dw.dataSync() as Float32Array;
    expect(waits).toBe(before + 1);
    expect(maxAbsDiff(v, reference) / scale(reference)).toBeLessThan(2e-6);
    tf.dispose(dw);
  });

  it('the same engine on the worker and in line gives the same bits (oneDNN on one thread either way)', () => {
    convEngines.Conv2DBackpropFilter = 'dnnl';
    try {
      const run = (onWorker: boolean) => {
        convAsync.filterGradient = onWorker;
        const dw = filterGradient();
        const v = dw.dataSync() as Float32Array;
        dw.dispose();
        return v;
      };
      const inLine = run(false);
      const onWorker = run(true);
      expect(Buffer.from(onWorker.buffer).equals(Buffer.from(inLine.buffer))).toBe(true);
    } finally {
      convEngines.Conv2DBackpropFilter = 'auto';
      convAsync.filterGradient = true;
    }
  });

  /** n filter gradients of ~67M FLOPs each (64x64 -> 32x32) of the same inputs, queued: they hold the worker a while. */
  const queueAhead = (n = 4) =>
    tf.tidy(() => {
      const [bx, bdy] = [tf.randomUniform([1, 64, 64, 32], -1, 1, 'float32', 5), tf.randomUniform([1, 32, 32, 64], -1, 1, 'float32', 6)];
      return Array.from({ length: n }, () => tf.engine().runKernel('Conv2DBackpropFilter', { x: bx, dy: bdy }, { strides: [2, 2], pad: 1, dataFormat: 'NHWC', filterShape: [4, 4, 32, 64] }) as tf.Tensor);
    });

  it("operands disposed before their job ran are not recycled under it: new tensors of their size get other buffers until it is done", () => {
    // Jobs run in order: bigger ones hold the worker while ours waits behind them.
    const ahead = queueAhead();
    // Kernel outputs, as activations are: their buffers are the pool's (a tensor made from an array keeps that array).
    const [x, dy] = tf.tidy(() => [tf.mul(tf.tensor4d(xv, [...X]), 1), tf.mul(tf.tensor4d(dyv, [...DY]), 1)]);
    const dw = backpropFilter(x!, dy!);
    expect(nativePending.writing((tf.backend() as NativeBackend).peek(dw.dataId)?.values)).toBe(true); // still queued
    tf.dispose([x!, dy!]);
    // Kernels writing tensors of x's and dy's sizes, which would take their buffers from the pool if released.
    const junk = [tf.fill([...X], 1e30), tf.fill([...DY], -1e30)].map((t) => tf.mul(t, 3));
    const v = dw.dataSync() as Float32Array;
    expect(maxAbsDiff(v, reference) / scale(reference)).toBeLessThan(2e-6);
    tf.dispose([dw, ...junk, ...ahead]);
  });

  it('a sum of two pending gradients is queued behind them without waiting, and == the sum of the cpu gradients', () => {
    const ahead = queueAhead();
    const a = filterGradient();
    const b = filterGradient();
    const before = waits;
    const sum = tf.add(a, b);
    expect(waits).toBe(before); // queued, not waited for
    tf.dispose([a, b]); // released only after the queued sum has read them
    const v = sum.dataSync() as Float32Array;
    const want = reference.map((r) => r + r);
    expect(maxAbsDiff(v, want) / scale(want)).toBeLessThan(4e-6);
    tf.dispose([sum, ...ahead]);
  });

  it("the divergence check's sum of squares takes the worker's sums of the gradients it wrote: == the squares summed on cpu; a NaN or an overflow in a gradient still reads NaN or Infinity", async () => {
    const sumSq = (ts: tf.Tensor[]) => tf.engine().runKernel(SUM_SQUARES_KERNEL, ts as unknown as tf.NamedTensorMap, {}) as tf.Scalar;
    const calls = { jobSum: 0 };
    const realSum = conv.jobSum.bind(conv);
    conv.jobSum = (id) => (calls.jobSum++, realSum(id));
    try {
      const a = filterGradient();
      const b = filterGradient();
      const sum = tf.add(a, b);
      const extra = tf.tensor1d([3, -4]);
      const got = sumSq([a, sum, extra]);
      expect(calls.jobSum).toBe(2);
      const want = reference.reduce((t, r) => t + r * r + 4 * r * r, 0) + 25;
      expect(Math.abs(got.dataSync()[0]! - want) / want).toBeLessThan(1e-5);
      const bad = (value: number) => {
        const x = tf.tidy(() => tf.mul(tf.tensor4d(xv, [...X]), tf.fill([...X], value)));
        const dy = tf.tensor4d(dyv, [...DY]);
        const dw = backpropFilter(x, dy);
        const s = sumSq([dw]);
        const v = s.dataSync()[0]!;
        tf.dispose([x, dy, dw, s]);
        return v;
      };
      expect(bad(Number.NaN)).toBeNaN();
      expect(bad(1e30)).toBe(Infinity);
      tf.dispose([a, b, sum, extra, got]);
    } finally {
      conv.jobSum = realSum;
    }
  });

  it('a filter gradient computed in line is summed as it is made: the divergence check reads no gradient again, and its total is the one it reads', () => {
    const sumSq = (ts: tf.Tensor[]) => tf.engine().runKernel(SUM_SQUARES_KERNEL, ts as unknown as tf.NamedTensorMap, {}) as tf.Scalar;
    const ew = ('addon' in native ? native.addon.elementwise : undefined) as unknown as SumSquaresAddon;
    const realSumSquares = ew.sumSquares.bind(ew);
    const read: number[] = [];
    ew.sumSquares = (xs, each) => (read.push(xs.length), realSumSquares(xs, each));
    convAsync.filterGradient = false;
    try {
      const dw = filterGradient();
      const got = sumSq([dw]);
      expect(read).toEqual([]);
      convAsync.sums = false; // the same check reading the gradient itself
      const want = sumSq([dw]);
      expect(read).toEqual([1]);
      expect(got.dataSync()[0]).toBe(want.dataSync()[0]);
      tf.dispose([dw, got, want]);
    } finally {
      ew.sumSquares = realSumSquares;
      convAsync.filterGradient = true;
      convAsync.sums = true;
    }
  });

  it('a sum queued behind two big pending gradients of the same inputs starts only once they are written: exactly 2x either, with more jobs queued ahead', () => {
    for (let round = 0; round < 3; round++) {
      const ahead = queueAhead();
      // Two gradients of the same inputs (the same engine on one thread: the same bits), big enough to be running when the sum could start.
      const [a, b] = queueAhead(2);
      const sum = tf.add(a!, b!);
      const v = sum.dataSync() as Float32Array;
      const av = a!.dataSync() as Float32Array;
      expect(Buffer.from(a!.dataSync().buffer).equals(Buffer.from(b!.dataSync().buffer))).toBe(true);
      expect(v.every((x, i) => x === 2 * av[i]!), `round ${round}`).toBe(true);
      tf.dispose([sum, a!, b!, ...ahead]);
    }
  });

  /**
   * Adam on kernel-output copies of p, g, m, v (so that a donated update may
   * go in place), queued or in line: the new p, m, v; `behind` queues more
   * work after the update, before it is read.
   */
  const adam = (queue: boolean, inPlace: boolean, behind: () => tf.Tensor[] = () => []) => {
    convAsync.adam = queue;
    try {
      const sizes = [4096, 100_000, 3];
      const made = sizes.flatMap((n, t) => [0, 1, 2, 3].map((j) => tf.tidy(() => tf.mul(tf.tensor1d(seededValues(20 + 4 * t + j, n)), j === 3 ? tf.abs(tf.scalar(0.01)) : 1))));
      const outs = tf.engine().runKernel(ADAM_KERNEL, made as unknown as tf.NamedTensorMap, { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, count: 3, inPlace }) as unknown as tf.Tensor[];
      const queued = outs.map((o) => nativePending.writing((tf.backend() as NativeBackend).peek(o.dataId)?.values));
      const after = behind();
      const before = waits;
      const values = outs.map((o) => o.dataSync().slice() as Float32Array);
      const waited = waits - before;
      tf.dispose([...made, ...outs]);
      return { values, queued, waited, after };
    } finally {
      convAsync.adam = true;
    }
  };

  it("a donated Adam update of a small network is queued, one job per tensor, and gives the in-line kernel's bits", () => {
    const inLine = adam(false, true);
    const queued = adam(true, true);
    expect(inLine.queued.every((q) => !q)).toBe(true);
    expect(queued.queued.every((q) => q)).toBe(true);
    expect(queued.waited).toBeGreaterThan(0);
    queued.values.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(inLine.values[i]!.buffer)), `output ${i}`).toBe(true));
    expect(ADAM_QUEUE_MAX).toBeGreaterThan(4096 + 100_000 + 3);
  });

  it("a queued Adam update waited for while the worker is busy ahead of it: the waiting thread runs its pieces itself, with the in-line kernel's bits, and gradients queued before and after it keep theirs", () => {
    const piece = conv.tune(0, 0, 0, 0, 0, 0, 0, 4096)[7]; // the 100,000-element tensor in 25 pieces
    try {
      const inLine = adam(false, true);
      const helped = conv.helpedJobs();
      // The worker must still be busy when the update is read: on a loaded machine this thread may lose its core for longer than the jobs ahead take, so up to 5 tries.
      for (let round = 0; round < 5 && conv.helpedJobs() === helped; round++) {
        const ahead = queueAhead(4 * (round + 1)); // ~40 ms of filter gradients a round for the worker first
        const queued = adam(true, true, () => [filterGradient()]);
        expect(queued.queued.every((q) => q)).toBe(true);
        queued.values.forEach((v, i) => expect(bitsOf(v).equals(bitsOf(inLine.values[i]!)), `round ${round}, output ${i}`).toBe(true));
        const [after] = queued.after;
        expect(maxAbsDiff(after!.dataSync() as Float32Array, reference) / scale(reference)).toBeLessThan(2e-6);
        const first = ahead[0]!.dataSync() as Float32Array;
        for (const g of ahead) expect(bitsOf(g.dataSync() as Float32Array).equals(bitsOf(first))).toBe(true);
        tf.dispose([...ahead, after!]);
      }
      expect(conv.helpedJobs() - helped).toBeGreaterThan(0);
    } finally {
      conv.tune(0, 0, 0, 0, 0, 0, 0, piece);
    }
  });

  it('a sum queued behind a queued Adam update, reading its output while a waiting thread runs pieces of it, has the in-line bits of update + 1', () => {
    const n = 1 << 20; // 8 pieces of 2^17
    const made = [0, 1, 2, 3].map((j) => tf.tidy(() => tf.mul(tf.tensor1d(seededValues(40 + j, n)), j === 3 ? tf.abs(tf.scalar(0.01)) : 1)));
    const run = (queue: boolean) => {
      convAsync.adam = queue;
      try {
        const copies = made.map((t) => tf.mul(t, 1)); // donated: updated in place
        const ahead = queue ? queueAhead() : [];
        const outs = tf.engine().runKernel(ADAM_KERNEL, copies as unknown as tf.NamedTensorMap, { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, count: 2, inPlace: true }) as unknown as tf.Tensor[];
        const p = outs[0];
        const pendingP = nativePending.writing((tf.backend() as NativeBackend).peek(p!.dataId)?.values);
        const sum = tf.add(p!, tf.onesLike(p!)); // queued behind the update while p is still being written
        const v = sum.dataSync().slice() as Float32Array;
        tf.dispose([...copies, ...outs, ...ahead, sum]);
        return { v, pendingP };
      } finally {
        convAsync.adam = true;
      }
    };
    const want = run(false);
    const helped = conv.helpedJobs();
    // At least 3 rounds, and more (to 6) until the waiting thread has run pieces: on a loaded machine the worker may finish first.
    for (let round = 0; round < 6 && (round < 3 || conv.helpedJobs() === helped); round++) {
      const got = run(true);
      expect(got.pendingP).toBe(true);
      expect(bitsOf(got.v).equals(bitsOf(want.v)), `round ${round}`).toBe(true);
    }
    expect(conv.helpedJobs() - helped).toBeGreaterThan(0);
    tf.dispose(made);
  });

  it('an undonated Adam update (read at once, as D is by its next forward pass) is not queued', () => {
    const r = adam(true, false);
    expect(r.queued.some((q) => q)).toBe(false);
  });

  it('a donated Adam update does not write in place a parameter that a queued job still reads (it gets new arrays), and that job reads the old values', () => {
    const ahead = queueAhead();
    const [p, g, m, v] = tf.tidy(() => [xv, xv, xv, xv].map((a, j) => tf.mul(tf.tensor4d(a, [...X]), j === 3 ? 0.01 : 1)));
    const dy = tf.tensor4d(dyv, [...DY]);
    const dw = backpropFilter(p!, dy); // queued behind `ahead`: reads p later
    const peek = (t: tf.Tensor) => (tf.backend() as NativeBackend).peek(t.dataId)?.values as Float32Array;
    const pBuffer = peek(p!).buffer;
    convAsync.adam = false; // in line, so that only the in-place rule decides
    try {
      const outs = tf.engine().runKernel(ADAM_KERNEL, [p, g, m, v] as unknown as tf.NamedTensorMap, { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, count: 1, inPlace: true }) as unknown as tf.Tensor[];
      expect(peek(outs[0]!).buffer).not.toBe(pBuffer);
      expect(maxAbsDiff(dw.dataSync() as Float32Array, reference) / scale(reference)).toBeLessThan(2e-6);
      tf.dispose(outs);
    } finally {
      convAsync.adam = true;
      tf.dispose([p!, g!, m!, v!, dy, dw, ...ahead]);
    }
  });

  it('by default a filter gradient asked for while the worker has a job waiting is computed here (no job for it), == the cpu kernel', () => {
    // All queued (~40 ms of the worker's time): jobs still wait there when the gradient is asked for, even on a loaded machine.
    const ahead = queueAhead(24);
    conv.tune(0, 0, 0, 0, 0, 0, backlog);
    try {
      expect(backlog).toBe(1);
      const dw = filterGradient();
      const values = (tf.backend() as NativeBackend).peek(dw.dataId)?.values;
      expect(nativePending.writing(values)).toBe(false);
      expect(maxAbsDiff(dw.dataSync() as Float32Array, reference) / scale(reference)).toBeLessThan(2e-6);
      dw.dispose();
    } finally {
      conv.tune(0, 0, 0, 0, 0, 0, -1);
      tf.dispose(ahead);
    }
  });

  it("a filter gradient the calling thread computes because the worker has jobs waiting has the worker's bits, not those of its own pick (sgemm): one kernel, and 4 training steps, computed here the worker's way == queued", () => {
    const spec = { generator: unet({ depth: 5, ngf: 8 }), discriminator: patchDiscriminator(70, { ndf: 8 }), objective: plus(l1(100), cgan()), inputShape: [32, 32, 3] as const, outChannels: 3 };
    const x = tf.tensor4d(seededValues(13, 32 * 32 * 3), [1, 32, 32, 3]);
    const y = tf.tensor4d(seededValues(14, 32 * 32 * 3), [1, 32, 32, 3]);
    const [, , , , table, , queueing] = conv.tune(0, 0, 0);
    // The table for CPUs without AVX-512, which picks sgemm for this filter gradient in line; the worker does not run sgemm (it takes oneDNN).
    conv.tune(0, 0, 0, 0, 3);
    const withBacklog = <T>(setting: number, f: () => T): T => {
      conv.tune(0, 0, 0, 0, 0, 0, setting);
      return f();
    };
    const one = () => {
      const dw = filterGradient();
      const v = dw.dataSync().slice() as Float32Array;
      dw.dispose();
      return v;
    };
    const train = () => trainedParams(spec, 4, x, y);
    try {
      expect(conv.impl(2, Int32Array.from([1, 32, 32, 32, 16, 16, 64, 4, 4, 2, 2, 1, 1]), 0)).toBe('gemm');
      const [queued, here] = [withBacklog(-1, one), withBacklog(-2, one)];
      expect(bitsOf(here).equals(bitsOf(queued))).toBe(true);
      convAsync.filterGradient = false;
      expect(bitsOf(one()).equals(bitsOf(queued)), "sgemm's bits differ from oneDNN's (else this test shows nothing)").toBe(false);
      convAsync.filterGradient = true;
      const [stepsQueued, stepsHere] = [withBacklog(-1, train), withBacklog(-2, train)];
      stepsQueued.forEach((p, i) => expect(bitsOf(p).equals(bitsOf(stepsHere[i]!)), `parameter ${i}`).toBe(true));
    } finally {
      conv.tune(0, 0, 0, 0, table, 0, queueing);
      convAsync.filterGradient = true;
      tf.dispose([x, y]);
    }
  });

  it("a gradient's sum of squares is the same double taken by its job on the worker, in line as it is computed, or by the divergence check's own pass (blocks of 2^16, in order, on one thread or two); with a clipped global norm, steps queued or in line give the same bits", () => {
    // 4x4, 128 -> 128 channels, 16x16 -> 8x8: 2^18 weights (4 blocks of 2^16; the check's pass takes them on two threads), one thread's worth of FLOPs (a job).
    const x = tf.tensor4d(seededValues(21, 16 * 16 * 128), [1, 16, 16, 128]);
    const dy = tf.tensor4d(seededValues(22, 8 * 8 * 128), [1, 8, 8, 128]);
    const ew = ('addon' in native ? native.addon.elementwise : undefined) as unknown as SumSquaresAddon;
    const backend = () => tf.backend() as NativeBackend;
    const [, , , , , , queueing] = conv.tune(0, 0, 0);
    /** The filter gradient with the worker's backlog rule at `setting` (-1 queue, -2 here): its values and the sum its job reported. */
    const gradient = (setting: number): [Float32Array, number | undefined] => {
      conv.tune(0, 0, 0, 0, 0, 0, setting);
      const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [2, 2], pad: 1, dataFormat: 'NHWC', filterShape: [4, 4, 128, 128] }) as tf.Tensor;
      const raw = backend().peek(dw.dataId)!.values as Float32Array;
      const queued = nativePending.writing(raw);
      const known = nativePending.sumOfSquares(raw);
      expect(queued, `setting ${setting}`).toBe(setting === -1);
      const v = dw.dataSync().slice() as Float32Array;
      dw.dispose();
      return [v, known];
    };
    const spec = {
      generator: unet({ depth: 5, ngf: 8 }),
      discriminator: patchDiscriminator(70, { ndf: 8 }),
      objective: plus(l1(100), cgan()),
      // A bound every step's gradients exceed: each update is scaled by the norm's inverse.
      optimizer: chain(clipByGlobalNorm(1e-3), adamOptimiser({ lr: 2e-4, beta1: 0.5 })),
      inputShape: [32, 32, 3] as const,
      outChannels: 3,
    };
    const xs = tf.tensor4d(seededValues(23, 32 * 32 * 3), [1, 32, 32, 3]);
    const ys = tf.tensor4d(seededValues(24, 32 * 32 * 3), [1, 32, 32, 3]);
    const train = (setting: number) => {
      conv.tune(0, 0, 0, 0, 0, 0, setting);
      return trainedParams(spec, 5, xs, ys);
    };
    try {
      const [queued, fromJob] = gradient(-1);
      const [here, fromHere] = gradient(-2);
      expect(bitsOf(here).equals(bitsOf(queued))).toBe(true);
      // Computed in line: summed there at once, the same double as the job's.
      expect(fromHere).toBe(fromJob);
      const each = new Float64Array(2);
      ew.sumSquares([queued, here.subarray(0, 1000)], each); // on two threads, another array beside it
      expect(fromJob).toBe(each[0]);
      let plain = 0;
      for (const v of queued) plain += v * v;
      expect(Math.abs(each[0]! - plain) / plain).toBeLessThan(1e-12);
      // The definition, written again: blocks of 2^16, each with 16 running sums (element i to sum i % 16, the
      // tail to sum 0) added in order, the blocks' sums added in order. A square of a float is exact in double.
      const blocked = (v: Float32Array) => {
        let total = 0;
        for (let b = 0; b < v.length; b += 65536) {
          const n = Math.min(65536, v.length - b);
          const acc = new Float64Array(16);
          let i = 0;
          for (; i + 16 <= n; i += 16) for (let j = 0; j < 16; j++) acc[j] = acc[j]! + v[b + i + j]! * v[b + i + j]!;
          for (; i < n; i++) acc[0] = acc[0]! + v[b + i]! * v[b + i]!;
          let block = 0;
          for (const a of acc) block += a;
          total += block;
        }
        return total;
      };
      // Sizes around the blocks and the parallel threshold (2^18), each as one array and among others.
      const arrays = [262144, 262143 + 65536 * 3, 70001, 17, 1].map((n, k) => seededValues(30 + k, n));
      const sums = new Float64Array(arrays.length);
      ew.sumSquares(arrays, sums);
      arrays.forEach((a, k) => expect(sums[k], `array ${k}`).toBe(blocked(a)));
      arrays.forEach((a, k) => expect(ew.sumSquares([a]), `array ${k} alone`).toBe(blocked(a)));
      expect(each[0]).toBe(blocked(queued));
      expect(fromHere).toBe(blocked(here));
      // The clip scale comes from the divergence check's total: the same bits whichever gradients were queued.
      const [stepsQueued, stepsHere] = [train(-1), train(-2)];
      stepsQueued.forEach((p, i) => expect(bitsOf(p).equals(bitsOf(stepsHere[i]!)), `parameter ${i}`).toBe(true));
    } finally {
      conv.tune(0, 0, 0, 0, 0, 0, queueing);
      tf.dispose([x, dy, xs, ys]);
    }
  });

  it("training steps with the worker: deterministic bit for bit, Adam on it or not the same bits, within 1e-4 of all in line, and the live tensors and pooled buffers stay flat", () => {
    const spec = { generator: unet({ depth: 5, ngf: 8 }), discriminator: patchDiscriminator(70, { ndf: 8 }), objective: plus(l1(100), cgan()), inputShape: [32, 32, 3] as const, outChannels: 3 };
    const x = tf.tensor4d(seededValues(11, 32 * 32 * 3), [1, 32, 32, 3]);
    const y = tf.tensor4d(seededValues(12, 32 * 32 * 3), [1, 32, 32, 3]);
    const train = ([filters, adams]: [boolean, boolean], steps: number, watch?: (i: number) => void) => {
      convAsync.filterGradient = filters;
      convAsync.adam = adams;
      const init = initTrainState(spec, makeKey(3));
      if (init._tag === 'Left') throw new Error(init.left.message);
      let state = init.right;
      const step = makeStep(spec, { donate: true });
      for (let i = 0; i < steps; i++) {
        const [next] = step(state, { x, y });
        disposeReplaced(state, next);
        state = next;
        watch?.(i);
      }
      const params = leaves(state.g.params).map((t) => t.dataSync().slice() as Float32Array);
      disposeState(state);
      return params;
    };
    try {
      const counts: Array<[number, number]> = [];
      const a = train([true, true], 6, (i) => {
        if (i >= 2) counts.push([tf.memory().numTensors, nativePool.stats().liveBuffers]);
      });
      expect(new Set(counts.map(([n]) => n)).size, JSON.stringify(counts)).toBe(1);
      expect(new Set(counts.map(([, b]) => b)).size, JSON.stringify(counts)).toBe(1);
      const b = train([true, true], 6);
      a.forEach((p, i) => expect(Buffer.from(p.buffer).equals(Buffer.from(b[i]!.buffer)), `parameter ${i}`).toBe(true));
      const c = train([true, false], 6); // Adam in line: the same kernel, the same bits
      a.forEach((p, i) => expect(Buffer.from(p.buffer).equals(Buffer.from(c[i]!.buffer)), `parameter ${i}, Adam in line`).toBe(true));
      const d = train([false, false], 6);
      a.forEach((p, i) => expect(maxAbsDiff(p, d[i]!) / Math.max(1, scale(d[i]!)), `parameter ${i}`).toBeLessThan(1e-4));
    } finally {
      convAsync.filterGradient = true;
      convAsync.adam = true;
      tf.dispose([x, y]);
    }
  });
});
