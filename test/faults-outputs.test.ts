// Issue 9, items 1-3: nothing a user owns is overwritten by translate, test or train.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/run-cli.ts';
import { FACADES, scratch, tinyTrain } from './helpers/tiny-run.ts';

const root = scratch('outputs');
const run = join(root, 'run');
const B = 'test/fixtures/facades-separate/train/B'; // 1.png 2.png 3.png, 64x64

/** Every file under `dir` with its bytes, to compare before and after. */
const snapshot = (dir: string): Record<string, string> =>
  Object.fromEntries(readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => {
    const p = join(e.parentPath, e.name);
    return [p, readFileSync(p).toString('base64')];
  }));

beforeAll(async () => {
  const r = await runCli(...tinyTrain(), '--steps', '2', '--out', run);
  expect(r.status, r.err).toBe(0);
});

describe('#1 translate never replaces an input file', () => {
  it('--output the --input folder: refused before anything is written, naming the output and the input', async () => {
    const folder = join(root, 'in-place');
    cpSync(B, folder, { recursive: true });
    const before = snapshot(folder);
    const r = await runCli('translate', '--run', run, '--input', folder, '--output', folder);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/writing .*in-place\/1\.png would replace the input .*in-place\/1\.png/);
    expect(snapshot(folder)).toEqual(before);
  });

  it('--input a.png --output a.png, also spelt differently or through a link: refused, the file unchanged', async () => {
    const folder = join(root, 'one');
    cpSync(B, folder, { recursive: true });
    const before = snapshot(folder);
    symlinkSync(join(folder, '2.png'), join(root, 'link.png'));
    for (const [input, output] of [
      [join(folder, '1.png'), join(folder, '1.png')],
      [join(folder, '1.png'), `${folder}/./1.png`],
      [join(root, 'link.png'), join(folder, '2.png')],
    ] as const) {
      const r = await runCli('translate', '--run', run, '--input', input, '--output', output);
      expect(r.status, `${input} -> ${output}`).toBe(2);
      expect(r.err).toMatch(/would replace the input/);
    }
    expect(snapshot(folder)).toEqual(before);
  });

  it('a separate --output folder gets NAME.png of the input size for each input', async () => {
    const out = join(root, 'translated');
    const r = await runCli('translate', '--run', run, '--input', B, '--output', out);
    expect(r.status, r.err).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['1.png', '2.png', '3.png']);
    const sharp = (await import('sharp')).default;
    expect(await sharp(join(out, '1.png')).metadata()).toMatchObject({ width: 64, height: 64 });
  });
});

describe('#2 two inputs of one name', () => {
  it('x.jpg and x.png in one folder: an error naming both before anything is translated', async () => {
    const folder = join(root, 'same-stem');
    mkdirSync(folder);
    cpSync(join(B, '1.png'), join(folder, 'x.png'));
    cpSync('test/fixtures/facades-separate/train/A/1.jpg', join(folder, 'x.jpg'));
    const out = join(root, 'same-stem-out');
    const r = await runCli('translate', '--run', run, '--input', folder, '--output', out);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/x\.jpg and .*x\.png would both be written to .*x\.png/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('#3 train and test write only into folders of their own', () => {
  const userFolder = (name: string) => {
    const dir = join(root, name);
    mkdirSync(join(dir, 'samples'), { recursive: true });
    for (const [f, text] of [['index.html', '<h1>my page</h1>'], ['model.json', '{"mine":true}'], ['losses.jsonl', '{"step":1}\n'], ['samples/1-input.png', 'not really a png']] as const)
      writeFileSync(join(dir, f), text);
    return dir;
  };

  it('train --out a non-empty folder that is not a run directory: refused, every file as it was, nothing added', async () => {
    const dir = userFolder('users-train');
    const before = snapshot(dir);
    const r = await runCli(...tinyTrain(), '--steps', '2', '--out', dir);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/--out .*users-train is not empty and is not a pix2pix run directory \(it holds index\.html, losses\.jsonl, model\.json, samples\)/);
    expect(snapshot(dir)).toEqual(before);
    expect(readdirSync(dir).sort()).toEqual(['index.html', 'losses.jsonl', 'model.json', 'samples']);
    // A user's config.json that is not a run's does not make the folder one.
    writeFileSync(join(dir, 'config.json'), '{"theme":"dark"}');
    expect((await runCli(...tinyTrain(), '--steps', '2', '--out', dir)).status).toBe(2);
    expect(readFileSync(join(dir, 'config.json'), 'utf8')).toBe('{"theme":"dark"}');
  });

  it('the run directory is marked by config.json, written first, with the format tag', () => {
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'))).toMatchObject({ format: 'pix2pix-ts/run', formatVersion: 1, size: 32 });
  });

  it("test --out a folder with the user's index.html: refused; its own folder may be written again", async () => {
    const dir = userFolder('users-test');
    const before = snapshot(dir);
    const r = await runCli('test', '--run', run, '--data', FACADES, '--split', 'val', '--out', dir);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/--out .*users-test is not empty and was not written by 'pix2pix test'/);
    expect(snapshot(dir)).toEqual(before);
    const own = join(root, 'test-out');
    for (let i = 0; i < 2; i++) expect((await runCli('test', '--run', run, '--data', FACADES, '--split', 'val', '--out', own)).status).toBe(0);
    expect(JSON.parse(readFileSync(join(own, 'test.json'), 'utf8'))).toMatchObject({ format: 'pix2pix-ts/test', split: 'val' });
  });
});
