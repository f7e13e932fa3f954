/**
 * A/B of one native-backend switch in one process: training steps of the
 * paper's nets with each setting in turn, interleaved in blocks so that the
 * machine's drift (±20% over minutes on a shared VM) hits every setting
 * alike; prints the median block per setting.
 *
 *   node --import tsx test/bench/ab-step.ts --switch threads [--settings 1,67108864,134217728]
 *   node --import tsx test/bench/ab-step.ts --switch table             (1,2,3)
 *   node --import tsx test/bench/ab-step.ts --switch adam              (many,each)
 *   node --import tsx test/bench/ab-step.ts --switch stream            (-1,4)
 *   node --import tsx test/bench/ab-step.ts --switch async             (0,1,2)
 *   node --import tsx test/bench/ab-step.ts --switch sums              (0,1)
 *   node --import tsx test/bench/ab-step.ts --switch backlog           (-1,1,2)
 *   node --import tsx test/bench/ab-step.ts --switch adampiece         (-1,131072)
 *   [--size 64 --ngf 32 --ndf 32 --generator unet|resnet9 --rounds 20 --block 5]
 *
 * threads: the native convolutions' single-thread bound in FLOPs
 * (src/conv.cc; 1 is the old behaviour, every convolution on all threads).
 * table: the engine table of 'auto' (src/conv_table.cc choose(): 1 the sgemm-first
 * table of machines where OpenBLAS runs AVX-512 kernels, 2 the oneDNN-first
 * one, 3 the one of machines without AVX-512).
 * adam: the fused Adam on all of a network's tensors in one call (one
 * parallel region) against one call per tensor.
 * stream: the most output positions auto sends to the stream engine (-1:
 * none, the table as it was; 4 the default).
 * async: the native worker thread (src/conv_async.cc): 0 nothing on it, 1
 * filter gradients (while the backward pass goes on), 2 those and Adam's
 * updates (while the next step begins).
 * sums: the divergence check's sum of squares from what the gradient jobs
 * report, or from reading every gradient again.
 * adampiece: the elements of each piece of a queued Adam update, which a
 * thread waiting for it may run itself (-1: whole tensors, the worker's alone).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../lib/backend/index.ts';
import { loadNative } from '../../lib/backend/native/index.ts';
import { convAsync } from '../../lib/backend/native/kernels/async.ts';
import type { ConvAddon } from '../../lib/backend/native/kernels/conv.ts';
import { ADAM_KERNEL } from '../../lib/ops/kernels.ts';
import { paperStepper } from './paper-step.ts';

const { values: v } = parseArgs({
  options: {
    switch: { type: 'string', default: 'threads' },
    settings: { type: 'string' },
    size: { type: 'string', default: '64' },
    generator: { type: 'string', default: 'unet' },
    ngf: { type: 'string', default: '32' },
    ndf: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '20' },
    block: { type: 'string', default: '5' },
  },
});
const info = await useBackend('native', { quiet: true });
if (info.name !== 'native') throw new Error('needs the native backend (npm run build:native)');
const conv = (loadNative() as { addon: { conv: unknown } }).addon.conv as ConvAddon;

// The fused Adam as registered (all of a network's tensors in one call), and
// the same kernel called once per tensor (how it ran before it took many).
const fusedAdam = tf.getKernel(ADAM_KERNEL, 'native')!;
const eachAdam: tf.KernelConfig = {
  ...fusedAdam,
  kernelFunc: (args) => {
    const ins = args.inputs as unknown as tf.TensorInfo[];
    const outs: tf.TensorInfo[] = [];
    for (let i = 0; i < ins.length; i += 4) outs.push(...(fusedAdam.kernelFunc({ ...args, inputs: ins.slice(i, i + 4) as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo[]));
    return outs;
  },
};

/** Each switch: its default settings, how to apply one, its label, and how to restore the start. */
const switches = {
  threads: {
    defaults: '1,67108864,134217728',
    apply: (s: string) => void conv.tune(0, 0, 0, Number(s)),
    label: (s: string) => (s === '1' ? 'none (all threads)' : `2^${Math.log2(Number(s))} FLOPs`),
    restore: ((initial) => () => void conv.tune(0, 0, 0, initial))(conv.tune(0, 0, 0)[3]),
  },
  adam: {
    defaults: 'many,each',
    apply: (s: string) => {
      tf.unregisterKernel(ADAM_KERNEL, 'native');
      tf.registerKernel(s === 'many' ? fusedAdam : eachAdam);
    },
    label: (s: string) => (s === 'many' ? 'one Adam call for all tensors' : 'one Adam call per tensor'),
    restore: () => (tf.unregisterKernel(ADAM_KERNEL, 'native'), tf.registerKernel(fusedAdam)),
  },
  stream: {
    defaults: '-1,4',
    apply: (s: string) => void conv.tune(0, 0, 0, 0, 0, Number(s)),
    label: (s: string) => (Number(s) < 1 ? 'no stream engine' : `stream engine up to ${s} positions`),
    restore: ((initial) => () => void conv.tune(0, 0, 0, 0, 0, initial > 0 ? initial : -1))(conv.tune(0, 0, 0)[5]),
  },
  async: {
    defaults: '0,1,2',
    apply: (s: string) => void ((convAsync.filterGradient = s !== '0'), (convAsync.adam = s === '2')),
    label: (s: string) => ({ '0': 'all in line', '1': 'filter gradients on the worker thread', '2': "filter gradients and Adam's updates on the worker" })[s] ?? s,
    restore: ((f, a) => () => void ((convAsync.filterGradient = f), (convAsync.adam = a)))(convAsync.filterGradient, convAsync.adam),
  },
  sums: {
    defaults: '0,1',
    apply: (s: string) => void (convAsync.sums = s === '1'),
    label: (s: string) => (s === '1' ? "gradient jobs' sums of squares" : 'sums of squares read again'),
    restore: ((initial) => () => void (convAsync.sums = initial))(convAsync.sums),
  },
  backlog: {
    defaults: '-1,1,2',
    apply: (s: string) => void conv.tune(0, 0, 0, 0, 0, 0, Number(s)),
    label: (s: string) => (s === '-1' ? 'filter gradients always queued' : s === '-2' ? "always computed here, the worker's way" : `computed here when the worker has ${s} waiting`),
    restore: ((initial) => () => void conv.tune(0, 0, 0, 0, 0, 0, initial))(conv.tune(0, 0, 0)[6]),
  },
  adampiece: {
    defaults: '-1,131072',
    apply: (s: string) => void conv.tune(0, 0, 0, 0, 0, 0, 0, Number(s)),
    label: (s: string) => (Number(s) < 0 ? "whole tensors, the worker's alone" : `pieces of ${s}, shared with a waiting thread`),
    restore: ((initial) => () => void conv.tune(0, 0, 0, 0, 0, 0, 0, initial))(conv.tune(0, 0, 0)[7]),
  },
  table: {
    defaults: '1,2,3',
    apply: (s: string) => void conv.tune(0, 0, 0, 0, Number(s)),
    label: (s: string) => ({ '1': 'sgemm first (TABLE_BLAS)', '2': 'oneDNN first (TABLE_DNNL)', '3': 'no AVX-512 (TABLE_AVX2)' })[s] ?? `table ${s}`,
    restore: ((initial) => () => void conv.tune(0, 0, 0, 0, initial))(conv.tune(0, 0, 0)[4]),
  },
} as const;
const sw = switches[v.switch as keyof typeof switches];
if (sw === undefined) throw new Error(`--switch ${v.switch}: choose from ${Object.keys(switches).join(', ')}`);
const settings = (v.settings ?? sw.defaults).split(',');

const size = Number(v.size);
const [rounds, block] = [Number(v.rounds), Number(v.block)];
if (v.generator !== 'unet' && v.generator !== 'resnet9') throw new Error(`--generator ${v.generator}: choose unet or resnet9`);
const one = paperStepper(size, Number(v.ngf), Number(v.ndf), v.generator);
for (const s of settings) (sw.apply(s), one(), one(), one()); // each setting warm
const ms = new Map<string, number[]>(settings.map((s) => [s, []]));
for (let r = 0; r < rounds; r++)
  for (const s of settings) {
    sw.apply(s);
    one();
    const t0 = performance.now();
    for (let i = 0; i < block; i++) one();
    ms.get(s)!.push((performance.now() - t0) / block);
  }
sw.restore();
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1]!;
console.log(`${v.generator} ${size}x${size}, ngf ${v.ngf}, ndf ${v.ndf}: ms per step (median of ${rounds} blocks of ${block}) by ${v.switch}`);
for (const s of settings) console.log(`  ${sw.label(s)}: ${median(ms.get(s)!).toFixed(1)}`);
