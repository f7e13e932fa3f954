// Runs as one file: the run archive (.zip) that `pix2pix export` and the web
// page write and `translate --run` reads. The oracle is the run directory
// itself, read by the loader that came before archives.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { batches, decodeRunArchive, memoryDataset, RunArchiveError } from '../lib/index.ts';
import { openDataset } from '../lib/data/node.ts';
import { runCli } from './helpers/run-cli.ts';
import { FACADES, scratch, tinyTrain } from './helpers/tiny-run.ts';

const INPUT = 'test/fixtures/facades/val';

describe('run archives', () => {
  const root = scratch('archive');
  const run = join(root, 'run');
  beforeAll(async () => {
    // --train-range with a negative end: its config must read back (it once failed to decode).
    const r = await runCli(...tinyTrain(), '--train-range', '0:-1', '--steps', '3', '--out', run);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).trainRange).toEqual([0, -1]);
  });

  it('translate --run FILE.zip (export, full or --generator-only) writes the same images as translate --run DIR', async () => {
    const full = join(root, 'full.zip');
    const gOnly = join(root, 'g.zip');
    expect((await runCli('export', '--run', run, '--out', full)).status).toBe(0);
    const g = await runCli('export', '--run', run, '--out', gOnly, '--generator-only');
    expect(g.status).toBe(0);
    expect(g.out).toMatch(/-> .*g\.zip \(\d+\.\d MiB, generator only\)/);
    // G alone is smaller: no D, no Adam moments.
    expect(statSync(gOnly).size).toBeLessThan(statSync(full).size / 2);
    const outputs = async (from: string, to: string) => {
      const r = await runCli('translate', '--run', from, '--input', INPUT, '--output', join(root, to), '--seed', '4', '--backend', 'cpu');
      expect(r.err).toBe('');
      expect(r.status).toBe(0);
      return readdirSync(join(root, to)).sort().map((f) => readFileSync(join(root, to, f)));
    };
    const want = await outputs(run, 'from-dir');
    expect(want.length).toBeGreaterThan(0);
    expect(await outputs(full, 'from-full')).toEqual(want);
    expect(await outputs(gOnly, 'from-g')).toEqual(want);
    // The archive holds the run's own config.json and checkpoint files.
    const files = decodeRunArchive(new Uint8Array(readFileSync(full)), full);
    expect(JSON.parse(files.config)).toEqual(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')));
    expect(Buffer.from(files.checkpoint.weights).equals(readFileSync(join(run, 'checkpoint', 'weights.bin')))).toBe(true);
  });

  it('a run directory zipped by hand (its files under one folder) reads too', async () => {
    const dir = (f: string) => new Uint8Array(readFileSync(join(run, f)));
    const zip = zipSync({ 'myrun/config.json': dir('config.json'), 'myrun/checkpoint/manifest.json': dir('checkpoint/manifest.json'), 'myrun/checkpoint/weights.bin': dir('checkpoint/weights.bin') });
    const files = decodeRunArchive(zip, 'myrun.zip');
    expect(files.checkpoint.weights.byteLength).toBe(statSync(join(run, 'checkpoint', 'weights.bin')).size);
  });

  it('bad archives are errors that say what is missing; export never replaces a file', async () => {
    expect(() => decodeRunArchive(strToU8('not a zip'), 'x.zip')).toThrow(RunArchiveError);
    expect(() => decodeRunArchive(strToU8('not a zip'), 'x.zip')).toThrow(/^x\.zip: not a zip file/);
    expect(() => decodeRunArchive(zipSync({ 'a.txt': strToU8('a') }), 'y.zip')).toThrow(/y\.zip: it has no config\.json; a run archive holds config\.json, checkpoint\/manifest\.json and checkpoint\/weights\.bin \(it has a\.txt\)/);
    expect(() => decodeRunArchive(zipSync({ 'config.json': strToU8('{}') }), 'z.zip')).toThrow(/z\.zip: it has no checkpoint\/manifest\.json/);
    const taken = join(root, 'taken.zip');
    writeFileSync(taken, 'mine');
    const r = await runCli('export', '--run', run, '--out', taken);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/--out .*taken\.zip exists: choose another name/);
    expect(readFileSync(taken, 'utf8')).toBe('mine');
    const t = await runCli('translate', '--run', join(root, 'taken.zip'), '--input', INPUT, '--output', join(root, 'never'));
    expect(t.status).toBe(1);
    expect(t.err).toMatch(/taken\.zip: not a zip file/);
    expect(existsSync(join(root, 'never'))).toBe(false);
  });

  it('translate --mode eval on a batch-norm run without running statistics: a usage error saying to use --mode paper, no stack trace', async () => {
    const r = await runCli('translate', '--run', run, '--input', INPUT, '--output', join(root, 'eval'), '--mode', 'eval');
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/--mode eval uses batch norm's running statistics, and .* has none .*: use --mode paper/);
    expect(r.err).not.toMatch(/\n\s+at /);
  });
});

describe('memoryDataset', () => {
  it('yields the same batches as the same pairs read from their folder', async () => {
    const disk = await openDataset({ root: FACADES, split: 'train', direction: 'BtoA' });
    const pairs = await Promise.all(Array.from({ length: disk.size }, (_, i) => disk.load(i)));
    const memory = memoryDataset(pairs, { direction: 'BtoA' });
    const opts = { batchSize: 1, seed: 5, epochs: 2, preprocess: { loadSize: 36, cropSize: 32 } };
    const a = [];
    const b = [];
    for await (const x of batches(disk, opts)) a.push({ names: x.names, x: Array.from(x.x.dataSync()), y: Array.from(x.y.dataSync()), d: x.x.dispose() ?? x.y.dispose() });
    for await (const x of batches(memory, opts)) b.push({ names: x.names, x: Array.from(x.x.dataSync()), y: Array.from(x.y.dataSync()), d: x.x.dispose() ?? x.y.dispose() });
    expect(b.length).toBe(2 * disk.size);
    expect(b).toEqual(a);
  });

  it('refuses no pairs, and pairs whose arrays do not match their size, naming the pair', () => {
    expect(() => memoryDataset([])).toThrow('pairs in memory: no pairs');
    const bad = { name: 'p', height: 2, width: 2, x: new Float32Array(11), y: new Float32Array(12), xChannels: 3 as const, yChannels: 3 as const };
    expect(() => memoryDataset([bad], { name: 'drops' })).toThrow('drops: "p" is 2x2, but its pixel arrays have 11 and 12 values');
  });
});
