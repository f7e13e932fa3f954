/**
 * Edges -> photo: Canny edges computed by the library from the facade
 * photos (the paper's edges2shoes/handbags used HED edges), then pix2pix
 * from the edge map back to the photo, with L1 and with L1+cGAN.
 *
 *   npx tsx examples/edges2photo.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { join } from 'node:path';
import { cannyEdges } from '../lib/node.ts';
import { exampleArgs, fmt, heldOut, markdownTable, report, runVariants, startBackend, type DataSetup, l1VersusCgan } from './lib/experiment.ts';
import { deriveFromPhotos } from './lib/derive.ts';

const args = exampleArgs('edges2photo');
const backend = await startBackend(args);
const root = await deriveFromPhotos(args.data, join(args.out, 'data'), (photo) => cannyEdges(photo, { sigma: 1.5 }));
const data: DataSetup = { root, direction: 'AtoB', train: [0, -40], heldOut: [-40], size: args.full ? 256 : 64, loadSize: args.full ? 286 : 72 };
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const net = { depth: Math.log2(data.size), ngf: args.full ? 64 : 32 };

const variants = l1VersusCgan(net);
const pairs = await heldOut(data);
const results = await runVariants(data, variants, run, pairs, backend.name);
const rows = results.map(({ name, scores: s }) => [name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.L.intersection), fmt(s.lab?.a.intersection), fmt(s.lab?.b.intersection)]);
const table = markdownTable(['objective', 'L1', 'SSIM', 'PSNR', 'L ∩', 'a ∩', 'b ∩'], rows);
await report(args.out, table, pairs, results, { size: data.size, steps: run.steps, backend: backend.name });
