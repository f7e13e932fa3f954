/**
 * The paper's Table 3 / Fig. 6 question: how big should D's patches be?
 * A 1x1 PixelGAN, 16x16 and 70x70 PatchGANs and an ImageGAN whose field
 * covers the whole image (286 at 256x256; at the CPU size of 64x64 the
 * 142x142 D already sees the whole image, and 286 does not fit), all with
 * L1+cGAN, on facades labels -> photo.
 *
 * The four variants are one sweep (local worker processes, or --queue).
 *
 *   npx tsx examples/ablation-patch.ts [--steps N] [--full] [--data DIR] [--out DIR] [--workers N | --queue URL]
 */
import { disposeTree, patchDiscriminator, receptiveField } from '../lib/node.ts';
import { exampleArgs, facades, fmt, heldOut, markdownTable, report, startBackend } from './lib/experiment.ts';
import { getSegmenter } from './lib/segmenter.ts';
import { sweepVariants, type ConfigVariant } from './lib/sweep-variants.ts';

const args = exampleArgs('ablation-patch');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const ngf = args.full ? 64 : 32;
const patches = args.full ? [1, 16, 70, 286] : [1, 16, 70, 142];

const variants: ConfigVariant[] = patches.map((n) => ({
  name: `${n}x${n}${n === patches.at(-1) ? ' (ImageGAN)' : n === 1 ? ' (PixelGAN)' : ''}`,
  config: { generator: `unet${data.size}`, discriminator: n === 1 ? 'pixel' : `patch${n}`, objective: 'l1+cgan', ngf, ndf: ngf },
}));

for (const n of patches) {
  const d = patchDiscriminator(n, { ndf: ngf });
  const grid = d.shape([data.size, data.size, 6]);
  console.log(`D ${n}x${n}: receptive field ${receptiveField(d)}, ${grid._tag === 'Right' ? grid.right.slice(0, 2).join('x') : '?'} logits`);
}
const pairs = await heldOut(data);
const segmenter = await getSegmenter(data, run, args.full);
const results = await sweepVariants(data, variants, run, pairs, args, segmenter);
const rows = results.map(({ name, scores: s, fcn, seconds }) => [
  name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.b.intersection), fmt(fcn?.pixelAccuracy), fmt(fcn?.meanClassAccuracy), fmt(fcn?.meanIoU), fmt(seconds, 0),
]);
const table = markdownTable(['D patch', 'L1', 'SSIM', 'PSNR', 'b ∩', 'FCN pixel acc', 'FCN class acc', 'FCN IoU', 'train s'], rows);
await report(args.out, table, pairs, results, { data: data.root, size: data.size, steps: run.steps, backend: backend.name });
disposeTree(segmenter.params);
disposeTree(segmenter.state);
