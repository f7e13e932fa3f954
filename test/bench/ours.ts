/**
 * Measures one benchmark configuration with this library, in its own
 * process (so peak RSS is its own), and prints one JSON object.
 *   node --import tsx test/bench/ours.ts CONFIG [--backend auto] [--warmup N (the config's)]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useBackend, type BackendChoice } from '../../lib/backend/index.ts';
import { cgan, disposeReplaced, featureMatching, initTrainState, l1, makeAsyncStep, makeKey, multiscaleDiscriminator, patchDiscriminator, plus, unet } from '../../lib/node.ts';
import { benchConfigs } from './configs.ts';

const { values, positionals } = parseArgs({ options: { backend: { type: 'string', default: 'auto' }, warmup: { type: 'string' } }, allowPositionals: true });
const config = benchConfigs.find((c) => c.name === positionals[0]);
if (!config) throw new Error(`unknown config ${positionals[0]}; one of ${benchConfigs.map((c) => c.name).join(', ')}`);
const backend = await useBackend(values.backend as BackendChoice, { quiet: true });

const time = async (fn: () => Promise<void>, warmup: number, repeats: number) => {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  const sorted = [...times].sort((a, b) => a - b);
  return { median_s: sorted[Math.floor(sorted.length / 2)]!, min_s: sorted[0]!, runs: times.length, times };
};

const { size, depth, ngf, ndf, batch } = config;
const warmup = values.warmup === undefined ? config.warmup : Number(values.warmup);
const G = unet({ depth, ngf });
let result;
if (config.kind === 'train') {
  const spec = config.hd
    ? { generator: G, discriminator: multiscaleDiscriminator(2, patchDiscriminator(70, { ndf })), objective: plus(l1(100), cgan(), featureMatching(10)), inputShape: [size, size, 3] as const, outChannels: 3 }
    : { generator: G, discriminator: patchDiscriminator(70, { ndf }), objective: plus(l1(100), cgan()), inputShape: [size, size, 3] as const, outChannels: 3 };
  const init = initTrainState(spec, makeKey(0));
  if (init._tag === 'Left') throw new Error(init.left.message);
  let state = init.right;
  // The CLI's step: its one read-back awaited (the only kind webgpu in Node can run).
  const step = makeAsyncStep(spec, { donate: true });
  const x = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  const y = tf.randomUniform([batch, size, size, 3], -1, 1, 'float32', 2) as tf.Tensor4D;
  result = await time(
    async () => {
      const [next] = await step(state, { x, y });
      disposeReplaced(state, next);
      state = next;
    },
    warmup,
    config.repeats,
  );
} else {
  const made = G.init(makeKey(0), [size, size, 3]);
  const x = tf.randomUniform([1, size, size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
  let i = 0;
  result = await time(
    async () => {
      const y = tf.tidy(() => G.apply(made.params, made.state, x, { mode: 'paper', key: makeKey(i++) })[0]);
      await y.data();
      y.dispose();
    },
    warmup,
    config.repeats,
  );
}
console.log(JSON.stringify({ config: config.name, backend: backend.name, ...result, peak_rss_mib: process.resourceUsage().maxRSS / 1024 }));
