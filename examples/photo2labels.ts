/**
 * Photo -> labels on facades (AtoB), scored as segmentation: every output
 * pixel is mapped to the nearest of the 12 CMP label colours and compared
 * with the true label map (per-pixel accuracy, per-class accuracy, mean
 * IoU). The paper's Table 6 question: for a nearly deterministic target,
 * does the cGAN help or hurt against plain L1?
 *
 *   npx tsx examples/photo2labels.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { FACADES_PALETTE, nearestPaletteLabels, scoreLabels } from '../lib/node.ts';
import { asImage, exampleArgs, facades, fmt, heldOut, markdownTable, report, runVariants, startBackend, l1VersusCgan } from './lib/experiment.ts';

const args = exampleArgs('photo2labels');
const backend = await startBackend(args);
const data = facades(args.data, args.full, 'AtoB');
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const net = { depth: Math.log2(data.size), ngf: args.full ? 64 : 32 };

const variants = l1VersusCgan(net);
const pairs = await heldOut(data);
const truth = pairs.map((p) => nearestPaletteLabels(asImage(p, 'y'), FACADES_PALETTE));
const results = await runVariants(data, variants, run, pairs, backend.name);
// Score the whole held-out set at once: one confusion matrix over all pixels.
const concat = (xs: readonly Uint8Array[]) => Uint8Array.from(xs.flatMap((x) => Array.from(x)));
const segmentation = results.map((r) => scoreLabels(concat(r.outputs.map((o) => nearestPaletteLabels(o, FACADES_PALETTE))), concat(truth), FACADES_PALETTE));
const rows = results.map((r, i) => [r.name, fmt(segmentation[i]!.pixelAccuracy), fmt(segmentation[i]!.meanClassAccuracy), fmt(segmentation[i]!.meanIoU)]);
const table = markdownTable(['objective', 'per-pixel acc.', 'per-class acc.', 'class IOU'], rows);
await report(args.out, table, pairs, results, {
  size: data.size, steps: run.steps, backend: backend.name,
  segmentation: Object.fromEntries(results.map((r, i) => [r.name, { pixelAccuracy: segmentation[i]!.pixelAccuracy, meanClassAccuracy: segmentation[i]!.meanClassAccuracy, meanIoU: segmentation[i]!.meanIoU }])),
});
