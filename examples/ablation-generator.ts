/**
 * The paper's Table 2 / Fig. 5 question: does the U-Net's skip matter?
 * U-Net vs the encoder-decoder (the same network with the skips cut),
 * each trained with L1 and with L1+cGAN, on facades labels -> photo.
 *
 *   npx tsx examples/ablation-generator.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { join } from 'node:path';
import { cgan, disposeTree, encoderDecoder, fcnScores, FACADES_PALETTE, l1, patchDiscriminator, plus, unet } from '../lib/index.ts';
import { asImage, exampleArgs, facades, fmt, heldOut, markdownTable, release, score, startBackend, train, translate, writeGrid, writeResults, type Variant } from './lib/experiment.ts';
import { getSegmenter } from './lib/segmenter.ts';

const args = exampleArgs('ablation-generator');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const net = { depth: Math.log2(data.size), ngf: args.full ? 64 : 32 };
const D = () => patchDiscriminator(70, { ndf: net.ngf });

const variants: Variant[] = [
  { name: 'Encoder-decoder, L1', generator: encoderDecoder(net), discriminator: D(), objective: l1(100) },
  { name: 'Encoder-decoder, L1+cGAN', generator: encoderDecoder(net), discriminator: D(), objective: plus(l1(100), cgan()) },
  { name: 'U-Net, L1', generator: unet(net), discriminator: D(), objective: l1(100) },
  { name: 'U-Net, L1+cGAN', generator: unet(net), discriminator: D(), objective: plus(l1(100), cgan()) },
];

const pairs = await heldOut(data);
const segmenter = await getSegmenter(data, run, args.full);
const rows: string[][] = [];
const results: Record<string, unknown> = {};
const outputs: ReturnType<typeof translate>[] = [];
for (const v of variants) {
  console.log(`${v.name}: training ${run.steps} steps at ${data.size}x${data.size} on ${backend.name}`);
  const t = await train(data, v, run);
  const out = translate(t, pairs);
  const s = score(out, pairs);
  const fcn = fcnScores(segmenter, out.map((o, i) => ({ photo: o, labels: asImage(pairs[i]!, 'x') })), FACADES_PALETTE);
  rows.push([v.name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(fcn.pixelAccuracy), fmt(fcn.meanClassAccuracy), fmt(fcn.meanIoU), fmt(t.seconds, 0)]);
  results[v.name] = { scores: s, fcn: { pixelAccuracy: fcn.pixelAccuracy, meanClassAccuracy: fcn.meanClassAccuracy, meanIoU: fcn.meanIoU }, seconds: t.seconds };
  outputs.push(out);
  release(t);
}
const table = markdownTable(['generator, objective', 'L1', 'SSIM', 'PSNR', 'FCN pixel acc', 'FCN class acc', 'FCN IoU', 'train s'], rows);
console.log(`\n${table}`);
const grid = join(args.out, 'grid.png');
await writeGrid(grid, pairs.slice(0, 6).map((p, i) => [asImage(p, 'x'), ...outputs.map((o) => o[i]!), asImage(p, 'y')]));
await writeResults(args.out, 'results', `${table}\n\nColumns of ${grid}: input, ${variants.map((v) => v.name).join(', ')}, target.`, {
  data: data.root, size: data.size, steps: run.steps, backend: backend.name, heldOut: pairs.length, results,
});
console.log(`grid: ${grid}; results: ${join(args.out, 'results.md')}`);
disposeTree(segmenter.params);
disposeTree(segmenter.state);
