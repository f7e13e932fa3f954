// Groupwise layers and D's paired pass (lib/train/critique.ts): a batch of
// blocks against each block applied alone, and the paired training step
// against the two-pass one.
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import {
  cgan, concat, conv, dropout, identity, initTrainState, l1, leaf, leaves, makeKey, makeStep, merge, norm, parallel, patchDiscriminator, plus, pointwise,
  relu, seq, skip, unet, withLeaves, type Layer,
} from '../lib/node.ts';
import { disposeState, stateTensors } from '../lib/train/state.ts';
import { canPair, critique, pairedCritique } from '../lib/train/critique.ts';
import { onNativeBackend, skipNative } from './helpers/native.ts';

const ctx = { mode: 'train' as const, key: makeKey(9) };
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const scaleOf = (t: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]!);

describe('groupwise layers', () => {
  it("the paper's discriminators are groupwise; dropout, a norm keeping running statistics, a user's leaf and a user's merge are not", () => {
    for (const patch of [1, 16, 70, 286]) {
      expect(patchDiscriminator(patch).groupwise, `patch ${patch}`).toBe(true);
      expect(patchDiscriminator(patch, { norm: 'instance' }).groupwise, `patch ${patch}, instance norm`).toBe(true);
      expect(patchDiscriminator(patch, { trackRunningStats: true }).groupwise, `patch ${patch}, running statistics`).toBeUndefined();
    }
    expect(seq(conv(4, 3), relu(), skip(seq(conv(4, 3), norm('batch')))).groupwise).toBe(true);
    expect(seq(conv(4, 3), dropout(0.5)).groupwise).toBeUndefined();
    expect(unet({ depth: 6, ngf: 4 }).groupwise).toBeUndefined(); // the dropout of its inner decoder levels
    const mine = leaf({ name: 'mine', geom: pointwise, output: (s) => E.right(s), apply: (_p, _s, x) => x });
    expect(seq(conv(4, 3), mine).groupwise).toBeUndefined();
    const mixing = merge('batch mean', (shapes) => E.right(shapes[0]!), (ys) => tf.mean(ys[0]!, 0, true).tile([ys[0]!.shape[0], 1, 1, 1]) as tf.Tensor4D);
    expect(parallel(mixing, identity(), conv(3, 3)).groupwise).toBeUndefined();
    expect(parallel(concat, identity(), conv(3, 3)).groupwise).toBe(true);
  });

  for (const backend of ['cpu', 'native'] as const) {
    describe.skipIf(backend === 'native' && skipNative)(`on ${backend}`, () => {
      if (backend === 'native') onNativeBackend();

      it('batch norm with ctx.groups = 2 takes statistics per block: each block as normalised alone (1 and 2 examples a block), and the gradient too', () => {
        const layer = norm('batch');
        const made = layer.init(makeKey(1), [5, 7, 6]);
        const gamma = tf.randomNormal([6], 1, 0.3, 'float32', 3), beta = tf.randomNormal([6], 0, 0.3, 'float32', 4);
        const params = { gamma, beta };
        for (const n of [1, 2]) {
          const a = tf.randomNormal([n, 5, 7, 6], 1, 2, 'float32', 5) as tf.Tensor4D;
          const b = tf.randomNormal([n, 5, 7, 6], -3, 0.5, 'float32', 6) as tf.Tensor4D;
          const [both] = layer.apply(params, made.state, tf.concat([a, b], 0) as tf.Tensor4D, { ...ctx, groups: 2 });
          const alone = tf.concat([layer.apply(params, made.state, a, ctx)[0], layer.apply(params, made.state, b, ctx)[0]], 0);
          expect(maxDiff(both, alone), `${n} a block`).toBeLessThan(1e-5);
          // Without the blocks the statistics mix them: the oracle above is not a tautology.
          expect(maxDiff(layer.apply(params, made.state, tf.concat([a, b], 0) as tf.Tensor4D, ctx)[0], alone), `${n} a block, one group`).toBeGreaterThan(0.1);
          const loss = (f: (x: tf.Tensor4D) => tf.Tensor) => tf.grads((x: tf.Tensor, g: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor4D), tf.sin(x))).mul(g.sum()))([tf.concat([a, b], 0), gamma]);
          const gBoth = loss((x) => layer.apply({ gamma, beta }, made.state, x, { ...ctx, groups: 2 })[0]);
          const gAlone = loss((x) => { const [xa, xb] = tf.split(x, 2, 0) as tf.Tensor4D[]; return tf.concat([layer.apply(params, made.state, xa!, ctx)[0], layer.apply(params, made.state, xb!, ctx)[0]], 0); });
          gBoth.forEach((g, i) => expect(maxDiff(g, gAlone[i]!) / Math.max(1, scaleOf(gAlone[i]!)), `${n} a block, gradient ${i}`).toBeLessThan(1e-5));
          tf.dispose([a, b, both, alone, ...gBoth, ...gAlone]);
        }
        tf.dispose([gamma, beta]);
      });

      it("pairedCritique: each pair's logits and features are D's on that pair alone, and D's gradient is the two passes' within float rounding", () => {
        const D = patchDiscriminator(16, { ndf: 8 });
        const { params, state } = D.init(makeKey(2), [16, 16, 6]);
        const real = tf.randomUniform([1, 16, 16, 6], -1, 1, 'float32', 7) as tf.Tensor4D;
        const fake = tf.randomUniform([1, 16, 16, 6], -1, 1, 'float32', 8) as tf.Tensor4D;
        expect(canPair(D, real, fake)).toBe(true);
        expect(canPair(D, real, tf.concat([fake, fake], 0) as tf.Tensor4D)).toBe(false);
        const paired = pairedCritique(D, params, state, real, fake, ctx);
        const alone = { real: critique(D, params, state, real, ctx), fake: critique(D, params, state, fake, ctx) };
        for (const side of ['real', 'fake'] as const) {
          expect(paired[side].logits.shape).toEqual(alone[side].logits.shape);
          expect(maxDiff(paired[side].logits, alone[side].logits), `${side} logits`).toBeLessThan(1e-5);
          expect(paired[side].features.length).toBe(alone[side].features.length);
          paired[side].features.forEach((f, i) => expect(maxDiff(f, alone[side].features[i]!) / Math.max(1, scaleOf(f)), `${side} feature ${i}`).toBeLessThan(1e-5));
        }
        const dLoss = (two: boolean) => (...ps: tf.Tensor[]) => {
          const p = withLeaves(params, ps);
          const c = two ? { real: critique(D, p, state, real, ctx), fake: critique(D, p, state, fake, ctx) } : pairedCritique(D, p, state, real, fake, ctx);
          return tf.add(tf.mean(tf.square(tf.sub(c.real.logits, 1))), tf.mean(tf.square(c.fake.logits))) as tf.Scalar;
        };
        const g2 = tf.grads(dLoss(true))(leaves(params));
        const g1 = tf.grads(dLoss(false))(leaves(params));
        g1.forEach((g, i) => expect(maxDiff(g, g2[i]!) / Math.max(1e-3, scaleOf(g2[i]!)), `gradient ${i}`).toBeLessThan(1e-4));
        tf.dispose([real, fake, ...g1, ...g2]);
      });

      it('a training step with the pairs batched (the default) is the two-pass step within 1e-4: the same losses, every state tensor; a D with dropout is not paired and gives its bits', () => {
        const spec = (D: Layer) => ({ generator: unet({ depth: 4, ngf: 4 }), discriminator: D, objective: plus(l1(100), cgan()), inputShape: [16, 16, 3] as const, outChannels: 3 });
        const x = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
        const y = tf.randomUniform([1, 16, 16, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
        const run = (D: Layer, batchPairs: boolean | undefined) => {
          const s = initTrainState(spec(D), makeKey(4));
          if (E.isLeft(s)) throw new Error(s.left.message);
          const [next, metrics] = makeStep(spec(D), batchPairs === undefined ? {} : { batchPairs })(s.right, { x, y });
          const values = stateTensors(next).map((t) => t.dataSync().slice() as Float32Array);
          disposeState(s.right);
          disposeState(next);
          return { values, metrics };
        };
        const D = patchDiscriminator(16, { ndf: 4 });
        const [two, paired] = [run(D, false), run(D, undefined)];
        for (const [name, v] of Object.entries(two.metrics)) expect(Math.abs(paired.metrics[name]! - v), name).toBeLessThan(1e-6 * Math.max(1, Math.abs(v)));
        let differs = 0;
        two.values.forEach((v, i) => {
          const w = paired.values[i]!;
          let worst = 0, scale = 0;
          for (let k = 0; k < v.length; k++) (worst = Math.max(worst, Math.abs(v[k]! - w[k]!))), (scale = Math.max(scale, Math.abs(v[k]!)));
          if (worst > 0) differs++;
          expect(worst / Math.max(1, scale), `state tensor ${i}`).toBeLessThan(1e-4);
        });
        // D's weight gradients are summed in another order: the step did change (the test compares two different computations).
        expect(differs).toBeGreaterThan(0);
        const dropping = seq(D, dropout(0.5));
        const [a, b] = [run(dropping, false), run(dropping, true)];
        a.values.forEach((v, i) => expect(Buffer.from(v.buffer).equals(Buffer.from(b.values[i]!.buffer)), `dropout D, state tensor ${i}`).toBe(true));
        tf.dispose([x, y]);
      });
    });
  }
});
