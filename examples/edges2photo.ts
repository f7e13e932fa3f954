/**
 * Edges -> photo: Canny edges computed by the library from the facade
 * photos (the paper's edges2shoes/handbags used HED edges), then pix2pix
 * from the edge map back to the photo, with L1 and with L1+cGAN.
 *
 *   npx tsx examples/edges2photo.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { join } from 'node:path';
import { cannyEdges, cgan, l1, patchDiscriminator, plus, unet, type FloatImage } from '../lib/index.ts';
import { asImage, exampleArgs, fmt, heldOut, markdownTable, release, score, startBackend, train, translate, writeGrid, writeResults, type DataSetup } from './lib/experiment.ts';
import { deriveFromPhotos } from './lib/derive.ts';

const args = exampleArgs('edges2photo');
const backend = await startBackend(args);
const root = await deriveFromPhotos(args.data, join(args.out, 'data'), (photo) => cannyEdges(photo, { sigma: 1.5 }));
const data: DataSetup = { root, direction: 'AtoB', train: [0, -40], heldOut: [-40], size: args.full ? 256 : 64, loadSize: args.full ? 286 : 72 };
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const net = { depth: Math.log2(data.size), ngf: args.full ? 64 : 32 };

const variants = [
  { name: 'L1', objective: l1(100) },
  { name: 'L1+cGAN', objective: plus(l1(100), cgan()) },
].map((v) => ({ ...v, generator: unet(net), discriminator: patchDiscriminator(70, { ndf: net.ngf }) }));
const pairs = await heldOut(data);
const rows: string[][] = [];
const outputs: FloatImage[][] = [];
const results: Record<string, unknown> = {};
for (const v of variants) {
  console.log(`${v.name}: training ${run.steps} steps on ${backend.name}`);
  const t = await train(data, v, run);
  const out = translate(t, pairs);
  const s = score(out, pairs);
  rows.push([v.name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.L.intersection), fmt(s.lab?.a.intersection), fmt(s.lab?.b.intersection)]);
  results[v.name] = s;
  outputs.push(out);
  release(t);
}
const table = markdownTable(['objective', 'L1', 'SSIM', 'PSNR', 'L ∩', 'a ∩', 'b ∩'], rows);
console.log(`\n${table}`);
const grid = join(args.out, 'grid.png');
await writeGrid(grid, pairs.slice(0, 6).map((p, i) => [asImage(p, 'x'), ...outputs.map((o) => o[i]!), asImage(p, 'y')]));
await writeResults(args.out, 'results', `${table}\n\nColumns of ${grid}: edges, ${variants.map((v) => v.name).join(', ')}, target.`, { size: data.size, steps: run.steps, backend: backend.name, results });
console.log(`grid: ${grid}`);
