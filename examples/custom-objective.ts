/**
 * A new loss in a few lines: the hinge GAN loss (a mode of the built-in
 * cgan term) and a user-defined total-variation term, each a value that
 * the training step, the logs and the report pick up by name. Compared on
 * facades labels -> photo at the CPU size with the paper's L1+cGAN.
 *
 *   npx tsx examples/custom-objective.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import * as tf from '@tensorflow/tfjs';
import { cgan, l1, patchDiscriminator, plus, term, unet, type Objective } from '../lib/node.ts';
import { exampleArgs, facades, fmt, heldOut, markdownTable, report, runVariants, startBackend, type Variant } from './lib/experiment.ts';

/** Total variation of G's output: the mean absolute difference between neighbouring pixels, down and across. */
export const totalVariation = (weight: number): Objective =>
  term({
    name: 'tv',
    weight,
    g: ({ fake }) => {
      const [, h, w] = fake.shape;
      const down = tf.sub(fake.slice([0, 1], [-1, h - 1]), fake.slice([0, 0], [-1, h - 1]));
      const across = tf.sub(fake.slice([0, 0, 1], [-1, -1, w - 1]), fake.slice([0, 0, 0], [-1, -1, w - 1]));
      return tf.add(tf.mean(tf.abs(down)), tf.mean(tf.abs(across))) as tf.Scalar;
    },
  });

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = exampleArgs('custom-objective');
  const backend = await startBackend(args);
  const data = facades(args.data, args.full);
  const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
  const ngf = args.full ? 64 : 32;

  const variants: Variant[] = [
    { name: 'L1+cGAN (the paper)', objective: plus(l1(100), cgan()) },
    { name: 'L1+cGAN, hinge', objective: plus(l1(100), cgan({ mode: 'hinge' })) },
    { name: 'L1+cGAN, hinge, +TV', objective: plus(l1(100), cgan({ mode: 'hinge' }), totalVariation(10)) },
  ].map((v) => ({ ...v, generator: unet({ depth: Math.log2(data.size), ngf }), discriminator: patchDiscriminator(70, { ndf: ngf }) }));

  const pairs = await heldOut(data);
  const results = await runVariants(data, variants, run, pairs, backend.name);
  const rows = results.map(({ name, scores: s, seconds }) => [name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.b.intersection), fmt(seconds, 0)]);
  const table = markdownTable(['objective', 'L1', 'SSIM', 'PSNR', 'b ∩', 'train s'], rows);
  await report(args.out, table, pairs, results, { data: data.root, size: data.size, steps: run.steps, backend: backend.name });
}
