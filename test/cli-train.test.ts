// `pix2pix train / test / translate` end to end on the tiny facade fixtures.
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';
import { exitOf, spawnChild, waitUntil } from './helpers/child.ts';
import sharp from 'sharp';
import { writeImage } from '../lib/data/image.ts';

const tmp = mkdtempSync(join(tmpdir(), 'pix2pix-cli-'));
afterAll(() => {
  // Left for inspection on failure; the OS cleans tmp.
});

const small = ['--data', 'test/fixtures/facades', '--direction', 'BtoA', '--size', '32', '--load-size', '36', '--generator', 'unet32', '--ngf', '8', '--ndf', '8', '--discriminator', 'patch16', '--backend', 'cpu', '--quiet'];

const run = runCli;

describe('train, resume, translate', () => {
  it('40 steps in one go == 20 steps, then --resume to 40: identical weights and identical translations', async () => {
    const a = join(tmp, 'a');
    const b = join(tmp, 'b');
    expect((await run('train', ...small, '--steps', '40', '--out', a)).status).toBe(0);
    expect((await run('train', ...small, '--steps', '20', '--out', b)).status).toBe(0);
    const resumed = await run('train', '--out', b, '--resume', '--steps', '40', '--backend', 'cpu', '--quiet');
    expect(resumed.status).toBe(0);
    expect(resumed.out).toMatch(/from step 20 to 40/);
    expect(readFileSync(join(b, 'checkpoint', 'weights.bin')).equals(readFileSync(join(a, 'checkpoint', 'weights.bin')))).toBe(true);
    for (const r of [a, b]) {
      const t = await run('translate', '--run', r, '--input', 'test/fixtures/facades-separate/train/B/1.png', '--output', join(r, 'one.png'), '--seed', '1', '--backend', 'cpu');
      expect(t.status).toBe(0);
    }
    expect(readFileSync(join(b, 'one.png')).equals(readFileSync(join(a, 'one.png')))).toBe(true);
    // The run directory holds what the docs promise.
    for (const f of ['config.json', 'model.json', 'losses.jsonl', 'index.html', 'samples/5-output.png']) expect(existsSync(join(a, f))).toBe(true);
    const losses = readFileSync(join(a, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(losses.filter((l) => l['L1'] !== undefined).map((l) => l.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(readFileSync(join(a, 'index.html'), 'utf8')).toMatch(/<svg[\s\S]*5-output\.png/);
  });

  it('test writes input / output / target for a split (the right halves, at the run\'s size, with the L1 it reports) and an HTML page', async () => {
    const r = join(tmp, 'a');
    const t = await run('test', '--run', r, '--data', 'test/fixtures/facades', '--split', 'val', '--backend', 'cpu');
    expect(t.status).toBe(0);
    const meanL1 = Number(/mean L1 (0\.\d+) over 2 pairs/.exec(t.out)?.[1]);
    const page = readFileSync(join(r, 'test-val', 'index.html'), 'utf8');
    const pixels = async (file: string) => {
      const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
      return { data, width: info.width, height: info.height };
    };
    const l1s: number[] = [];
    for (const name of ['5', '6']) {
      const [input, output, target] = await Promise.all(['input', 'output', 'target'].map((k) => pixels(join(r, 'test-val', 'images', `${name}-${k}.png`))));
      for (const img of [input!, output!, target!]) expect([img.width, img.height]).toEqual([32, 32]);
      expect(page).toContain(`images/${name}-output.png`);
      // BtoA: the input is the labels (right) half, the target the photo (left) half, resized to 36 and
      // centre-cropped to 32. sharp's own resize of each half is the oracle, up to the resampling filter.
      const half = async (left: number) => {
        const { data } = await sharp(`test/fixtures/facades/val/${name}.jpg`).extract({ left, top: 0, width: 64, height: 64 }).resize(36, 36, { kernel: 'cubic' }).extract({ left: 2, top: 2, width: 32, height: 32 }).raw().toBuffer({ resolveWithObject: true });
        return data;
      };
      const mad = (a: Uint8Array, b: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length / 255;
      const [photo, labels] = [await half(0), await half(64)];
      expect(mad(input!.data, labels)).toBeLessThan(0.04);
      expect(mad(input!.data, photo)).toBeGreaterThan(0.1);
      expect(mad(target!.data, photo)).toBeLessThan(0.04);
      // L1 on [-1, 1] is twice the mean absolute difference on [0, 1]; PNGs are 8-bit, so within 1/255.
      l1s.push(2 * mad(output!.data, target!.data));
    }
    expect(Math.abs((l1s[0]! + l1s[1]!) / 2 - meanL1)).toBeLessThan(2 / 255);
  });

  it('translate refuses an image the network does not fit, and --resize fixes it', async () => {
    const odd = join(tmp, 'odd.png');
    await writeImage(odd, { height: 30, width: 30, channels: 3, data: new Float32Array(30 * 30 * 3) });
    const bad = await run('translate', '--run', join(tmp, 'a'), '--input', odd, '--output', join(tmp, 'odd-out.png'), '--backend', 'cpu');
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/odd\.png is 30x30.*--resize/);
    const ok = await run('translate', '--run', join(tmp, 'a'), '--input', odd, '--output', join(tmp, 'odd-out.png'), '--resize', '--backend', 'cpu');
    expect(ok.status).toBe(0);
    // Resized to the training size (32), which the network keeps.
    expect(await sharp(join(tmp, 'odd-out.png')).metadata()).toMatchObject({ width: 32, height: 32, format: 'png' });
  });
});

describe("train with pix2pixHD's recipe from flags", () => {
  // The command at the tiny size: a ResNet G, 2-scale D, L1 + hinge cGAN + feature matching, TTUR, clipping.
  const hd = ['--data', 'test/fixtures/facades', '--direction', 'BtoA', '--size', '32', '--load-size', '36', '--generator', 'resnet2', '--ngf', '4', '--ndf', '4', '--discriminator', 'patch16',
    '--scales', '2', '--objective', 'l1:100+cgan+fm:10', '--gan-mode', 'hinge', '--lr-d', '4e-4', '--grad-clip', '1', '--quiet'];

  it('runs, logs each term by name, and 3 steps + --resume to 6 give byte-identical weights to 6 in one go', async () => {
    const a = join(tmp, 'hd-a');
    const b = join(tmp, 'hd-b');
    expect((await run('train', ...hd, '--steps', '6', '--out', a)).status).toBe(0);
    expect((await run('train', ...hd, '--steps', '3', '--out', b)).status).toBe(0);
    expect((await run('train', '--out', b, '--resume', '--steps', '6', '--quiet')).status).toBe(0);
    expect(readFileSync(join(b, 'checkpoint', 'weights.bin')).equals(readFileSync(join(a, 'checkpoint', 'weights.bin')))).toBe(true);
    const records = readFileSync(join(a, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(Object.keys(records.find((r) => r['L1'] !== undefined)!).sort()).toEqual(['D/cgan/fake', 'D/cgan/real', 'G/cgan', 'G/fm', 'G/l1', 'L1', 'epoch', 'lr', 'lrD', 'step']);
    const config = JSON.parse(readFileSync(join(a, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect([config['scales'], config['lrD'], config['gradClip'], config['ganMode']]).toEqual([2, 4e-4, 1, 'hinge']);
    const model = JSON.parse(readFileSync(join(a, 'model.json'), 'utf8')) as { discriminator: { scales: unknown[] } };
    expect(model.discriminator.scales).toHaveLength(2);
  });

  it('a resumed run keeps its game: --scales or --lr-d may not change', async () => {
    const changed = await run('train', '--out', join(tmp, 'hd-a'), '--resume', '--scales', '3');
    expect(changed.status).toBe(2);
    expect(changed.err).toMatch(/--scales 3 differs from the run's saved config \(2\)/);
  });
});

describe('train refuses bad input before training', () => {
  it('a corrupt image: non-zero exit naming the file', async () => {
    const data = join(tmp, 'corrupt-data');
    cpSync('test/fixtures/facades', data, { recursive: true });
    writeFileSync(join(data, 'train', '3.jpg'), readFileSync('test/fixtures/facades/train/3.jpg').subarray(0, 40));
    const r = await run('train', ...small, '--data', data, '--steps', '2', '--out', join(tmp, 'c'));
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/3\.jpg/);
    expect(existsSync(join(tmp, 'c', 'config.json'))).toBe(false);
  });

  it.each([
    [['--norm', 'group'], /--norm: expected batch \| instance \| none/],
    [['--objective', 'l1+wgan'], /objective: unknown objective term 'wgan'/],
    [['--generator', 'unet250'], /generator: unknown generator 'unet250'/],
    [['--size', '0'], /--size: expected a positive integer/],
    [['--epocs', '3'], /Unknown option '--epocs'/],
  ])('%j is a usage error naming the flag', async (extra, message) => {
    const r = await run('train', ...small, ...extra, '--out', join(tmp, 'never'));
    expect(r.status).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('a size the generator does not fit is an error naming the layer', async () => {
    const r = await run('train', ...small, '--size', '24', '--load-size', '28', '--out', join(tmp, 'size24'));
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/do not fit --size 24: generator › unet › .*level 5 › conv 4x4\/2: input 1x1 is smaller than the kernel/);
  });

  it('an existing run needs --resume, and a resumed run keeps its config', async () => {
    const again = await run('train', ...small, '--steps', '2', '--out', join(tmp, 'a'));
    expect(again.status).toBe(2);
    expect(again.err).toMatch(/already holds a run \(its checkpoint is at step 40\): pass --resume/);
    const changed = await run('train', '--out', join(tmp, 'a'), '--resume', '--ngf', '16', '--backend', 'cpu');
    expect(changed.status).toBe(2);
    expect(changed.err).toMatch(/--ngf 16 differs from the run's saved config \(8\)/);
  });
});

describe('SIGINT', () => {
  it('finishes the step, writes a checkpoint at the step it reports, exits 130, and --resume continues from there', async () => {
    const out = join(tmp, 'sigint');
    const child = spawnChild(['train', ...small, '--steps', '100000', '--sample-every', '1000', '--checkpoint-every', '100000', '--out', out]);
    const losses = join(out, 'losses.jsonl');
    // Interrupt once training has visibly started (the first 20 records are flushed).
    await waitUntil(child, '25 loss records', () => existsSync(losses) && readFileSync(losses, 'utf8').split('\n').length > 25);
    child.proc.kill('SIGINT');
    expect(await exitOf(child)).toEqual({ code: 130, signal: null });
    const step = Number(/stopped by SIGINT at step (\d+)/.exec(child.stdout())?.[1]);
    expect(step).toBeGreaterThan(20);
    expect(child.stdout()).toMatch(/continue with: pix2pix train --out .*sigint --resume/);
    const manifest = JSON.parse(readFileSync(join(out, 'checkpoint', 'manifest.json'), 'utf8'));
    expect(manifest.meta.step).toBe(step);
    const resumed = await run('train', '--out', out, '--resume', '--steps', String(step + 3), '--backend', 'cpu', '--quiet');
    expect(resumed.status).toBe(0);
    expect(resumed.out).toMatch(new RegExp(`from step ${step} to ${step + 3}`));
  });
});
