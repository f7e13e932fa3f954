/**
 * Grayscale -> colour on the facade photos (the paper's colourisation
 * experiment, its Fig. 7 question: does the cGAN give more colourful, more
 * realistic colour distributions than L1?). The pairs are derived from the
 * photos: a 1-channel grayscale input and the colour photo as the target.
 *
 *   npx tsx examples/colorize.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { join } from 'node:path';
import { toChannels, floatToBytes, bytesToFloat, type FloatImage } from '../lib/node.ts';
import { exampleArgs, fmt, heldOut, markdownTable, report, runVariants, startBackend, type DataSetup, l1VersusCgan } from './lib/experiment.ts';
import { deriveFromPhotos } from './lib/derive.ts';

const args = exampleArgs('colorize');
const backend = await startBackend(args);
const gray = (photo: FloatImage): FloatImage => bytesToFloat(toChannels(floatToBytes(photo), 1));
const root = await deriveFromPhotos(args.data, join(args.out, 'data'), gray);
const data: DataSetup = { root, direction: 'AtoB', inChannels: 1, train: [0, -40], heldOut: [-40], size: args.full ? 256 : 64, loadSize: args.full ? 286 : 72 };
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const net = { depth: Math.log2(data.size), ngf: args.full ? 64 : 32, inChannels: 1 };

const variants = l1VersusCgan(net);
const pairs = await heldOut(data);
const results = await runVariants(data, variants, run, pairs, backend.name);
const rows = results.map(({ name, scores: s }) => [name, fmt(s.l1), fmt(s.ssim), ...(['L', 'a', 'b'] as const).flatMap((c) => [fmt(s.lab?.[c].intersection), fmt(s.lab?.[c].kl)])]);
const table = markdownTable(['objective', 'L1', 'SSIM', 'L ∩', 'L KL', 'a ∩', 'a KL', 'b ∩', 'b KL'], rows);
console.log("(∩: histogram intersection with the real photos' Lab marginals, higher is closer; KL(real || generated), lower is closer)");
await report(args.out, table, pairs, results, { size: data.size, steps: run.steps, backend: backend.name });
