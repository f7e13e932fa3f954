/**
 * The native convolutions' single-thread bound (src/conv.cc), A/B in one
 * process: training steps of the paper's nets with each bound in turn,
 * interleaved in blocks so that the machine's drift (±20% over minutes on a
 * shared VM) hits every setting alike; prints the median block per bound.
 *
 *   node --import tsx test/bench/ab-conv-threads.ts [--size 64 --ngf 32 --ndf 32 --bounds 1,67108864,134217728 --rounds 20 --block 5]
 *
 * A bound of 1 is the old behaviour (every convolution on all threads).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../lib/backend/index.ts';
import { loadNative } from '../../lib/backend/native/index.ts';
import type { ConvAddon } from '../../lib/backend/native/kernels/conv.ts';
import { cgan, disposeReplaced, initTrainState, l1, makeKey, makeStep, patchDiscriminator, plus, unet } from '../../lib/node.ts';

const { values: v } = parseArgs({
  options: {
    size: { type: 'string', default: '64' },
    ngf: { type: 'string', default: '32' },
    ndf: { type: 'string', default: '32' },
    bounds: { type: 'string', default: '1,67108864,134217728' },
    rounds: { type: 'string', default: '20' },
    block: { type: 'string', default: '5' },
  },
});
const info = await useBackend('native', { quiet: true });
if (info.name !== 'native') throw new Error('needs the native backend (npm run build:native)');
const conv = (loadNative() as { addon: { conv: unknown } }).addon.conv as ConvAddon;
const size = Number(v.size);
const bounds = v.bounds!.split(',').map(Number);
const [rounds, block] = [Number(v.rounds), Number(v.block)];
const spec = { generator: unet({ depth: Math.log2(size), ngf: Number(v.ngf) }), discriminator: patchDiscriminator(70, { ndf: Number(v.ndf) }), objective: plus(l1(100), cgan()), inputShape: [size, size, 3] as const, outChannels: 3 };
const init = initTrainState(spec, makeKey(0));
if (init._tag === 'Left') throw new Error(init.left.message);
let state = init.right;
const step = makeStep(spec, { donate: true });
const x = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
const y = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
const one = () => {
  const [next] = step(state, { x, y });
  disposeReplaced(state, next);
  state = next;
};
const initial = conv.tune(0, 0, 0)[3];
for (const b of bounds) (conv.tune(0, 0, 0, b), one(), one(), one()); // each bound's primitives made and warm
const ms = new Map<number, number[]>(bounds.map((b) => [b, []]));
for (let r = 0; r < rounds; r++)
  for (const b of bounds) {
    conv.tune(0, 0, 0, b);
    one();
    const t0 = performance.now();
    for (let i = 0; i < block; i++) one();
    ms.get(b)!.push((performance.now() - t0) / block);
  }
conv.tune(0, 0, 0, initial);
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
console.log(`${size}x${size}, ngf ${v.ngf}, ndf ${v.ndf}: ms per step (median of ${rounds} blocks of ${block}) by single-thread bound`);
for (const b of bounds) console.log(`  ${b === 1 ? 'none (all threads)' : `2^${Math.log2(b)} FLOPs`}: ${median(ms.get(b)!).toFixed(1)}`);
