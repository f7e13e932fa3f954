/** The benchmark configurations, shared by the driver and the measuring child. */
export interface BenchConfig {
  readonly name: string;
  readonly what: string;
  /** train / infer: one step or one translation, timed alone; e2e: `pix2pix train` on real files against torch_train_loop.py. */
  readonly kind: 'train' | 'infer' | 'e2e';
  /** Training crop, or the inference image size. */
  readonly size: number;
  readonly depth: number;
  readonly ngf: number;
  readonly ndf: number;
  readonly batch: number;
  readonly repeats: number;
  /** pix2pixHD's D and objective (2 scales, L1 + cGAN + feature matching): measured beside the others, with no PyTorch counterpart. */
  readonly hd?: boolean;
  /** Untimed training steps first, on both sides (the first steps fill caches and buffer pools; a run is thousands of steps). Inference warms up once, as the reference script does. The 64x64 rows take 20 (5 before 2026-12-06: ours was still getting faster through its first 15 timed steps, 50 -> 40 ms) and time 30. */
  readonly warmup: number;
  /** e2e: the size images are resized to before the random crop. */
  readonly load?: number;
}

export const benchConfigs: readonly BenchConfig[] = [
  { name: 'train256', what: 'train unet_256 + 70x70 D at 256x256, batch 1', kind: 'train', size: 256, depth: 8, ngf: 64, ndf: 64, batch: 1, repeats: 5, warmup: 5 },
  { name: 'train128', what: 'train unet_128 + 70x70 D at 128x128, batch 1', kind: 'train', size: 128, depth: 7, ngf: 64, ndf: 64, batch: 1, repeats: 5, warmup: 5 },
  { name: 'train64', what: 'train depth 6, ngf 32 + 70x70 D at 64x64, batch 1', kind: 'train', size: 64, depth: 6, ngf: 32, ndf: 64, batch: 1, repeats: 30, warmup: 20 },
  { name: 'train64ndf32', what: "train64 with the examples' D (ndf 32)", kind: 'train', size: 64, depth: 6, ngf: 32, ndf: 32, batch: 1, repeats: 30, warmup: 20 },
  { name: 'e2e64', what: 'pix2pix train on the facades files, 64x64 (load 72), unet64 ngf 32, ndf 32: s/step after warm-up', kind: 'e2e', size: 64, load: 72, depth: 6, ngf: 32, ndf: 32, batch: 1, repeats: 300, warmup: 20 },
  { name: 'e2e128', what: 'pix2pix train on the facades files, 128x128 (load 143), unet128 ngf 64, ndf 64: s/step after warm-up', kind: 'e2e', size: 128, load: 143, depth: 7, ngf: 64, ndf: 64, batch: 1, repeats: 100, warmup: 10 },
  { name: 'infer256', what: 'G inference (dropout + batch stats) at 256x256', kind: 'infer', size: 256, depth: 8, ngf: 64, ndf: 64, batch: 1, repeats: 15, warmup: 1 },
  { name: 'infer512', what: 'G inference (dropout + batch stats) at 512x512', kind: 'infer', size: 512, depth: 8, ngf: 64, ndf: 64, batch: 1, repeats: 5, warmup: 1 },
  { name: 'trainHD256', what: 'train unet_256 + 2-scale 70x70 D, L1 + cGAN + FM at 256x256 (ours only)', kind: 'train', size: 256, depth: 8, ngf: 64, ndf: 64, batch: 1, repeats: 5, warmup: 5, hd: true },
  { name: 'train256b4', what: 'train unet_256 + 70x70 D at 256x256, batch 4', kind: 'train', size: 256, depth: 8, ngf: 64, ndf: 64, batch: 4, repeats: 3, warmup: 3 },
];
