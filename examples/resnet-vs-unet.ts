/**
 * The reference's two generator families on the same task: the paper's
 * U-Net (skips between mirrored levels) and the ResNet generator of
 * Johnson et al. that CycleGAN uses (downsample twice, residual blocks,
 * upsample twice), with 6 and 9 blocks. Same 70x70 PatchGAN, same L1+cGAN,
 * same steps; facades labels -> photo at the CPU size, 40 held-out pairs.
 *
 *   npx tsx examples/resnet-vs-unet.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import * as E from 'fp-ts/lib/Either.js';
import { cgan, l1, paramCount, patchDiscriminator, plus, receptiveField, resnetGenerator, unet } from '../lib/node.ts';
import { exampleArgs, facades, fmt, heldOut, markdownTable, report, runVariants, startBackend, type Variant } from './lib/experiment.ts';

const args = exampleArgs('resnet-vs-unet');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const ngf = args.full ? 64 : 32;

const variants: Variant[] = [
  { name: `U-Net (depth ${Math.log2(data.size)})`, generator: unet({ depth: Math.log2(data.size), ngf }) },
  { name: 'ResNet, 6 blocks', generator: resnetGenerator({ blocks: 6, ngf }) },
  { name: 'ResNet, 9 blocks', generator: resnetGenerator({ blocks: 9, ngf }) },
].map((v) => ({ ...v, discriminator: patchDiscriminator(70, { ndf: ngf }), objective: plus(l1(100), cgan()) }));

const params = (v: Variant) => E.getOrElse(() => NaN)(paramCount(v.generator, [data.size, data.size, 3]));
const pairs = await heldOut(data);
const results = await runVariants(data, variants, run, pairs, backend.name);
const rows = results.map(({ name, scores: s, seconds }, i) => [
  name, params(variants[i]!).toLocaleString('en-US'), String(receptiveField(variants[i]!.generator)), fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.b.intersection), fmt(seconds, 0),
]);
const table = markdownTable(['generator', 'params', 'receptive field', 'L1', 'SSIM', 'PSNR', 'b ∩', 'train s'], rows);
await report(args.out, table, pairs, results, { data: data.root, size: data.size, steps: run.steps, backend: backend.name });
