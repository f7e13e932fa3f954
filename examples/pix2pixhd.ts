/**
 * pix2pixHD's training recipe (Wang et al., CVPR 2018) beside the paper's:
 * a discriminator at two scales, the least-squares GAN, and feature
 * matching on the discriminators' features (lambda 10), with a U-Net or the
 * reference's ResNet generator — each model and objective one expression.
 * On facades labels -> photo at the CPU size (64x64), scored on the 40
 * held-out pairs. (pix2pixHD also adds a VGG perceptual loss and a coarse-
 * to-fine generator; neither is here.)
 *
 *   npx tsx examples/pix2pixhd.ts [--steps N] [--full] [--data DIR] [--out DIR]
 */
import { cgan, featureMatching, l1, multiscaleDiscriminator, patchDiscriminator, plus, resnetGenerator, unet } from '../lib/node.ts';
import { exampleArgs, facades, fmt, heldOut, markdownTable, report, runVariants, startBackend, type Variant } from './lib/experiment.ts';

const args = exampleArgs('pix2pixhd');
const backend = await startBackend(args);
const data = facades(args.data, args.full);
const run = { steps: args.steps ?? (args.full ? 200 * 360 : 1500), seed: 0, batch: 1 };
const ngf = args.full ? 64 : 32;

// The models and objectives: the paper's, and pix2pixHD's.
const D70 = () => patchDiscriminator(70, { ndf: ngf });
const hdObjective = () => plus(cgan({ mode: 'lsgan' }), featureMatching(10));
const variants: Variant[] = [
  { name: 'paper: U-Net, 70x70 D, L1+cGAN', generator: unet({ depth: Math.log2(data.size), ngf }), discriminator: D70(), objective: plus(l1(100), cgan()) },
  { name: 'pix2pixHD: U-Net, 2 scales, LSGAN+FM', generator: unet({ depth: Math.log2(data.size), ngf }), discriminator: multiscaleDiscriminator(2, D70()), objective: hdObjective() },
  { name: 'pix2pixHD: ResNet-9, 2 scales, LSGAN+FM', generator: resnetGenerator({ blocks: 9, ngf }), discriminator: multiscaleDiscriminator(2, D70()), objective: hdObjective() },
  { name: 'pix2pixHD + L1: ResNet-9', generator: resnetGenerator({ blocks: 9, ngf }), discriminator: multiscaleDiscriminator(2, D70()), objective: plus(l1(100), hdObjective()) },
];

const pairs = await heldOut(data);
const results = await runVariants(data, variants, run, pairs, backend.name);
const rows = results.map(({ name, scores: s, seconds }) => [name, fmt(s.l1), fmt(s.ssim), fmt(s.psnr, 2), fmt(s.lab?.L.intersection), fmt(s.lab?.b.intersection), fmt(seconds, 0)]);
const table = markdownTable(['recipe', 'L1', 'SSIM', 'PSNR', 'L ∩', 'b ∩', 'train s'], rows);
await report(args.out, table, pairs, results, { data: data.root, size: data.size, steps: run.steps, backend: backend.name });
