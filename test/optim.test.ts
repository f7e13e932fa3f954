// Gradient transformations (optax's shape) against PyTorch's arithmetic
// written out on scalars, closed forms, and their composition by hand.
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  adam, adamDefaults, adamInit, adamUpdate, applyGradients, chain, clipByGlobalNorm, cosineDecay, leaves, linearDecay, scaleBySchedule, sgd,
  type AdamState, type OptState, type Tree,
} from '../lib/node.ts';
import { useBackend } from '../lib/backend/index.ts';
import { skipNative } from './helpers/native.ts';

const at = (step: number, epoch = 0) => ({ step, epoch });
const scalars = fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 6 });

describe('sgd', () => {
  it("matches PyTorch's SGD with momentum (and Nesterov) step by step", () => {
    fc.assert(
      fc.property(scalars, fc.boolean(), (gs, nesterov) => {
        const lr = 0.1, mu = 0.9;
        let p = 0.3, buf = 0;
        let params: Tree = tf.scalar(0.3);
        const opt = sgd({ lr, momentum: mu, nesterov });
        let state: OptState = opt.init(params);
        gs.forEach((g, i) => {
          buf = i === 0 ? g : mu * buf + g;
          p -= lr * (nesterov ? g + mu * buf : buf);
          const [np, ns] = applyGradients(opt, tf.scalar(g), state, params, at(i));
          params = np;
          state = ns;
        });
        expect((params as tf.Tensor).dataSync()[0]).toBeCloseTo(p, 5);
      }),
      { numRuns: 30 },
    );
  });
});

describe('clipByGlobalNorm', () => {
  it('scales every gradient by min(1, bound / (global norm + 1e-6)), as clip_grad_norm_ does', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -3, max: 3, noNaN: true }), { minLength: 2, maxLength: 8 }), fc.float({ min: Math.fround(0.1), max: 5, noNaN: true }), (vs, bound) => {
        const norm = Math.sqrt(vs.reduce((a, v) => a + v * v, 0));
        const k = Math.min(1, bound / (norm + 1e-6));
        const grads = [tf.tensor1d(vs.slice(0, 1)), tf.tensor1d(vs.slice(1))];
        const [out] = clipByGlobalNorm(bound).update(grads, {}, grads, at(0));
        const got = leaves(out).flatMap((t) => Array.from(t.dataSync()));
        got.forEach((g, i) => expect(g).toBeCloseTo(vs[i]! * k, 5));
        tf.dispose([...grads, ...leaves(out)]);
      }),
      { numRuns: 40 },
    );
  });

  it('leaves gradients within the bound bit for bit', () => {
    const g = tf.tensor1d([0.3, -0.4]);
    const [out] = clipByGlobalNorm(1).update([g], {}, [g], at(0));
    expect(Array.from(leaves(out)[0]!.dataSync())).toEqual(Array.from(g.dataSync()));
  });
});

describe('chain', () => {
    afterAll(async () => void (await useBackend('cpu', { quiet: true })));

  it.each(['cpu', ...(skipNative ? [] : ['native' as const])] as const)(
    'chain(clipByGlobalNorm(0.5), adam()) on %s equals clipping by hand, then adamUpdate (the fused kernel on native)',
    async (backend) => {
      await useBackend(backend, { quiet: true });
      const params = [tf.tensor1d([0.1, -0.2, 0.3]), tf.tensor2d([[1, 2], [3, 4]])];
      const grads = [tf.tensor1d([2, -1, 0.5]), tf.tensor2d([[0.1, -0.3], [0.2, 0.4]])];
      const opt = chain(clipByGlobalNorm(0.5), adam());
      let state = opt.init(params);
      let p: Tree = params;
      let byHand: Tree = params;
      let handState: AdamState = adamInit(params);
      for (let i = 0; i < 3; i++) {
        [p, state] = applyGradients(opt, grads, state, p, at(i));
        const norm = Math.sqrt(grads.reduce((a, g) => a + tf.sum(tf.square(g)).dataSync()[0]!, 0));
        const clipped = grads.map((g) => tf.mul(g, Math.min(1, 0.5 / (norm + 1e-6))));
        [byHand, handState] = adamUpdate(adamDefaults, clipped, handState, byHand);
      }
      leaves(p).forEach((t, i) => expect(Array.from(t.dataSync())).toEqual(Array.from(leaves(byHand)[i]!.dataSync())));
      expect(((state as OptState[])[1] as unknown as AdamState).count).toBe(3);
      await useBackend('cpu', { quiet: true });
    },
  );

  it('uses the last learning rate it finds for logs; scaleBySchedule multiplies the updates', () => {
    expect(chain(clipByGlobalNorm(1), adam({ lr: 3e-4 })).lr!(at(0))).toBe(3e-4);
    const g = [tf.tensor1d([1, -2])];
    const [u] = scaleBySchedule(() => 0.25).update(g, {}, g, at(0));
    expect(Array.from(leaves(u)[0]!.dataSync())).toEqual([0.25, -0.5]);
  });
});

describe('adam as a transformation', () => {
  it('its update (composed ops) and its apply (fused where there is a kernel) give the same step', () => {
    const params = [tf.tensor1d([0.5, -1.5, 2])];
    const grads = [tf.tensor1d([0.2, 0.1, -0.7])];
    const a = adam({ lr: 1e-2, schedule: linearDecay({ epochs: 1, epochsDecay: 3 }) });
    const [updates] = a.update(grads, a.init(params), params, at(0, 2));
    const [applied] = a.apply!(grads, a.init(params), params, at(0, 2));
    const viaUpdate = tf.add(params[0]!, leaves(updates)[0]!).dataSync();
    Array.from(leaves(applied)[0]!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(viaUpdate[i]!, 6));
    // Epoch 2 of 1 + 3 decaying: lr * (1 - 2/4).
    expect(a.lr!(at(0, 2))).toBeCloseTo(1e-2 * 0.5, 12);
  });

  it('rejects settings outside their ranges, naming them', () => {
    expect(() => adam({ beta1: 1 })).toThrow(/adam: beta1 1 is out of range/);
    expect(() => sgd({ lr: 0 })).toThrow(/sgd: lr must be a positive number, got 0/);
    expect(() => clipByGlobalNorm(-1)).toThrow(/the bound must be a positive number, got -1/);
  });
});

describe('schedules', () => {
  it('cosineDecay goes from 1 to its floor over `steps` as (1 + cos(pi t / T)) / 2, then stays', () => {
    const f = cosineDecay({ steps: 100, floor: 0.1 });
    expect(f(0, 0)).toBe(1);
    expect(f(0, 50)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    expect(f(0, 100)).toBeCloseTo(0.1, 12);
    expect(f(0, 500)).toBeCloseTo(0.1, 12);
  });
});
