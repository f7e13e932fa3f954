// The webgpu backend in Node (Dawn; SwiftShader's Vulkan in tests): the
// library's step there equals the stock cpu backend's (the oracle) to ~1e-4,
// for the paper's U-Net + PatchGAN and for a ResNet + 2-scale D with feature
// matching; memory stays flat; WebGPU's silent validation errors are caught.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cgan, disposeReplaced, disposeState, featureMatching, flatten, initTrainState, l1, makeAsyncStep, makeKey, makeStep,
  multiscaleDiscriminator, patchDiscriminator, plus, resnetGenerator, unet, withGanMode, type Pix2PixSpec, type TrainState,
} from '../lib/index.ts';
import { addN } from '../lib/ops/add-n.ts';
import { BackendError, checkBackend, useBackend } from '../lib/backend/index.ts';
import { seededValues } from './helpers/conv-cases.ts';
import { runCli } from './helpers/run-cli.ts';
import { FACADES, scratch, tinyTrain } from './helpers/tiny-run.ts';
import { readBytes } from '../lib/data/image.ts';
import { weightDiff } from './helpers/weight-diff.ts';
import { skipWebgpu, webgpuProbe } from './helpers/webgpu.ts';

interface Run {
  readonly losses: number[];
  readonly weights: Array<[string, Float32Array]>;
  readonly tensors: number[];
}

/** Three steps of `spec` on the active backend from key 5 and fixed pairs (the async step: webgpu cannot read synchronously). */
const threeSteps = async (spec: Pix2PixSpec, n = 32): Promise<Run> => {
  const init = initTrainState(spec, makeKey(5));
  if (E.isLeft(init)) throw new Error(init.left.message);
  let s: TrainState = init.right;
  const step = makeAsyncStep(spec);
  const losses: number[] = [];
  const tensors: number[] = [];
  for (let i = 0; i < 3; i++) {
    const x = tf.tensor4d(seededValues(40 + i, n * n * 3), [1, n, n, 3]);
    const y = tf.tidy(() => tf.tanh(tf.mul(x, -0.8))) as tf.Tensor4D;
    const [next, m] = await step(s, { x, y });
    tf.dispose([x, y]);
    disposeReplaced(s, next);
    s = next;
    losses.push(...Object.entries(m).filter(([k]) => k.startsWith('G/') || k.startsWith('D/')).sort().map(([, v]) => v));
    tensors.push(tf.memory().numTensors);
  }
  const weights: Array<[string, Float32Array]> = [];
  for (const [net, tree] of [['g', s.g.params], ['d', s.d.params]] as const)
    for (const [path, t] of flatten(tree)) weights.push([`${net}/${path}`, (await t.data()) as Float32Array]);
  disposeState(s);
  return { losses, weights, tensors };
};

/** The largest difference relative to the tensor's own scale (max |cpu|, at least 1e-3). */
const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let d = 0;
  let scale = 1e-3;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return d / scale;
};

const SPECS: Record<string, Pix2PixSpec> = {
  'U-Net (depth 5) + 70x70 PatchGAN, L1 + cGAN': {
    generator: unet({ depth: 5, ngf: 8 }),
    discriminator: patchDiscriminator(70, { ndf: 8 }),
    objective: plus(l1(100), cgan()),
    inputShape: [32, 32, 3],
    outChannels: 3,
  },
  'ResNet (2 blocks) + 2-scale 34x34 PatchGAN, L1 + LSGAN + feature matching': {
    generator: resnetGenerator({ blocks: 2, ngf: 8 }),
    discriminator: [...multiscaleDiscriminator(2, patchDiscriminator(34, { ndf: 8 }))],
    objective: withGanMode(plus(l1(10), cgan(), featureMatching(10)), 'lsgan'),
    inputShape: [32, 32, 3],
    outChannels: 3,
  },
};

describe.skipIf(skipWebgpu)(`webgpu in Node (${'adapter' in webgpuProbe ? `${webgpuProbe.adapter.vendor} ${webgpuProbe.adapter.architecture}` : 'no adapter'})`, () => {
  afterAll(async () => {
    await tf.setBackend('cpu');
  });

  for (const [name, spec] of Object.entries(SPECS)) {
    it(`three steps of ${name} equal the cpu backend's: losses within 1e-4 relative, weights within 1e-4 but for Adam's sign flips; the tensor count is flat`, async () => {
      await tf.setBackend('cpu');
      const want = await threeSteps(spec);
      const info = await useBackend('webgpu', { quiet: true });
      expect(info.name).toBe('webgpu');
      expect(tf.getBackend()).toBe('webgpu');
      const got = await threeSteps(spec);
      checkBackend(name); // no WebGPU error along the way
      expect(got.losses.length).toBe(want.losses.length);
      expect(got.losses.length).toBeGreaterThanOrEqual(12);
      expect(relDiff(got.losses, want.losses)).toBeLessThan(1e-4);
      expect(got.weights.map(([p]) => p)).toEqual(want.weights.map(([p]) => p));
      // Weights: Adam moves a weight by about ±lr whatever its gradient's size, so an element
      // whose gradient is ~0 may step the other way on another backend's rounding. All but
      // 1 in 1000 elements agree within 1e-4 of their tensor's scale, none differs by more
      // than Adam's 3 steps of 2 lr, and all of G and D together within 1e-4 (relative L2).
      const { relL2, worst, off, count } = weightDiff(got.weights, want.weights);
      expect(off).toBeLessThanOrEqual(count / 1000);
      expect(worst).toBeLessThanOrEqual(3 * 2 * 2e-4);
      expect(relL2).toBeLessThan(1e-4);
      expect(got.tensors[2]).toBe(got.tensors[1]);
      await tf.setBackend('cpu');
    });
  }

  it('GPU memory is released: after a run is disposed, the bytes in GPU tensors are back where they were', async () => {
    await useBackend('webgpu', { quiet: true });
    const before = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    const tensorsBefore = before.numTensors;
    await threeSteps(Object.values(SPECS)[0]!);
    const after = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    expect(after.numTensors).toBe(tensorsBefore);
    expect(typeof after.numBytesInGPU).toBe('number');
    expect(after.numBytesInGPU).toBe(before.numBytesInGPU);
    await tf.setBackend('cpu');
  });

  it("tf.js's AddN of 10 inputs fails silently on webgpu (Dawn's limit of 8 storage buffers): checkBackend names it, and the library's addN sums right", async () => {
    await useBackend('webgpu', { quiet: true });
    checkBackend('before');
    const ts = Array.from({ length: 10 }, (_, i) => tf.fill([4], i + 1));
    const ours = addN(ts);
    expect(Array.from(await ours.data())).toEqual([55, 55, 55, 55]);
    checkBackend('the library addN'); // no error from the chunked sum
    const raw = tf.addN(ts);
    await raw.data();
    await new Promise((r) => setTimeout(r, 50)); // errors arrive as events
    expect(() => checkBackend('raw AddN')).toThrow(BackendError);
    tf.dispose([...ts, ours, raw]);
    await tf.setBackend('cpu');
  });

  it('makeStep on webgpu: an error that says to use makeAsyncStep, and no tensor left behind', async () => {
    await useBackend('webgpu', { quiet: true });
    const spec = Object.values(SPECS)[0]!;
    const init = initTrainState(spec, makeKey(5));
    if (E.isLeft(init)) throw new Error(init.left.message);
    const x = tf.tensor4d(seededValues(40, 32 * 32 * 3), [1, 32, 32, 3]);
    const before = tf.memory().numTensors;
    expect(() => makeStep(spec)(init.right, { x, y: x })).toThrow(/makeStep reads its losses synchronously, which the webgpu backend cannot do outside a browser page .*: use makeAsyncStep/);
    expect(tf.memory().numTensors).toBe(before);
    disposeState(init.right);
    x.dispose();
    await tf.setBackend('cpu');
  });

  it('the sync and async steps give the same bits (on cpu)', async () => {
    await tf.setBackend('cpu');
    const spec = Object.values(SPECS)[0]!;
    const a = await threeSteps(spec);
    const init = initTrainState(spec, makeKey(5));
    if (E.isLeft(init)) throw new Error(init.left.message);
    let s = init.right;
    const step = makeStep(spec);
    for (let i = 0; i < 3; i++) {
      const x = tf.tensor4d(seededValues(40 + i, 32 * 32 * 3), [1, 32, 32, 3]);
      const y = tf.tidy(() => tf.tanh(tf.mul(x, -0.8))) as tf.Tensor4D;
      const [next] = step(s, { x, y });
      tf.dispose([x, y]);
      disposeReplaced(s, next);
      s = next;
    }
    const b = [...flatten(s.g.params), ...flatten(s.d.params)].map(([, t]) => Array.from(t.dataSync()));
    disposeState(s);
    expect(b).toEqual(a.weights.map(([, w]) => Array.from(w)));
  });

  it('train, translate and eval through the CLI on webgpu; its translation equals the cpu backend\'s (8-bit within 1)', async () => {
    const root = scratch('webgpu');
    const run = join(root, 'run');
    const t = await runCli(...tinyTrain(), '--backend', 'webgpu', '--steps', '3', '--out', run);
    expect(t.err).toBe('');
    expect(t.status).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).steps).toBe(3);
    const outputs: Uint8Array[] = [];
    for (const backend of ['webgpu', 'cpu']) {
      const r = await runCli('translate', '--run', run, '--input', 'test/fixtures/facades/val/5.jpg', '--output', join(root, `${backend}.png`), '--backend', backend, '--seed', '1');
      expect(r.err).toBe('');
      expect(r.status).toBe(0);
      outputs.push((await readBytes(join(root, `${backend}.png`))).data);
    }
    expect(Math.max(...Array.from(outputs[0]!, (v, i) => Math.abs(v - outputs[1]![i]!)))).toBeLessThanOrEqual(1);
    const e = await runCli('eval', '--run', run, '--data', FACADES, '--split', 'val', '--backend', 'webgpu', '--json', '-');
    expect(e.status).toBe(0);
    const report = JSON.parse(e.out) as { backend: string; count: number; mean: { l1: number } };
    expect(report.backend).toBe('webgpu');
    expect(report.count).toBe(2);
    expect(Number.isFinite(report.mean.l1)).toBe(true);
    await tf.setBackend('cpu');
  });

  it("the CLI: 'auto' passes over the software adapter for native and says why; --backend webgpu reports it in summary --json", () => {
    const cli = (...args: string[]) => execFileSync(process.execPath, ['lib/cli/bin.mjs', ...args], { encoding: 'utf8', env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const auto = cli('summary', '--generator', 'unet32', '--size', '32', '--discriminator', 'patch16');
    expect(auto).toMatch(/backend: native \(native: .*webgpu: its adapter is .*swiftshader.*software, slower than native on this CPU \(--backend webgpu takes it\); the native accelerator is built\)/);
    const json = JSON.parse(cli('summary', '--generator', 'unet32', '--size', '32', '--discriminator', 'patch16', '--json', '--backend', 'webgpu')) as { backend: string };
    expect(json.backend).toBe('webgpu');
  });
});
