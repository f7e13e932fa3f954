/**
 * The paper's Table 1 and Fig. 4 question: which objective? L1, GAN, cGAN,
 * L1+GAN and L1+cGAN, each one expression, on facades labels -> photo,
 * with the same U-Net and 70x70 PatchGAN. Scores on the 40 held-out pairs:
 * L1, SSIM, PSNR, the Lab colour-histogram comparison (Fig. 7) and an
 * FCN-style score (a photo -> labels network of this library segments the
 * generated photos).
 *
 *   npx tsx examples/ablation-objective.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { cgan, disposeTree, gan, l1, patchDiscriminator, plus, unet } from '../lib/node.ts';
import { asImage, exampleArgs, facades, fcnOf, fmt, heldOut, markdownTable, report, runVariants, startBackend, type Variant } from './lib/experiment.ts';
import { getSegmenter } from './lib/segmenter.ts';

const args = exampleArgs('ablation-objective');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const depth = Math.log2(data.size);
const ngf = args.full ? 64 : 32;

const variants: Variant[] = [
  { name: 'L1', objective: l1(100) },
  { name: 'GAN', objective: gan() },
  { name: 'cGAN', objective: cgan() },
  { name: 'L1+GAN', objective: plus(l1(100), gan()) },
  { name: 'L1+cGAN', objective: plus(l1(100), cgan()) },
].map((v) => ({ ...v, generator: unet({ depth, ngf }), discriminator: patchDiscriminator(70, { ndf: ngf }) }));

const pairs = await heldOut(data);
const segmenter = await getSegmenter(data, run, args.full);
const real = fcnOf(segmenter, pairs.map((p) => asImage(p, 'y')), pairs);
const results = await runVariants(data, variants, run, pairs, backend.name, segmenter);
const rows = results.map(({ name, scores: s, fcn, seconds }) => [
  name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.L.intersection), fmt(s.lab?.a.intersection), fmt(s.lab?.b.intersection), fmt(s.lab?.b.kl),
  fmt(fcn?.pixelAccuracy), fmt(fcn?.meanClassAccuracy), fmt(fcn?.meanIoU), fmt(seconds, 0),
]);
rows.push(['real photos', '-', '-', '-', '1.000', '1.000', '1.000', '0.000', fmt(real.pixelAccuracy), fmt(real.meanClassAccuracy), fmt(real.meanIoU), '-']);
const table = markdownTable(['objective', 'L1', 'SSIM', 'PSNR', 'L ∩', 'a ∩', 'b ∩', 'b KL', 'FCN pixel acc', 'FCN class acc', 'FCN IoU', 'train s'], rows);
await report(args.out, table, pairs, results, { data: data.root, size: data.size, steps: run.steps, backend: backend.name, realFcn: real });
disposeTree(segmenter.params);
disposeTree(segmenter.state);
