/**
 * The paper's Table 2 / Fig. 5 question: does the U-Net's skip matter?
 * U-Net vs the encoder-decoder (the same network with the skips cut),
 * each trained with L1 and with L1+cGAN, on facades labels -> photo.
 *
 * The four variants are one sweep (local worker processes, or --queue).
 *
 *   npx tsx examples/ablation-generator.ts [--steps N] [--full] [--data DIR] [--out DIR] [--workers N | --queue URL]
 */
import { disposeTree } from '../lib/node.ts';
import { exampleArgs, facades, fmt, heldOut, markdownTable, report, startBackend } from './lib/experiment.ts';
import { getSegmenter } from './lib/segmenter.ts';
import { sweepVariants, type ConfigVariant } from './lib/sweep-variants.ts';

const args = exampleArgs('ablation-generator');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const ngf = args.full ? 64 : 32;

// encoderDecoderN is unetN with the skips cut; both with the 70x70 PatchGAN.
const variants: ConfigVariant[] = [
  ['Encoder-decoder, L1', 'encoderDecoder', 'l1'],
  ['Encoder-decoder, L1+cGAN', 'encoderDecoder', 'l1+cgan'],
  ['U-Net, L1', 'unet', 'l1'],
  ['U-Net, L1+cGAN', 'unet', 'l1+cgan'],
].map(([name, g, objective]) => ({ name: name!, config: { generator: `${g}${data.size}`, objective: objective!, discriminator: 'patch70', ngf, ndf: ngf } }));

const pairs = await heldOut(data);
const segmenter = await getSegmenter(data, run, args.full);
const results = await sweepVariants(data, variants, run, pairs, args, segmenter);
const rows = results.map(({ name, scores: s, fcn, seconds }) => [
  name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(fcn?.pixelAccuracy), fmt(fcn?.meanClassAccuracy), fmt(fcn?.meanIoU), fmt(seconds, 0),
]);
const table = markdownTable(['generator, objective', 'L1', 'SSIM', 'PSNR', 'FCN pixel acc', 'FCN class acc', 'FCN IoU', 'train s'], rows);
await report(args.out, table, pairs, results, { data: data.root, size: data.size, steps: run.steps, backend: backend.name });
disposeTree(segmenter.params);
disposeTree(segmenter.state);
