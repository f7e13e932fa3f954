/**
 * Where a training step's time goes (issue 15): the kernels it dispatches
 * (count, time inside kernels by kind) against its wall time
 * (the rest is tfjs engine and JS overhead: tape, tidy scopes, dispatch),
 * and, separately, the data stream (decode, resize, crop, flip) and
 * `pix2pix train`'s per-step hook (loss records, progress).
 *
 *   node --import tsx test/bench/profile-step.ts [--size 64 --ngf 32 --ndf 32 --steps 30 --data DIR --backend auto]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendChoice } from '../../lib/backend/index.ts';
import { loadNative } from '../../lib/backend/native/index.ts';
import type { ConvAddon } from '../../lib/backend/native/kernels/conv.ts';
import { batches, cgan, disposeReplaced, foldIn, initTrainState, l1, makeKey, makeStep, openDataset, patchDiscriminator, plus, unet } from '../../lib/node.ts';

const { values: v } = parseArgs({
  options: { size: { type: 'string', default: '64' }, ngf: { type: 'string', default: '32' }, ndf: { type: 'string', default: '32' }, steps: { type: 'string', default: '30' }, data: { type: 'string' }, backend: { type: 'string', default: 'auto' } },
});
const size = Number(v.size);
const steps = Number(v.steps);
const backend = await useBackend(v.backend as BackendChoice, { quiet: true });
const data = v.data ?? [fileURLToPath(new URL('../../../shared/datasets/facades', import.meta.url)), fileURLToPath(new URL('../../examples/data/facades-mini', import.meta.url))].find((d) => existsSync(join(d, 'train')))!;

const spec = { generator: unet({ depth: Math.log2(size), ngf: Number(v.ngf) }), discriminator: patchDiscriminator(70, { ndf: Number(v.ndf) }), objective: plus(l1(100), cgan()), inputShape: [size, size, 3] as const, outChannels: 3 };
const init = initTrainState(spec, makeKey(0));
if (init._tag === 'Left') throw new Error(init.left.message);
let state = init.right;
const step = makeStep(spec, { donate: true });

// The data stream alone: what `pix2pix train` feeds the step.
const ds = await openDataset({ root: data, split: 'train', direction: 'BtoA' });
const stream = batches(ds, { batchSize: 1, key: foldIn(makeKey(0), 'data'), epochs: 100, preprocess: { loadSize: Math.round(size * 1.125), cropSize: size } });
const it = stream[Symbol.asyncIterator]();
const held: Array<{ x: tf.Tensor4D; y: tf.Tensor4D }> = [];
const d0 = performance.now();
for (let i = 0; i < steps + 5; i++) {
  const b = (await it.next()).value as { x: tf.Tensor4D; y: tf.Tensor4D };
  held.push(b);
}
const dataMs = (performance.now() - d0) / (steps + 5);

const run = (i: number) => {
  const [next] = step(state, held[i]!);
  disposeReplaced(state, next);
  state = next;
};
for (let i = 0; i < 5; i++) run(i); // warm-up
const w0 = performance.now();
for (let i = 5; i < 5 + steps; i++) run(i);
const wallMs = (performance.now() - w0) / steps;

// The same steps again with every kernel of the backend timed where it
// runs (its function wrapped: tf.profile's per-kernel times carry its own
// overhead) and, on native, the worker thread's time in jobs.
const byKind = new Map<string, { n: number; ms: number }>();
let timing = false;
for (const k of tf.getKernelsForBackend(backend.name)) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, backend.name);
  tf.registerKernel({
    ...k,
    kernelFunc: (args) => {
      if (!timing) return f(args);
      const t0 = performance.now();
      const out = f(args);
      const e = byKind.get(k.kernelName) ?? { n: 0, ms: 0 };
      byKind.set(k.kernelName, { n: e.n + 1, ms: e.ms + performance.now() - t0 });
      return out;
    },
  });
}
const loaded = loadNative();
const conv = backend.name === 'native' && 'addon' in loaded ? (loaded.addon.conv as unknown as ConvAddon) : undefined;
const busy0 = conv?.busySeconds() ?? 0;
timing = true;
const t1 = performance.now();
for (let i = 5; i < 5 + steps; i++) run(i);
const timedMs = (performance.now() - t1) / steps;
timing = false;
const workerMs = conv ? ((conv.busySeconds() - busy0) * 1000) / steps : undefined;
const perStep = [...byKind].map(([name, e]) => [name, { n: e.n / steps, ms: e.ms / steps }] as const);
const kernels = perStep.reduce((n, [, e]) => n + e.n, 0);
const kernelMs = perStep.reduce((n, [, e]) => n + e.ms, 0);
const top = perStep.sort((a, b) => b[1].ms - a[1].ms);
console.log(`backend ${backend.name}, ${size}x${size}, ngf ${v.ngf}, ndf ${v.ndf}; data ${data}`);
console.log(`step wall ${wallMs.toFixed(1)} ms (mean of ${steps}); kernels dispatched ${kernels}; inside kernels ${kernelMs.toFixed(1)} ms of ${timedMs.toFixed(1)} (timed steps); engine + JS ${(timedMs - kernelMs).toFixed(1)} ms`);
if (workerMs !== undefined) console.log(`worker thread: ${workerMs.toFixed(1)} ms a step in jobs (filter gradients, their sums, Adam); the kernels' times include waits for it`);
console.log(`data stream: ${dataMs.toFixed(2)} ms per batch (decode, resize, crop, flip, to tensor)`);
console.log('kernel            calls   ms');
for (const [name, e] of top.slice(0, 25)) console.log(`${name.padEnd(18)}${String(e.n).padStart(5)} ${e.ms.toFixed(2).padStart(7)}`);
console.log(JSON.stringify({ backend: backend.name, size, wallMs, kernels, kernelMs, workerMs, dataMs, byKind: Object.fromEntries(top) }));
