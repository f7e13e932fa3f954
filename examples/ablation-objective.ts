/**
 * The paper's Table 1 and Fig. 4 question: which objective? L1, GAN, cGAN,
 * L1+GAN and L1+cGAN, each one expression, on facades labels -> photo,
 * with the same U-Net and 70x70 PatchGAN. Scores on the 40 held-out pairs:
 * L1, SSIM, PSNR, the Lab colour-histogram comparison (Fig. 7) and an
 * FCN-style score (a photo -> labels network of this library segments the
 * generated photos).
 *
 * The five variants are one sweep (the library's `pix2pix sweep`
 * machinery): trained by local worker processes, or by `pix2pix worker`s
 * on any machines with --queue redis://HOST:PORT.
 *
 *   npx tsx examples/ablation-objective.ts [--steps N] [--full] [--data DIR] [--out DIR] [--workers N | --queue URL]
 */
import { disposeTree } from '../lib/node.ts';
import { asImage, exampleArgs, facades, fcnOf, fmt, heldOut, markdownTable, report, startBackend } from './lib/experiment.ts';
import { getSegmenter } from './lib/segmenter.ts';
import { sweepVariants, type ConfigVariant } from './lib/sweep-variants.ts';

const args = exampleArgs('ablation-objective');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const ngf = args.full ? 64 : 32;

// The same U-Net and 70x70 PatchGAN; lambda 100 weighs L1.
const variants: ConfigVariant[] = [
  ['L1', 'l1'],
  ['GAN', 'gan'],
  ['cGAN', 'cgan'],
  ['L1+GAN', 'l1+gan'],
  ['L1+cGAN', 'l1+cgan'],
].map(([name, objective]) => ({ name: name!, config: { objective: objective!, generator: `unet${data.size}`, discriminator: 'patch70', ngf, ndf: ngf } }));

const pairs = await heldOut(data);
const segmenter = await getSegmenter(data, run, args.full);
const real = fcnOf(segmenter, pairs.map((p) => asImage(p, 'y')), pairs);
const results = await sweepVariants(data, variants, run, pairs, args, segmenter);
const rows = results.map(({ name, scores: s, fcn, seconds }) => [
  name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.L.intersection), fmt(s.lab?.a.intersection), fmt(s.lab?.b.intersection), fmt(s.lab?.b.kl),
  fmt(fcn?.pixelAccuracy), fmt(fcn?.meanClassAccuracy), fmt(fcn?.meanIoU), fmt(seconds, 0),
]);
rows.push(['real photos', '-', '-', '-', '1.000', '1.000', '1.000', '0.000', fmt(real.pixelAccuracy), fmt(real.meanClassAccuracy), fmt(real.meanIoU), '-']);
const table = markdownTable(['objective', 'L1', 'SSIM', 'PSNR', 'L ∩', 'a ∩', 'b ∩', 'b KL', 'FCN pixel acc', 'FCN class acc', 'FCN IoU', 'train s'], rows);
await report(args.out, table, pairs, results, { data: data.root, size: data.size, steps: run.steps, backend: backend.name, realFcn: real });
disposeTree(segmenter.params);
disposeTree(segmenter.state);
