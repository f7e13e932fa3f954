// Child of test/native-signals.test.ts: oneDNN's jit-sgemm convolutions
// (engine 'dnnl', forward and both gradients) over and over while signals
// arrive, each result compared bit for bit with the first. Reports
// { n, bad, got, impl } over IPC, then exits.
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../lib/backend/index.ts';
import { convEngines, nativeGeometry, type ConvAddon } from '../../lib/backend/native/kernels/conv.ts';
import { loadNative } from '../../lib/backend/native/index.ts';

await useBackend('native', { quiet: true });
for (const k of Object.keys(convEngines) as (keyof typeof convEngines)[]) convEngines[k] = 'dnnl';
let got = 0;
process.on('SIGUSR2', () => void got++);
const x = tf.randomUniform([1, 32, 32, 32], -1, 1, 'float32', 1) as tf.Tensor4D;
const w = tf.randomUniform([4, 4, 32, 64], -1, 1, 'float32', 2) as tf.Tensor4D;
const conv = (loadNative() as { addon: { conv: unknown } }).addon.conv as ConvAddon;
const impl = conv.impl(0, nativeGeometry(tf.backend_util.computeConv2DInfo(x.shape, w.shape, 2, 1, 'same')), 3);
const run = () =>
  tf.tidy(() => {
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([x, w]);
    return [dx!.dataSync().slice(), dw!.dataSync().slice()] as const;
  });
const first = run();
process.send!('ready');
const t0 = Date.now();
let n = 0;
let bad = 0;
while (Date.now() - t0 < Number(process.env['STORM_MS'] ?? 2000)) {
  const r = run();
  n++;
  for (let i = 0; i < 2; i++) if (!r[i]!.every((v, j) => v === first[i]![j])) bad++;
  await new Promise((resolve) => setImmediate(resolve)); // let the handler count
}
process.send!({ n, bad, got, impl }, () => process.disconnect());
