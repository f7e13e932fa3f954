// The tiny pix2pix run the CLI fault tests train (32x32, unet32 ngf 8, patch16 ndf 8: a step takes
// milliseconds), and small helpers to set up and read run directories.
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FACADES = 'test/fixtures/facades';

/** `train` with the tiny model on `data`, backend left to auto (native where it is built). */
export const tinyTrain = (data = FACADES): string[] => [
  'train', '--data', data, '--direction', 'BtoA', '--size', '32', '--load-size', '36',
  '--generator', 'unet32', '--ngf', '8', '--ndf', '8', '--discriminator', 'patch16', '--quiet',
];

export const scratch = (name: string): string => mkdtempSync(join(tmpdir(), `pix2pix-${name}-`));

/** A copy of the facades fixture, to spoil. */
export const facadesCopy = (root: string, name = 'data'): string => {
  const dir = join(root, name);
  cpSync(FACADES, dir, { recursive: true });
  return dir;
};

/** Cut a JPEG to `fraction` of its bytes: its header still reads, its pixels do not decode. */
export const truncateFile = (file: string, fraction = 0.6): void => {
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * fraction)));
};

export type LossRecord = Record<string, number>;

export const lossRecords = (run: string): LossRecord[] =>
  existsSync(join(run, 'losses.jsonl'))
    ? readFileSync(join(run, 'losses.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as LossRecord)
    : [];

/** The per-step records (every step logs L1), in file order. */
export const stepRecords = (run: string): LossRecord[] => lossRecords(run).filter((r) => r['L1'] !== undefined);

/**
 * The step of the run's checkpoint, undefined where there is none. A run
 * still training swaps its checkpoint folder by renames: one can vanish
 * between a look and the read (ENOENT), which is the same answer, none
 * there at that moment.
 */
export const checkpointStep = (run: string): number | undefined => {
  const manifest = join(run, 'checkpoint', 'manifest.json');
  let text: string;
  try {
    text = readFileSync(manifest, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return (JSON.parse(text) as { meta: { step: number } }).meta.step;
};

export const weightsOf = (run: string): Buffer => readFileSync(join(run, 'checkpoint', 'weights.bin'));

export const range1 = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
