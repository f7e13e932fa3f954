// `pix2pix train / test / translate` end to end on the tiny facade fixtures.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';
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
    expect(losses.filter((l) => l.gL1 !== undefined).map((l) => l.step)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(readFileSync(join(a, 'index.html'), 'utf8')).toMatch(/<svg[\s\S]*5-output\.png/);
  });

  it('test writes input / output / target for a split and an HTML page', async () => {
    const r = join(tmp, 'a');
    const t = await run('test', '--run', r, '--data', 'test/fixtures/facades', '--split', 'val', '--backend', 'cpu');
    expect(t.status).toBe(0);
    expect(t.out).toMatch(/mean L1 0\.\d+ over 2 pairs/);
    expect(readFileSync(join(r, 'test-val', 'index.html'), 'utf8')).toMatch(/6-target\.png/);
  });

  it('translate refuses an image the network does not fit, and --resize fixes it', async () => {
    const odd = join(tmp, 'odd.png');
    await writeImage(odd, { height: 30, width: 30, channels: 3, data: new Float32Array(30 * 30 * 3) });
    const bad = await run('translate', '--run', join(tmp, 'a'), '--input', odd, '--output', join(tmp, 'odd-out.png'), '--backend', 'cpu');
    expect(bad.status).toBe(1);
    expect(bad.err).toMatch(/odd\.png is 30x30.*--resize/);
    const ok = await run('translate', '--run', join(tmp, 'a'), '--input', odd, '--output', join(tmp, 'odd-out.png'), '--resize', '--backend', 'cpu');
    expect(ok.status).toBe(0);
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
    expect(again.err).toMatch(/already holds a run: pass --resume/);
    const changed = await run('train', '--out', join(tmp, 'a'), '--resume', '--ngf', '16', '--backend', 'cpu');
    expect(changed.status).toBe(2);
    expect(changed.err).toMatch(/--ngf 16 differs from the run's saved config \(8\)/);
  });
});

describe('SIGINT', () => {
  it('writes a checkpoint that --resume continues from', async () => {
    const out = join(tmp, 'sigint');
    const child = spawn('node', ['lib/cli/bin.mjs', 'train', ...small, '--steps', '100000', '--sample-every', '1000', '--checkpoint-every', '100000', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    // Interrupt once training has visibly started.
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(join(out, 'losses.jsonl')) && readFileSync(join(out, 'losses.jsonl'), 'utf8').split('\n').length > 25) {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const step = Number(/interrupted at step (\d+)/.exec(stdout)?.[1]);
    expect(step).toBeGreaterThan(20);
    const manifest = JSON.parse(readFileSync(join(out, 'checkpoint', 'manifest.json'), 'utf8'));
    expect(manifest.meta.step).toBe(step);
    const resumed = await run('train', '--out', out, '--resume', '--steps', String(step + 3), '--backend', 'cpu', '--quiet');
    expect(resumed.status).toBe(0);
    expect(resumed.out).toMatch(new RegExp(`from step ${step} to ${step + 3}`));
  });
});
