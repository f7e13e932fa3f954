/**
 * The paper's Table 2 / Fig. 5 question: does the U-Net's skip matter?
 * U-Net vs the encoder-decoder (the same network with the skips cut),
 * each trained with L1 and with L1+cGAN, on facades labels -> photo.
 *
 *   npx tsx examples/ablation-generator.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { cgan, disposeTree, encoderDecoder, l1, patchDiscriminator, plus, unet } from '../lib/node.ts';
import { exampleArgs, facades, fmt, heldOut, markdownTable, report, runVariants, startBackend, type Variant } from './lib/experiment.ts';
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
const results = await runVariants(data, variants, run, pairs, backend.name, segmenter);
const rows = results.map(({ name, scores: s, fcn, seconds }) => [
  name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(fcn?.pixelAccuracy), fmt(fcn?.meanClassAccuracy), fmt(fcn?.meanIoU), fmt(seconds, 0),
]);
const table = markdownTable(['generator, objective', 'L1', 'SSIM', 'PSNR', 'FCN pixel acc', 'FCN class acc', 'FCN IoU', 'train s'], rows);
await report(args.out, table, pairs, results, { data: data.root, size: data.size, steps: run.steps, backend: backend.name });
disposeTree(segmenter.params);
disposeTree(segmenter.state);
