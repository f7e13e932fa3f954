// Test-time behaviour is a named choice; randomness comes from explicit keys;
// nothing leaks tensors.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  disposeTree,
  dropout,
  flatten,
  foldIn,
  leaves,
  makeKey,
  norm,
  patchDiscriminator,
  split,
  unet,
  type Ctx,
  type Layer,
  withLeaves,
  type Tree,
} from '../lib/node.ts';

const run = (layer: Layer, params: Tree, state: Tree, x: tf.Tensor4D, ctx: Ctx) =>
  tf.tidy(() => layer.apply(params, state, x, ctx)[0]);

const same = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('keys', () => {
  it('split and foldIn are deterministic and give distinct keys', () => {
    const k = makeKey(42);
    expect(split(k, 3)).toEqual(split(makeKey(42), 3));
    expect(new Set(split(k, 100).map((x) => x.join(','))).size).toBe(100);
    expect(foldIn(k, 'w')).not.toEqual(foldIn(k, 'b'));
  });

  it('the same key initialises identical parameters, another key different ones', () => {
    const net = patchDiscriminator(16, { ndf: 4 });
    const a = net.init(makeKey(1), [16, 16, 6]);
    const b = net.init(makeKey(1), [16, 16, 6]);
    const c = net.init(makeKey(2), [16, 16, 6]);
    const pa = flatten(a.params);
    flatten(b.params).forEach(([path, t], i) => {
      expect(path).toBe(pa[i]![0]);
      expect(same(t, pa[i]![1])).toBe(0);
    });
    const differences = flatten(c.params).map(([, t], i) => same(t, pa[i]![1]));
    expect(Math.max(...differences)).toBeGreaterThan(0);
    [a, b, c].forEach((m) => disposeTree(m.params));
  });
});

describe('modes', () => {
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;

  it("dropout: on in 'train' and 'paper' (same key, same mask), off in 'eval'", () => {
    const d = dropout(0.5);
    const ones = tf.ones([1, 64, 64, 1]) as tf.Tensor4D;
    const k = makeKey(9);
    const a = run(d, {}, {}, ones, { mode: 'paper', key: k });
    const b = run(d, {}, {}, ones, { mode: 'paper', key: k });
    const c = run(d, {}, {}, ones, { mode: 'train', key: foldIn(k, 1) });
    expect(same(a, b)).toBe(0);
    expect(same(a, c)).toBeGreaterThan(0);
    // rate = probability of dropping; kept units scaled by 1 / (1 - rate).
    const kept = tf.tidy(() => tf.mean(tf.cast(tf.greater(a, 0), 'float32')).dataSync()[0]!);
    expect(kept).toBeGreaterThan(0.45);
    expect(kept).toBeLessThan(0.55);
    expect(tf.max(a).dataSync()[0]).toBeCloseTo(2, 5);
    expect(same(run(d, {}, {}, ones, { mode: 'eval', key: k }), ones)).toBe(0);
  });

  it('batch norm normalises each channel over the batch; instance norm each example', () => {
    const check = (kind: 'batch' | 'instance', axes: number[]) => {
      const n = norm(kind);
      const made = n.init(makeKey(0), [8, 8, 3]);
      const y = run(n, made.params, made.state, x, { mode: 'paper', key: makeKey(0) });
      const gamma = made.params && 'gamma' in (made.params as object) ? (made.params as any).gamma : tf.ones([3]);
      const { mean, variance } = tf.moments(tf.div(y, gamma), axes);
      expect(Math.max(...Array.from(tf.abs(mean).dataSync()))).toBeLessThan(1e-5);
      Array.from(variance.dataSync()).forEach((v) => expect(v).toBeCloseTo(1, 3));
      disposeTree(made.params);
    };
    check('batch', [0, 1, 2]);
    check('instance', [1, 2]);
  });

  it("eval mode needs running statistics, which exist only when asked for", () => {
    const plain = norm('batch');
    const made = plain.init(makeKey(0), [8, 8, 3]);
    expect(leaves(made.state)).toHaveLength(0);
    expect(() => run(plain, made.params, made.state, x, { mode: 'eval', key: makeKey(0) })).toThrow(/trackRunningStats/);

    const tracked = norm('batch', { trackRunningStats: true });
    const t = tracked.init(makeKey(0), [8, 8, 3]);
    const [, s1] = tracked.apply(t.params, t.state, x, { mode: 'train', key: makeKey(0) });
    // One train step moves the running mean 10% of the way to the batch mean.
    const batchMean = tf.moments(x, [0, 1, 2]).mean;
    const running = (s1 as any).mean as tf.Tensor;
    expect(same(running, tf.mul(batchMean, 0.1))).toBeLessThan(1e-6);
    const [, s2] = tracked.apply(t.params, t.state, x, { mode: 'paper', key: makeKey(0) });
    expect(s2).toBe(t.state);
    const e1 = run(tracked, t.params, s1, x, { mode: 'eval', key: makeKey(0) });
    const e2 = run(tracked, t.params, s1, x, { mode: 'eval', key: makeKey(0) });
    expect(same(e1, e2)).toBe(0);
  });

  it("a U-Net in 'paper' mode is stochastic through dropout, in 'eval' mode deterministic", () => {
    const g = unet({ depth: 6, ngf: 2, trackRunningStats: true });
    const made = g.init(makeKey(3), [64, 64, 3]);
    const input = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const p1 = run(g, made.params, made.state, input, { mode: 'paper', key: makeKey(1) });
    const p2 = run(g, made.params, made.state, input, { mode: 'paper', key: makeKey(2) });
    const p1again = run(g, made.params, made.state, input, { mode: 'paper', key: makeKey(1) });
    expect(same(p1, p2)).toBeGreaterThan(0);
    expect(same(p1, p1again)).toBe(0);
    const e1 = run(g, made.params, made.state, input, { mode: 'eval', key: makeKey(1) });
    const e2 = run(g, made.params, made.state, input, { mode: 'eval', key: makeKey(2) });
    expect(same(e1, e2)).toBe(0);
    tf.dispose([p1, p2, p1again, e1, e2, input]);
    disposeTree(made.params);
    disposeTree(made.state);
  });
});

describe('memory', () => {
  it('the live tensor count does not grow over repeated apply and gradient calls', () => {
    const g = unet({ depth: 4, ngf: 4 });
    const d = patchDiscriminator(16, { ndf: 4 });
    const gm = g.init(makeKey(0), [16, 16, 3]);
    const dm = d.init(makeKey(1), [16, 16, 6]);
    const x = tf.randomNormal([1, 16, 16, 3]) as tf.Tensor4D;
    const gLeaves = leaves(gm.params);
    const dLeaves = leaves(dm.params);
    const step = (i: number) => {
      const grads = tf.grads((...ps: tf.Tensor[]) => {
        const ctx = { mode: 'train' as const, key: makeKey(i) };
        const [y] = g.apply(withLeaves(gm.params, ps.slice(0, gLeaves.length)), gm.state, x, ctx);
        const [logits] = d.apply(withLeaves(dm.params, ps.slice(gLeaves.length)), dm.state, tf.concat([x, y], 3) as tf.Tensor4D, ctx);
        return tf.mean(logits) as tf.Scalar;
      })([...gLeaves, ...dLeaves]);
      expect(grads).toHaveLength(gLeaves.length + dLeaves.length);
      tf.dispose(grads);
      tf.dispose(run(g, gm.params, gm.state, x, { mode: 'paper', key: makeKey(i) }));
    };
    step(0);
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 5; i++) step(i);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    disposeTree(gm.params);
    disposeTree(dm.params);
  });
});
