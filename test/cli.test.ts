// `pix2pix summary`, in process (fast) and once through the real bin.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { main } from '../lib/cli/main.ts';

const run = async (...argv: string[]) => {
  const lines: string[] = [];
  const status = await main(argv, (l) => lines.push(l));
  return { status, out: lines.join('\n') };
};

const json = async (...argv: string[]) => {
  const { status, out } = await run('summary', '--json', '--backend', 'cpu', ...argv);
  expect(status).toBe(0);
  return JSON.parse(out);
};

describe('pix2pix summary --json', () => {
  it('unet256 + patch70 at 256: the reference numbers', async () => {
    expect(await json('--generator', 'unet256', '--discriminator', 'patch70', '--size', '256')).toEqual({
      generator: { params: 54_413_955, outputShape: [256, 256, 3], receptiveField: 1278 },
      discriminator: { params: 2_768_705, outputShape: [30, 30, 1], receptiveField: 70 },
      backend: 'cpu',
    });
  });

  it.each([
    ['pixel', 9_024, 1, 256],
    ['patch16', 139_585, 16, 126],
    ['image286', 11_159_361, 286, 6],
    ['patch34', 666_433, 34, 62],
  ])('%s: %i parameters, receptive field %i', async (name, params, rf, grid) => {
    const out = await json('--discriminator', name);
    expect(out.discriminator).toEqual({ params, outputShape: [grid, grid, 1], receptiveField: rf });
  });

  it.each([
    ['resnet9', [], 11_383_427],
    ['resnet6', [], 7_841_411],
    ['resnet9', ['--norm', 'instance'], 11_378_179],
  ])("%s %j + patch70 at 256: the reference's generator parameters", async (name, extra, params) => {
    expect((await json('--generator', name, '--discriminator', 'patch70', '--size', '256', ...extra)).generator.params).toBe(params);
  });

  it("--scales 2: pix2pixHD's D, two patch70s (5,537,410 parameters), scale 2 seeing the input pooled once (141 input pixels)", async () => {
    expect((await json('--generator', 'unet256', '--discriminator', 'patch70', '--scales', '2', '--size', '256')).discriminator).toEqual({
      params: 5_537_410,
      outputShape: [30, 30, 1],
      receptiveField: 70,
      scales: [
        { params: 2_768_705, outputShape: [30, 30, 1], receptiveField: 70 },
        { params: 2_768_705, outputShape: [14, 14, 1], receptiveField: 141 },
      ],
    });
  });

  it('unet128 at 128', async () => {
    expect((await json('--generator', 'unet128', '--size', '128')).generator.params).toBe(41_828_995);
  });
});

describe('pix2pix summary errors', () => {
  it('--size 250 with unet256 fails naming the layer', async () => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      const { status } = await run('summary', '--size', '250', '--backend', 'cpu');
      expect(status).toBe(1);
    } finally {
      console.error = original;
    }
    expect(errors.join('\n')).toMatch(/generator unet256 on 250x250x3: unet › level 8 › conv 4x4\/2: input 1x1 is smaller than the kernel/);
  });

  it.each([
    [['--size', 'abc'], /--size: expected a positive integer, got "abc"/],
    [['--norm', 'group'], /--norm: expected batch \| instance \| none/],
    [['--discriminator', 'patch50'], /--discriminator: unknown discriminator 'patch50'.*patch70|16, 34, 70/],
    [['--sise', '3'], /Unknown option '--sise'/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const errors: string[] = [];
    const original = console.error;
    console.error = (m: string) => errors.push(m);
    try {
      const { status } = await run('summary', ...args);
      expect(status).toBe(2);
    } finally {
      console.error = original;
    }
    expect(errors.join('\n')).toMatch(message);
  });
});

describe('the pix2pix bin', () => {
  it('prints exactly one JSON object on stdout', () => {
    const stdout = execFileSync('node', ['lib/cli/bin.mjs', 'summary', '--json'], { encoding: 'utf8' });
    const parsed = JSON.parse(stdout);
    expect(parsed.generator.params).toBe(54_413_955);
    expect(['tensorflow', 'native', 'wasm']).toContain(parsed.backend);
  });

  it('exits non-zero on a size that does not fit, naming the layer', () => {
    const r = spawnSync('node', ['lib/cli/bin.mjs', 'summary', '--size', '250'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/level 8 › conv 4x4\/2: input 1x1 is smaller than the kernel/);
  });
});
