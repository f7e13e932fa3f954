/**
 * Every native convolution engine on every convolution of one pix2pix
 * training step, on this machine: the geometries a step runs are recorded,
 * then each is timed with each engine (warm caches, median of --reps) and
 * with 'auto'. Prints one line per geometry and, per op, the step's sum with
 * auto, with each engine forced, and with the best engine of each geometry
 * (what a perfect table would give; optimistic, since the minimum of noisy
 * timings is picked). How choose()'s tables in src/conv.cc were measured.
 *
 *   node --import tsx test/bench/conv-engines.ts [--size 256 --ngf 64 --ndf 64 --reps 9 --cold]
 */
import { parseArgs } from 'node:util';
import { useBackend } from '../../lib/backend/index.ts';
import { loadNative } from '../../lib/backend/native/index.ts';
import { convAsync } from '../../lib/backend/native/kernels/async.ts';
import { ConvEngine, type ConvAddon } from '../../lib/backend/native/kernels/conv.ts';
import { paperStepper } from './paper-step.ts';

const { values: v } = parseArgs({
  options: { size: { type: 'string', default: '256' }, ngf: { type: 'string', default: '64' }, ndf: { type: 'string', default: '64' }, reps: { type: 'string', default: '9' }, cold: { type: 'boolean', default: false } },
});
// --cold: 64 MiB written before every timed call, so that the call reads its
// operands from memory, as the deep layers of a real step do (their filters
// were last touched a whole network earlier).
const flush = v.cold ? new Float32Array(16 << 20) : undefined;
let flushes = 0;
const evict = () => flush?.fill(++flushes);
const [size, reps] = [Number(v.size), Number(v.reps)];
const loaded = loadNative();
if (!('addon' in loaded)) throw new Error(`needs the native backend: ${loaded.reason}`);
const conv = loaded.addon.conv as unknown as ConvAddon;
const ops = ['conv2d', 'conv2dBackpropInput', 'conv2dBackpropFilter'] as const;
type Run = ConvAddon['conv2d'];

// Record each geometry the step runs (the kernels bind the addon's functions at registration: wrap them first).
interface Seen { op: number; geometry: Int32Array; calls: number; sizes: [number, number, number] }
const seen = new Map<string, Seen>();
let recording = false;
const originals = ops.map((name) => conv[name].bind(conv)) as Run[];
ops.forEach((name, op) => {
  (conv as unknown as Record<string, Run>)[name] = (a, b, out, geometry, engine) => {
    if (recording) {
      const k = `${op}:${geometry.join(',')}`;
      const s = seen.get(k);
      if (s) s.calls++;
      else seen.set(k, { op, geometry: geometry.slice(), calls: 1, sizes: [a.length, b.length, out.length] });
    }
    return originals[op]!(a, b, out, geometry, engine);
  };
});
await useBackend('native', { quiet: true });
// Every convolution in line while recording: a filter gradient queued on the
// worker thread (conv2dBackpropFilterAsync) would not pass through the wrap.
convAsync.filterGradient = false;

const one = paperStepper(size, Number(v.ngf), Number(v.ndf));
one();
recording = true;
one();
recording = false;

const engines = ['auto', 'gemm', 'gemmSplit', 'dnnl', 'dnnlWeights', 'stream'] as const;
const sums = ops.map(() => engines.map(() => 0));
const best = ops.map(() => 0);
const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
console.log(`${size}x${size}, ngf ${v.ngf}, ndf ${v.ndf}${v.cold ? ', cold (caches flushed before each call)' : ''}; OpenBLAS ${conv.blas().split(' ')[0]}, table ${conv.tune(0, 0, 0)[4]}; ms (median of ${reps}) by engine: ${engines.join(' ')}`);
for (const s of seen.values()) {
  const [a, b, out] = [random(s.sizes[0]), random(s.sizes[1]), new Float32Array(s.sizes[2])];
  const run = originals[s.op]!;
  const ms = engines.map((e) => {
    run(a, b, out, s.geometry, ConvEngine[e]);
    const t: number[] = [];
    for (let i = 0; i < reps; i++) {
      evict();
      const t0 = performance.now();
      run(a, b, out, s.geometry, ConvEngine[e]);
      t.push(performance.now() - t0);
    }
    return t.sort((p, q) => p - q)[t.length >> 1]!;
  });
  ms.forEach((m, i) => (sums[s.op]![i]! += m * s.calls));
  best[s.op]! += Math.min(...ms.slice(1)) * s.calls;
  const auto = Object.entries(ConvEngine).find(([, n]) => n === run(a, b, out, s.geometry, 0))![0];
  console.log(`${ops[s.op]!.padEnd(20)} ${Array.from(s.geometry).join(',').padEnd(38)} x${s.calls} auto=${auto.padEnd(11)} ${ms.map((m) => m.toFixed(2).padStart(7)).join(' ')}`);
}
for (const [op, name] of ops.entries())
  console.log(`${name.padEnd(20)} sum x calls: ${engines.map((e, i) => `${e} ${sums[op]![i]!.toFixed(1)}`).join(', ')}, best of each ${best[op]!.toFixed(1)}`);
