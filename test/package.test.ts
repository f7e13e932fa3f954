// The package as a user gets it: `npm pack`, installed into an empty project,
// used with plain node (no tsx, no loader flags): compiled ESM with types, a
// bin of compiled JavaScript, and a tarball without tests, fixtures or CI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'pix2pix-package-'));
const project = join(root, 'project');
let tarball = '';
let files: string[] = [];
const run = (cmd: string, args: string[], cwd = project) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  // `npm pack` builds dist/ first (the prepare script); --json names the file and lists what it holds.
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', root], process.cwd())) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(root, packed!.filename);
  files = packed!.files.map((f) => f.path);
  run('mkdir', ['-p', project], root);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-user-project', private: true, type: 'module' }));
  // Without install scripts: the native accelerator is not built, and the library runs on wasm / cpu.
  run('npm', ['install', tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline']);
}, 300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the packed tarball', () => {
  it('holds dist/ (JavaScript, declarations, source maps), the native sources and build script, README and LICENSE; no tests, fixtures, CI or TypeScript sources', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/index.js.map');
    expect(files).toContain('dist/cli/bin.js');
    expect(files).toContain('lib/backend/native/build.mjs');
    expect(files).toContain('lib/backend/native/binding.gyp');
    expect(files).toEqual(expect.arrayContaining(['README.md', 'LICENSE', 'package.json']));
    expect(files.filter((f) => /^(test|examples|docs|\.ci)\//.test(f) || (f.startsWith('lib/') && f.endsWith('.ts')))).toEqual([]);
  });
});

describe('installed into an empty project, with plain node', () => {
  it('imports both entries, builds the paper\'s networks, reports their receptive fields, and trains 2 steps on cpu', () => {
    writeFileSync(
      join(project, 'use.mjs'),
      `import * as tf from '@tensorflow/tfjs';
import { disposeReplaced, initTrainState, makeKey, makeStep, paperObjective, patchDiscriminator, receptiveField, unet } from 'pix2pix-ts';
import { useBackend } from 'pix2pix-ts/node';
await useBackend('cpu', { quiet: true });
const spec = { generator: unet({ depth: 5, ngf: 4 }), discriminator: patchDiscriminator(70, { ndf: 4 }), objective: paperObjective, inputShape: [32, 32, 3], outChannels: 3 };
console.log(JSON.stringify({ g: receptiveField(unet({ depth: 8 })), d: receptiveField(spec.discriminator) }));
let s = initTrainState(spec, makeKey(0)).right;
const step = makeStep(spec);
for (let i = 0; i < 2; i++) {
  const x = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', i);
  const [next, metrics] = step(s, { x, y: tf.neg(x) });
  disposeReplaced(s, next);
  s = next;
  console.log(JSON.stringify({ step: s.step, ...metrics }));
}
`,
    );
    const lines = run('node', ['use.mjs']).trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines[0]).toEqual({ g: 1278, d: 70 });
    expect(lines.slice(1).map((l) => l['step'])).toEqual([1, 2]);
    for (const l of lines.slice(1)) for (const k of ['D/cgan/real', 'G/cgan', 'G/l1']) expect(Number.isFinite(l[k])).toBe(true);
  });

  it('has TypeScript declarations a user project type-checks against', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/pix2pix-ts/package.json'), 'utf8')) as { exports: Record<string, Record<string, string>> };
    expect(pkg.exports['.']).toMatchObject({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(readFileSync(join(project, 'node_modules/pix2pix-ts/dist/index.d.ts'), 'utf8')).toMatch(/export \{ unet/);
  });

  it('pix2pix-ts/node loads: files, datasets, checkpoints, backends', () => {
    const out = run('node', ['-e', "import('pix2pix-ts/node').then((m) => console.log(JSON.stringify([typeof m.openDataset, typeof m.saveTrainState, typeof m.useBackend, typeof m.unet])))"]);
    expect(JSON.parse(out)).toEqual(['function', 'function', 'function', 'function']);
  });

  it('`npx pix2pix summary --json` runs the compiled bin', () => {
    const out = JSON.parse(run('npx', ['pix2pix', 'summary', '--generator', 'unet256', '--discriminator', 'patch70', '--size', '256', '--json', '--backend', 'cpu'])) as {
      generator: { params: number };
      discriminator: { params: number };
    };
    expect([out.generator.params, out.discriminator.params]).toEqual([54_413_955, 2_768_705]);
  });
});
