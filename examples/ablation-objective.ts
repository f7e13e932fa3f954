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
import { join } from 'node:path';
import { cgan, fcnScores, FACADES_PALETTE, gan, l1, patchDiscriminator, plus, unet, disposeTree } from '../lib/index.ts';
import { asImage, exampleArgs, facades, fmt, heldOut, markdownTable, release, score, startBackend, train, translate, writeGrid, writeResults, type Variant } from './lib/experiment.ts';
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
const real = fcnScores(segmenter, pairs.map((p) => ({ photo: asImage(p, 'y'), labels: asImage(p, 'x') })), FACADES_PALETTE);
const rows: string[][] = [];
const results: Record<string, unknown> = {};
const outputs: Record<string, ReturnType<typeof translate>> = {};
for (const v of variants) {
  console.log(`${v.name}: training ${run.steps} steps at ${data.size}x${data.size} on ${backend.name}`);
  const t = await train(data, v, run);
  const out = translate(t, pairs);
  const s = score(out, pairs);
  const fcn = fcnScores(segmenter, out.map((o, i) => ({ photo: o, labels: asImage(pairs[i]!, 'x') })), FACADES_PALETTE);
  rows.push([v.name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.L.intersection), fmt(s.lab?.a.intersection), fmt(s.lab?.b.intersection), fmt(s.lab?.b.kl), fmt(fcn.pixelAccuracy), fmt(fcn.meanClassAccuracy), fmt(fcn.meanIoU), fmt(t.seconds, 0)]);
  results[v.name] = { scores: s, fcn: { pixelAccuracy: fcn.pixelAccuracy, meanClassAccuracy: fcn.meanClassAccuracy, meanIoU: fcn.meanIoU }, seconds: t.seconds };
  outputs[v.name] = out;
  release(t);
}
rows.push(['real photos', '-', '-', '-', '1.000', '1.000', '1.000', '0.000', fmt(real.pixelAccuracy), fmt(real.meanClassAccuracy), fmt(real.meanIoU), '-']);
const table = markdownTable(['objective', 'L1', 'SSIM', 'PSNR', 'L ∩', 'a ∩', 'b ∩', 'b KL', 'FCN pixel acc', 'FCN class acc', 'FCN IoU', 'train s'], rows);
console.log(`\n${table}`);
const grid = join(args.out, 'grid.png');
await writeGrid(grid, pairs.slice(0, 6).map((p, i) => [asImage(p, 'x'), ...variants.map((v) => outputs[v.name]![i]!), asImage(p, 'y')]));
await writeResults(args.out, 'results', `${table}\n\nColumns of ${grid}: input, ${variants.map((v) => v.name).join(', ')}, target.`, {
  data: data.root, size: data.size, steps: run.steps, backend: backend.name, heldOut: pairs.length, realFcn: real, results,
});
console.log(`grid: ${grid}; results: ${join(args.out, 'results.md')}`);
disposeTree(segmenter.params);
disposeTree(segmenter.state);
