// The sweep tests' tiny runs and their oracle: the same config trained alone
// by a plain `pix2pix train` in its own process. Every process gets one
// OpenMP thread, so native kernels sum in the same order everywhere.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { exitOf, spawnChild, type Child } from './child.ts';
import { FACADES, scratch, weightsOf } from './tiny-run.ts';

export const ONE_THREAD = { ...process.env, OMP_NUM_THREADS: '1' };

/** The tiny run (as tinyTrain's flags): 32x32, unet32 ngf 8, patch16 ndf 8, BtoA, 10 steps. */
export const TINY_BASE = {
  data: FACADES,
  direction: 'BtoA',
  size: 32,
  loadSize: 36,
  generator: 'unet32',
  discriminator: 'patch16',
  ngf: 8,
  ndf: 8,
  steps: 10,
  checkpointEvery: 5,
  sampleEvery: 100,
};

/** TINY_BASE less the fields an axis varies (a field is set in one place). */
export const baseLess = (...fields: string[]): Record<string, unknown> => Object.fromEntries(Object.entries(TINY_BASE).filter(([k]) => !fields.includes(k)));

export const writeSweep = (dir: string, sweep: object): string => {
  const file = join(dir, 'sweep.json');
  writeFileSync(file, JSON.stringify(sweep));
  return file;
};

/** `pix2pix ...` in a child process with one OpenMP thread. */
export const cli = (...args: string[]): Child => spawnChild(args, { env: ONE_THREAD });

const flagOf = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const alone = new Map<string, Buffer>();

/**
 * The final weights of TINY_BASE + `overrides` trained by `pix2pix train`
 * alone (memoised per test file): the flags written out here, by hand,
 * not by the sweep's code.
 */
export const aloneWeights = async (overrides: Readonly<Record<string, string | number>>): Promise<Buffer> => {
  const key = JSON.stringify(overrides);
  const cached = alone.get(key);
  if (cached) return cached;
  const config: Record<string, string | number> = { ...TINY_BASE, ...overrides };
  const out = join(scratch('alone'), 'run');
  const flags = Object.entries(config).flatMap(([k, v]) => [flagOf(k), String(v)]);
  const child = cli('train', ...flags, '--quiet', '--out', out);
  const exit = await exitOf(child, 120_000);
  expect(exit.code, child.stderr()).toBe(0);
  const w = weightsOf(out);
  alone.set(key, w);
  return w;
};

/** The overrides a sweep run's name spells (`objective=l1,seed=0`), numbers as numbers. */
export const overridesOf = (name: string): Record<string, string | number> =>
  Object.fromEntries(name.split(',').map((kv) => {
    const [k, v] = kv.split('=') as [string, string];
    return [k, /^-?\d+$/.test(v) ? Number(v) : v];
  }));
