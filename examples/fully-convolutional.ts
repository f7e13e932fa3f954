/**
 * The paper's fully convolutional claim (its 512x512 maps test): a G
 * trained at one size runs on images twice as large, because every layer
 * is a convolution. Trained on facades labels -> photo at 64x64 (CPU) or
 * 256x256 (--full), then applied to the held-out pairs at 2x that size.
 *
 *   npx tsx examples/fully-convolutional.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { join } from 'node:path';
import { cgan, l1, patchDiscriminator, plus, unet } from '../lib/node.ts';
import { asImage, exampleArgs, facades, fmt, heldOut, markdownTable, release, score, startBackend, train, translate, writeGrid, writeResults } from './lib/experiment.ts';

const args = exampleArgs('fully-convolutional');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const ngf = args.full ? 64 : 32;
const variant = { name: 'L1+cGAN', generator: unet({ depth: Math.log2(data.size), ngf }), discriminator: patchDiscriminator(70, { ndf: ngf }), objective: plus(l1(100), cgan()) };
const big = 2 * data.size;
console.log(`G fits ${data.size}x${data.size}: ${variant.generator.shape([data.size, data.size, 3])._tag}; ${big}x${big}: ${variant.generator.shape([big, big, 3])._tag}`);

const t = await train(data, variant, run);
const small = await heldOut(data);
const large = await heldOut(data, big, big); // the held-out pairs resized to 2x, no crop
const outSmall = translate(t, small);
const outLarge = translate(t, large);
const [s, l] = [score(outSmall, small), score(outLarge, large)];
const table = markdownTable(
  ['test size', 'L1', 'SSIM', 'PSNR'],
  [
    [`${data.size}x${data.size} (training size)`, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2)],
    [`${big}x${big} (2x)`, fmt(l.l1), fmt(l.ssim), fmt(l.psnr, 2)],
  ],
);
console.log(`\n${table}`);
const grid = join(args.out, 'grid.png');
await writeGrid(grid, large.slice(0, 4).map((p, i) => [asImage(p, 'x'), outLarge[i]!, asImage(p, 'y')]), 1);
await writeResults(args.out, 'results', `${table}\n\n${grid}: ${big}x${big} input, output, target.`, { size: data.size, big, steps: run.steps, backend: backend.name, small: s, large: l });
console.log(`grid: ${grid}`);
release(t);
