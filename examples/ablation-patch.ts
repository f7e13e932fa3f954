/**
 * The paper's Table 3 / Fig. 6 question: how big should D's patches be?
 * A 1x1 PixelGAN, 16x16 and 70x70 PatchGANs and an ImageGAN whose field
 * covers the whole image (286 at 256x256; at the CPU size of 64x64 the
 * 142x142 D already sees the whole image, and 286 does not fit), all with
 * L1+cGAN, on facades labels -> photo.
 *
 *   npx tsx examples/ablation-patch.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { join } from 'node:path';
import { cgan, disposeTree, fcnScores, FACADES_PALETTE, l1, patchDiscriminator, plus, receptiveField, unet } from '../lib/index.ts';
import { asImage, exampleArgs, facades, fmt, heldOut, markdownTable, release, score, startBackend, train, translate, writeGrid, writeResults, type Variant } from './lib/experiment.ts';
import { getSegmenter } from './lib/segmenter.ts';

const args = exampleArgs('ablation-patch');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const net = { depth: Math.log2(data.size), ngf: args.full ? 64 : 32 };
const patches = args.full ? [1, 16, 70, 286] : [1, 16, 70, 142];

const variants: Variant[] = patches.map((n) => ({
  name: `${n}x${n}${n === patches.at(-1) ? ' (ImageGAN)' : n === 1 ? ' (PixelGAN)' : ''}`,
  generator: unet(net),
  discriminator: patchDiscriminator(n, { ndf: net.ngf }),
  objective: plus(l1(100), cgan()),
}));

const pairs = await heldOut(data);
const segmenter = await getSegmenter(data, run, args.full);
const rows: string[][] = [];
const results: Record<string, unknown> = {};
const outputs: ReturnType<typeof translate>[] = [];
for (const v of variants) {
  const grid = v.discriminator.shape([data.size, data.size, 6]);
  console.log(`D ${v.name} (receptive field ${receptiveField(v.discriminator)}, ${grid._tag === 'Right' ? grid.right.slice(0, 2).join('x') : '?'} logits): training ${run.steps} steps on ${backend.name}`);
  const t = await train(data, v, run);
  const out = translate(t, pairs);
  const s = score(out, pairs);
  const fcn = fcnScores(segmenter, out.map((o, i) => ({ photo: o, labels: asImage(pairs[i]!, 'x') })), FACADES_PALETTE);
  rows.push([v.name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.b.intersection), fmt(fcn.pixelAccuracy), fmt(fcn.meanClassAccuracy), fmt(fcn.meanIoU), fmt(t.seconds, 0)]);
  results[v.name] = { scores: s, fcn: { pixelAccuracy: fcn.pixelAccuracy, meanClassAccuracy: fcn.meanClassAccuracy, meanIoU: fcn.meanIoU }, seconds: t.seconds };
  outputs.push(out);
  release(t);
}
const table = markdownTable(['D patch', 'L1', 'SSIM', 'PSNR', 'b ∩', 'FCN pixel acc', 'FCN class acc', 'FCN IoU', 'train s'], rows);
console.log(`\n${table}`);
const gridPath = join(args.out, 'grid.png');
await writeGrid(gridPath, pairs.slice(0, 6).map((p, i) => [asImage(p, 'x'), ...outputs.map((o) => o[i]!), asImage(p, 'y')]));
await writeResults(args.out, 'results', `${table}\n\nColumns of ${gridPath}: input, ${variants.map((v) => v.name).join(', ')}, target.`, {
  data: data.root, size: data.size, steps: run.steps, backend: backend.name, heldOut: pairs.length, results,
});
console.log(`grid: ${gridPath}; results: ${join(args.out, 'results.md')}`);
disposeTree(segmenter.params);
disposeTree(segmenter.state);
