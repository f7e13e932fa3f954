// The native backend's recycled output buffers (lib/backend/native/pool.ts)
// and the donated, in-place Adam step they make possible. The pool's
// bookkeeping is plain JavaScript and tested everywhere; its use by the
// backend, and donation, where the native module is built.
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../lib/backend/index.ts';
import { native, skipNative } from './helpers/native.ts';
import { BufferPool, nativePool, sizeClass } from '../lib/backend/native/pool.ts';
import { NativeBackend } from '../lib/backend/native/register.ts';
import { flatten, leaves, makeKey } from '../lib/node.ts';
import { adamDefaults, adamInit, adamUpdate } from '../lib/optim/adam.ts';
import type { Tree } from '../lib/core/tree.ts';
import { disposeReplaced, disposeState, initTrainState, stateTensors, type TrainState } from '../lib/train/state.ts';
import { DivergedError, makeStep } from '../lib/train/step.ts';
import { tinySpec } from './helpers/tiny-spec.ts';

describe('BufferPool', () => {
  it('size classes: at least the request, at most 12.5% more, stable', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 33 }), (bytes) => {
        const c = sizeClass(bytes);
        expect(c).toBeGreaterThanOrEqual(bytes);
        expect(c).toBeLessThanOrEqual(Math.max(bytes * 1.125, 8));
        expect(sizeClass(c)).toBe(c);
        expect(sizeClass(bytes + 1)).toBeGreaterThanOrEqual(c);
      }),
    );
  });

  it('a released buffer is served again; one held twice only after both releases', () => {
    const pool = new BufferPool(2 ** 30);
    const a = pool.take(5000);
    expect(a.length).toBe(5000);
    pool.adopt(a);
    pool.adopt(a.subarray(100, 200)); // a view of it, as a contiguous slice makes
    pool.release(a);
    expect(pool.take(5000).buffer).not.toBe(a.buffer);
    pool.release(a.subarray(100, 200));
    expect(pool.stats().freeBytes).toBe(sizeClass(20000));
    const again = pool.take(4900); // same class
    expect(again.buffer).toBe(a.buffer);
    expect(again.length).toBe(4900);
    expect(pool.stats().freeBytes).toBe(0);
  });

  it('never recycles what was read out, what is small, or beyond its bound', () => {
    const pool = new BufferPool(sizeClass(4 * 5000));
    const read = pool.take(5000);
    pool.adopt(read);
    pool.escape(read);
    pool.release(read);
    expect(pool.stats().freeBytes).toBe(0);
    const small = pool.take(10);
    pool.adopt(small);
    pool.release(small);
    expect(pool.stats().freeBytes).toBe(0);
    const [x, y] = [pool.take(5000), pool.take(5000)];
    for (const t of [x, y]) pool.adopt(t);
    for (const t of [x, y]) pool.release(t);
    expect(pool.stats().freeBytes).toBe(sizeClass(4 * 5000)); // the second did not fit
    const off = new BufferPool(0);
    const z = off.take(5000);
    off.adopt(z);
    off.release(z);
    expect(off.take(5000).buffer).not.toBe(z.buffer);
    expect(off.stats().freeBytes).toBe(0);
  });

  it('poison fills outputs with NaN', () => {
    const pool = new BufferPool(2 ** 20);
    pool.poison = true;
    expect(pool.take(3000).every(Number.isNaN)).toBe(true);
    expect(pool.take(3).every(Number.isNaN)).toBe(true);
  });
});


describe.skipIf(skipNative)('the native backend with recycled buffers', () => {
  let initialBackend = 'cpu';
  let backend: NativeBackend;
  beforeAll(async () => {
    initialBackend = tf.getBackend() ?? 'cpu';
    await useBackend('native', { quiet: true });
    backend = tf.backend() as NativeBackend;
    nativePool.poison = true; // a kernel that skips an element would show NaN
  });
  afterAll(async () => {
    nativePool.poison = false;
    await tf.setBackend(initialBackend);
  });

  const ramp = (n: number, shift = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.01 + shift));
  const churn = (n: number) => {
    for (let i = 0; i < 20; i++) tf.tidy(() => tf.relu(tf.add(tf.tensor1d(ramp(n, i)), 1)).dataSync().length);
  };

  it('is the backend in use, and recycles: a loop of ops stops allocating', () => {
    expect(backend).toBeInstanceOf(NativeBackend);
    const x = tf.tensor1d(ramp(50_000));
    const round = () => tf.tidy(() => tf.sum(tf.mul(tf.relu(x), tf.leakyRelu(x, 0.2))));
    tf.dispose(round());
    const { allocated } = nativePool.stats();
    for (let i = 0; i < 10; i++) tf.dispose(round());
    expect(nativePool.stats().allocated).toBe(allocated);
    x.dispose();
  });

  it('what dataSync returned stays intact after its tensor is disposed and buffers are reused', () => {
    const t = tf.relu(tf.tensor1d(ramp(50_000)));
    const seen = t.dataSync();
    const copy = seen.slice();
    t.dispose();
    churn(50_000);
    expect(Array.from(seen)).toEqual(Array.from(copy));
  });

  it('a slice sharing a buffer outlives its source', () => {
    const source = tf.relu(tf.tensor2d(ramp(60_000), [600, 100]));
    const want = tf.tidy(() => tf.slice(source, [100, 0], [300, 100]).arraySync());
    const part = tf.slice(source, [100, 0], [300, 100]);
    source.dispose();
    churn(60_000);
    expect(part.arraySync()).toEqual(want);
    part.dispose();
  });

  it("in-place Adam refuses a parameter something else still sees (a clone)", () => {
    const p = tf.tensor1d(ramp(4000));
    const alias = tf.clone(p);
    const before = alias.dataSync().slice();
    const grad = tf.onesLike(p);
    const moments = adamInit(p);
    const [np, state] = adamUpdate(adamDefaults, [grad], moments, p, 1e-2, true);
    expect(Array.from(alias.dataSync())).toEqual(Array.from(before));
    expect((np as tf.Tensor).dataSync()[0]).toBeCloseTo(before[0]! - 1e-2, 5);
    tf.dispose([p, alias, grad, np as tf.Tensor, ...([moments.m, moments.v, state.m, state.v] as tf.Tensor[])]);
  });

  const spec = tinySpec;
  const start = (): TrainState => {
    const init = initTrainState(spec, makeKey(5));
    if (E.isLeft(init)) throw new Error(init.left.message);
    return init.right;
  };
  const pair = () => {
    const x = tf.tensor4d(ramp(16 * 16 * 3), [1, 16, 16, 3]);
    return { x, y: tf.tidy(() => tf.tanh(tf.mul(x, -0.7))) as tf.Tensor4D };
  };
  const valuesOf = (t: tf.Tensor) => backend.data.get(t.dataId).values;

  it("a donated step updates G's parameters and moments in place, D's never, and trains bit for bit as the pure one", () => {
    const run = (donate: boolean) => {
      let s = start();
      const batch = pair();
      const step = makeStep(spec, { donate });
      const inPlace: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const [n] = step(s, batch);
        const same = (a: tf.Tensor[], b: tf.Tensor[]) => a.every((t, j) => valuesOf(t) === valuesOf(b[j]!));
        inPlace.push(same(leaves(s.g.params), leaves(n.g.params)) && same(leaves((s.gOpt as { m: Tree }).m), leaves((n.gOpt as { m: Tree }).m)));
        expect(leaves(s.d.params).some((t, j) => valuesOf(t) === valuesOf(leaves(n.d.params)[j]!))).toBe(false);
        disposeReplaced(s, n);
        s = n;
      }
      const weights = [...flatten(s.g.params), ...flatten(s.d.params)].map(([, t]) => Array.from(t.dataSync()));
      disposeState(s);
      tf.dispose(batch);
      return { inPlace, weights };
    };
    const before = tf.memory().numTensors;
    const pure = run(false);
    const donated = run(true);
    expect(tf.memory().numTensors).toBe(before);
    expect(pure.inPlace).toEqual([false, false, false]);
    expect(donated.inPlace).toEqual([true, true, true]);
    expect(donated.weights).toEqual(pure.weights);
  });

  it('a donated step that diverges throws before touching the state it was given', () => {
    const s = start();
    const { x, y } = pair();
    const bad = tf.fill([1, 16, 16, 3], Number.NaN) as tf.Tensor4D;
    const snapshot = stateTensors(s).map((t) => Array.from(t.dataSync()));
    const before = tf.memory().numTensors;
    expect(() => makeStep(spec, { donate: true })(s, { x, y: bad })).toThrow(DivergedError);
    expect(tf.memory().numTensors).toBe(before);
    expect(stateTensors(s).map((t) => Array.from(t.dataSync()))).toEqual(snapshot);
    disposeState(s);
    tf.dispose([x, y, bad]);
  });
});
