/**
 * Photo -> labels on facades (AtoB), scored as segmentation: every output
 * pixel is mapped to the nearest of the 12 CMP label colours and compared
 * with the true label map (per-pixel accuracy, per-class accuracy, mean
 * IoU). The paper's Table 6 question: for a nearly deterministic target,
 * does the cGAN help or hurt against plain L1?
 *
 *   npx tsx examples/photo2labels.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { join } from 'node:path';
import { cgan, FACADES_PALETTE, l1, nearestPaletteLabels, patchDiscriminator, plus, scoreLabels, unet, type FloatImage } from '../lib/index.ts';
import { asImage, exampleArgs, facades, fmt, heldOut, markdownTable, release, startBackend, train, translate, writeGrid, writeResults } from './lib/experiment.ts';

const args = exampleArgs('photo2labels');
const backend = await startBackend(args);
const data = facades(args.data, args.full, 'AtoB');
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const net = { depth: Math.log2(data.size), ngf: args.full ? 64 : 32 };

const variants = [
  { name: 'L1', objective: l1(100) },
  { name: 'L1+cGAN', objective: plus(l1(100), cgan()) },
].map((v) => ({ ...v, generator: unet(net), discriminator: patchDiscriminator(70, { ndf: net.ngf }) }));
const pairs = await heldOut(data);
const truth = pairs.map((p) => nearestPaletteLabels(asImage(p, 'y'), FACADES_PALETTE));
const rows: string[][] = [];
const outputs: FloatImage[][] = [];
const results: Record<string, unknown> = {};
for (const v of variants) {
  console.log(`${v.name}: training ${run.steps} steps on ${backend.name}`);
  const t = await train(data, v, run);
  const out = translate(t, pairs);
  // Score the whole held-out set at once: one confusion matrix over all pixels.
  const predicted = out.map((o) => nearestPaletteLabels(o, FACADES_PALETTE));
  const concat = (xs: Uint8Array[]) => Uint8Array.from(xs.flatMap((x) => Array.from(x)));
  const s = scoreLabels(concat(predicted), concat(truth), FACADES_PALETTE);
  rows.push([v.name, fmt(s.pixelAccuracy), fmt(s.meanClassAccuracy), fmt(s.meanIoU)]);
  results[v.name] = { pixelAccuracy: s.pixelAccuracy, meanClassAccuracy: s.meanClassAccuracy, meanIoU: s.meanIoU };
  outputs.push(out);
  release(t);
}
const table = markdownTable(['objective', 'per-pixel acc.', 'per-class acc.', 'class IOU'], rows);
console.log(`\n${table}`);
const grid = join(args.out, 'grid.png');
await writeGrid(grid, pairs.slice(0, 6).map((p, i) => [asImage(p, 'x'), ...outputs.map((o) => o[i]!), asImage(p, 'y')]));
await writeResults(args.out, 'results', `${table}\n\nColumns of ${grid}: photo, ${variants.map((v) => v.name).join(', ')}, true labels.`, { size: data.size, steps: run.steps, backend: backend.name, results });
console.log(`grid: ${grid}`);
