// The pure step and the fold: Adam, the schedule, the losses, determinism,
// learning, divergence and memory.
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flatten, leaf, leaves, makeKey, patchDiscriminator, pointwise, seq, unet, withLeaves, zeros } from '../lib/node.ts';
import { foldIn } from '../lib/core/key.ts';
import { ganLoss } from '../lib/losses/gan.ts';
import { cgan, gan, l1, parseObjective, plus, showObjective, discriminatorChannels, type Objective } from '../lib/losses/objective.ts';
import { adamDefaults, adamInit, adamUpdate, type AdamState } from '../lib/optim/adam.ts';
import { linearDecay } from '../lib/optim/schedule.ts';
import { fit, FitError } from '../lib/train/fit.ts';
import { disposeReplaced, disposeState, initTrainState, stateTensors, type Batch, type TrainState } from '../lib/train/state.ts';
import { DivergedError, makeStep } from '../lib/train/step.ts';
import { useBackend } from '../lib/backend/index.ts';

describe('Adam', () => {
  it("matches PyTorch's arithmetic on scalars, step by step", () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -2, max: 2, noNaN: true }), { minLength: 1, maxLength: 6 }), (gs) => {
        const { lr, beta1, beta2, eps } = adamDefaults;
        let p = 0.3, m = 0, v = 0;
        let params: tf.Tensor = tf.scalar(0.3);
        let state = adamInit(params);
        gs.forEach((g, i) => {
          m = beta1 * m + (1 - beta1) * g;
          v = beta2 * v + (1 - beta2) * g * g;
          const t = i + 1;
          p -= (lr / (1 - beta1 ** t)) * (m / (Math.sqrt(v) / Math.sqrt(1 - beta2 ** t) + eps));
          const [np, ns] = adamUpdate(adamDefaults, [tf.scalar(g)], state, params);
          params = np as tf.Tensor;
          state = ns;
        });
        expect((params as tf.Tensor).dataSync()[0]).toBeCloseTo(p, 6);
        expect(state.count).toBe(gs.length);
      }),
      { numRuns: 30 },
    );
  });
});

describe('the learning-rate schedule', () => {
  it('is constant for `epochs`, then decays linearly towards 0 over `epochsDecay` (the reference)', () => {
    const f = linearDecay({ epochs: 100, epochsDecay: 100 });
    expect(f(0)).toBe(1);
    expect(f(99)).toBe(1);
    expect(f(100)).toBeCloseTo(1 - 1 / 101, 12);
    expect(f(199)).toBeCloseTo(1 / 101, 12);
    expect(f(250)).toBe(0);
  });
});

describe('losses and objectives', () => {
  it('vanilla GAN loss is the sigmoid cross-entropy, stable for large logits', () => {
    const logits = tf.tensor1d([-30, -1, 0, 2, 40]);
    const sig = (l: number) => 1 / (1 + Math.exp(-l));
    const real = [-30, -1, 0, 2, 40].map((l) => (l < -20 ? -l : -Math.log(sig(l))));
    const fake = [-30, -1, 0, 2, 40].map((l) => (l > 20 ? l : -Math.log(1 - sig(l))));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;
    expect(ganLoss('vanilla', logits, true).dataSync()[0]).toBeCloseTo(mean(real), 4);
    expect(ganLoss('vanilla', logits, false).dataSync()[0]).toBeCloseTo(mean(fake), 4);
    expect(ganLoss('lsgan', tf.tensor1d([0, 2]), true).dataSync()[0]).toBeCloseTo((1 + 1) / 2, 6);
  });

  it("the paper's ablations are one expression each, and parse from the CLI's names", () => {
    expect(showObjective(parseObjective('l1+cgan', 100))).toBe('100*l1 + cgan');
    const named = (o: Objective) => o.terms.map((t) => [t.name, t.weight, t.sees, t.ganMode]);
    expect(named(parseObjective('gan'))).toEqual(named(gan()));
    expect(named(parseObjective('l1:50+cgan+fm:10', 100, 'hinge'))).toEqual([['l1', 50, undefined, undefined], ['cgan', 1, 'pair', 'hinge'], ['fm', 10, 'any', undefined]]);
    expect(() => parseObjective('l1+fm')).toThrow(/feature matching reads the discriminator that an adversarial term \(cgan or gan\) trains/);
    expect(() => parseObjective('l1:-3+cgan')).toThrow(/the weight of 'l1' in 'l1:-3\+cgan' must be a positive number, got '-3'/);
    expect(() => parseObjective('l1+l1')).toThrow(/'l1' appears twice/);
    expect(() => plus(cgan(), gan())).toThrow(/at most one adversarial/);
    expect(() => parseObjective('l1+wgan')).toThrow(/unknown objective term 'wgan'/);
    expect(discriminatorChannels(plus(l1(), gan()), 3, 3)).toBe(3);
    expect(discriminatorChannels(plus(l1(), cgan()), 3, 3)).toBe(6);
  });
});

const size = 16;
const spec = (objective: Objective = plus(l1(100), cgan())) => ({
  generator: unet({ depth: 4, ngf: 4 }),
  discriminator: patchDiscriminator(16, { ndf: 4 }),
  objective,
  inputShape: [size, size, 3] as const,
  outChannels: 3,
});

const init = (objective?: Objective, seed = 0): TrainState => {
  const s = initTrainState(spec(objective), makeKey(seed));
  if (E.isLeft(s)) throw new Error(s.left.message);
  return s.right;
};

/** A fixed pair: y is a point-wise function of x, so there is something easy to learn. */
const pair = () =>
  tf.tidy(() => {
    const x = tf.tanh(tf.randomNormal([1, size, size, 3], 0, 1, 'float32', 11)) as tf.Tensor4D;
    return { x, y: tf.tanh(tf.add(tf.mul(x, -0.8), 0.3)) as tf.Tensor4D };
  });

async function* repeat(n: number, poison?: number): AsyncGenerator<Batch> {
  for (let i = 0; i < n; i++) {
    const { x, y } = pair();
    if (i === poison) {
      yield { x: tf.mul(x, NaN) as tf.Tensor4D, y, epoch: 0, index: i };
      x.dispose();
    }
    else yield { x, y, epoch: 0, index: i };
  }
}

const weights = (s: TrainState) => flatten(s.g.params).map(([p, t]) => [p, Array.from(t.dataSync())] as const);

describe('the training step and the fold', () => {
  it("is the reference's two updates: D on the detached fake, then G against the updated D", () => {
    const s = init();
    const { x, y } = pair();
    const [next] = makeStep(spec())(s, { x, y });
    // The same step written out the textbook way, with two G forwards.
    const want = tf.tidy(() => {
      const key = foldIn(s.key, s.step);
      const gCtx = { mode: 'train' as const, key: foldIn(key, 'G') };
      const dCtx = { mode: 'train' as const, key: foldIn(key, 'D') };
      const { generator: G, discriminator: D } = spec();
      const fake = G.apply(s.g.params, s.g.state, x, gCtx)[0];
      const dGrads = tf.grads((...ps: tf.Tensor[]) => {
        const p = withLeaves(s.d.params, ps);
        const real = D.apply(p, s.d.state, tf.concat([x, y], 3), dCtx)[0];
        const faked = D.apply(p, s.d.state, tf.concat([x, fake], 3), dCtx)[0];
        return tf.stack([ganLoss('vanilla', real, true), ganLoss('vanilla', faked, false)]);
      })(leaves(s.d.params), tf.tensor1d([0.5, 0.5]));
      const [dParams] = adamUpdate(adamDefaults, dGrads, s.dOpt as unknown as AdamState, s.d.params);
      const gGrads = tf.grads((...ps: tf.Tensor[]) => {
        const out = G.apply(withLeaves(s.g.params, ps), s.g.state, x, gCtx)[0];
        const diff = tf.sub(y, out);
        const adv = ganLoss('vanilla', D.apply(dParams, s.d.state, tf.concat([x, out], 3), dCtx)[0], true);
        return tf.stack([adv, tf.mean(tf.abs(diff)), tf.mean(tf.square(diff))]);
      })(leaves(s.g.params), tf.tensor1d([1, 100, 0]));
      const [gParams] = adamUpdate(adamDefaults, gGrads, s.gOpt as unknown as AdamState, s.g.params);
      return [...leaves(gParams), ...leaves(dParams)];
    });
    const got = [...leaves(next.g.params), ...leaves(next.d.params)];
    got.forEach((t, i) => expect(Array.from(t.dataSync()), `tensor ${i}`).toEqual(Array.from(want[i]!.dataSync())));
    tf.dispose([...want, x, y]);
    disposeReplaced(s, next);
    disposeState(next);
  });

  it('keeps the live tensor count flat over 30 steps', async () => {
    const start = init();
    const counts: number[] = [];
    const end = await fit(start, repeat(30), makeStep(spec()), { onStep: () => void counts.push(tf.memory().numTensors) });
    expect(end.step).toBe(30);
    expect(new Set(counts.slice(1)).size).toBe(1);
    disposeState(end);
  });

  it('is deterministic: the same seed and data give identical weights; another seed does not', async () => {
    const run = async (seed: number) => {
      const end = await fit(init(undefined, seed), repeat(3), makeStep(spec()));
      const w = weights(end);
      disposeState(end);
      return w;
    };
    const a = await run(1);
    expect(await run(1)).toEqual(a);
    expect(await run(2)).not.toEqual(a);
  });

  it('is deterministic on wasm too (with its training kernels)', async () => {
    await useBackend('wasm', { quiet: true });
    try {
      const run = async () => {
        const end = await fit(init(undefined, 1), repeat(3), makeStep(spec()));
        const w = weights(end);
        disposeState(end);
        return w;
      };
      expect(await run()).toEqual(await run());
    } finally {
      await useBackend('cpu', { quiet: true });
    }
  });

  it('learns: L1 to the target falls on a fixed pair', async () => {
    const losses: number[] = [];
    // A higher learning rate than the paper's, so a few steps show it.
    const fast = { ...spec(), adam: { ...adamDefaults, lr: 2e-3 } };
    const end = await fit(init(), repeat(25), makeStep(fast), { onStep: (_s, m) => void losses.push(m['L1']!) });
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.8);
    disposeState(end);
  });

  it("reports each term's losses by name (D's parts, G's terms, the L1 monitor, the rates); with L1 alone there is no D to train", async () => {
    let seen: Record<string, number> = {};
    const withD = await fit(init(), repeat(1), makeStep(spec()), { onStep: (_s, m) => void (seen = { ...m }) });
    expect(Object.keys(seen).sort()).toEqual(['D/cgan/fake', 'D/cgan/real', 'G/cgan', 'G/l1', 'L1', 'lr', 'lrD']);
    // At init D outputs ~0 logits: each cross-entropy is near log 2.
    expect(seen['D/cgan/real']).toBeGreaterThan(0.4);
    expect(seen['D/cgan/real']).toBeLessThan(1);
    expect(seen['G/l1']).toBe(seen['L1']);
    disposeState(withD);
    const alone = init(l1(100));
    expect(leaves(alone.d.params)).toHaveLength(0);
    const end = await fit(alone, repeat(2), makeStep(spec(l1(100))), { onStep: (_s, m) => void (seen = { ...m }) });
    expect(Object.keys(seen).sort()).toEqual(['G/l1', 'L1', 'lr']);
    disposeState(end);
  });

  it('a NaN loss stops the fold with the last good state intact', async () => {
    const start = init();
    let last: TrainState | undefined;
    const error = await fit(start, repeat(5, 3), makeStep(spec()), { onStep: (s) => void (last = s) }).catch((e) => e);
    expect(error).toBeInstanceOf(FitError);
    expect((error as FitError).cause).toBeInstanceOf(DivergedError);
    expect((error as FitError).message).toMatch(/diverged at step 4:/); // steps 1-3 done, as the log would show
    const good = (error as FitError).state;
    expect(good).toBe(last);
    expect(good.step).toBe(3);
    expect(stateTensors(good).every((t) => !t.isDisposed)).toBe(true);
    expect(Number.isFinite(stateTensors(good)[0]!.dataSync()[0])).toBe(true);
    disposeState(good);
  });

  it('a diverging step frees only what it made: state a layer passed through stays alive', () => {
    // G = a stateful layer that returns its state as it was, then the usual U-Net.
    const passThrough = leaf({
      name: 'counter',
      geom: pointwise,
      output: (sh) => E.right(sh),
      state: () => ({ seen: zeros([1]) }),
      apply: (_p, st, x) => [x, st] as const,
    });
    const base = spec();
    const withState = { ...base, generator: seq(passThrough, base.generator) };
    const init = initTrainState(withState, makeKey(0));
    if (E.isLeft(init)) throw new Error(init.left.message);
    const s = init.right;
    const { x, y } = pair();
    const bad = tf.mul(x, NaN) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    expect(() => makeStep(withState, { donate: true })(s, { x: bad, y })).toThrow(DivergedError);
    expect(tf.memory().numTensors).toBe(before);
    expect(stateTensors(s).every((t) => !t.isDisposed)).toBe(true);
    disposeState(s);
    tf.dispose([x, y, bad]);
  });

  it('checks shapes before allocating: G must return the target shape', () => {
    const before = tf.memory().numTensors;
    const bad = initTrainState({ ...spec(), outChannels: 1 }, makeKey(0));
    expect(E.isLeft(bad) && bad.left.message).toMatch(/output 16x16x3 should be 16x16x1/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
