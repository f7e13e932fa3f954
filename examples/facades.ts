/**
 * pix2pix on facades, labels -> photo (BtoA), the paper's default setup:
 * U-Net, 70x70 PatchGAN, L1 + cGAN with lambda 100, Adam(2e-4, 0.5). Trains
 * on ../shared/datasets/facades/train (or --data DIR, e.g. a copy from
 * `npx pix2pix download facades`) less its last 40 files, which are the
 * fixed held-out split, never trained on.
 *
 *   npx tsx examples/facades.ts [--steps N] [--full] [--data DIR] [--out DIR]
 *
 * CPU default: 64x64 (resize 72, random crop 64, flips), unet64 ngf 32.
 * --full: 256x256 (resize 286, crop 256), unet256 ngf 64, 200 epochs.
 */
import { join } from 'node:path';
import { cgan, disposeTree, l1, makeKey, patchDiscriminator, plus, unet } from '../lib/node.ts';
import { asImage, exampleArgs, facades, fmt, heldOut, markdownTable, release, score, startBackend, train, translate, writeGrid, writeResults } from './lib/experiment.ts';

const args = exampleArgs('facades');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 3000), seed: 0, batch: 1 };
const ngf = args.full ? 64 : 32;
const variant = { name: 'L1+cGAN', generator: unet({ depth: Math.log2(data.size), ngf }), discriminator: patchDiscriminator(70, { ndf: ngf }), objective: plus(l1(100), cgan()) };

const pairs = await heldOut(data);
const untrained = variant.generator.init(makeKey(0), [data.size, data.size, 3]);
const before = score(translate({ variant, ...untrained }, pairs), pairs);
disposeTree(untrained.params);
console.log(`training ${run.steps} steps at ${data.size}x${data.size} on ${backend.name}; held-out L1 at step 0: ${fmt(before.l1)}`);
const t = await train(data, variant, run);
const out = translate(t, pairs);
const after = score(out, pairs);
const table = markdownTable(
  ['', 'L1', 'L2', 'PSNR', 'SSIM', 'L ∩', 'a ∩', 'b ∩'],
  [
    ['step 0', fmt(before.l1), fmt(before.l2), fmt(before.psnr, 2), fmt(before.ssim), fmt(before.lab?.L.intersection), fmt(before.lab?.a.intersection), fmt(before.lab?.b.intersection)],
    [`step ${run.steps}`, fmt(after.l1), fmt(after.l2), fmt(after.psnr, 2), fmt(after.ssim), fmt(after.lab?.L.intersection), fmt(after.lab?.a.intersection), fmt(after.lab?.b.intersection)],
  ],
);
console.log(`\n${table}\n(held-out: the last ${pairs.length} files of train; ${t.seconds.toFixed(0)} s of training)`);
const grid = join(args.out, 'grid.png');
await writeGrid(grid, pairs.slice(0, 8).map((p, i) => [asImage(p, 'x'), out[i]!, asImage(p, 'y')]));
await writeResults(args.out, 'results', `${table}\n\nColumns of ${grid}: input labels, output, target photo.`, { data: data.root, size: data.size, steps: run.steps, backend: backend.name, before, after, seconds: t.seconds });
console.log(`grid: ${grid}`);
release(t);
