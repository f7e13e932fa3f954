// PyTorch checkpoints in: state_dicts saved by torch.save (zip and legacy
// formats, fp32 and fp16) from nets with the reference's module structure
// (test/fixtures/torch/make.py), imported, run here, and compared with the
// outputs PyTorch computed when it saved them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { disposeTree, makeKey, patchDiscriminator, resnetGenerator, unet, type Layer, type Mode } from '../lib/index.ts';
import { importTorchStateDict, TorchImportError } from '../lib/interop/torch-import.ts';
import { readTorchStateDict, TorchFileError } from '../lib/interop/torch-file.ts';
import { writeImage } from '../lib/data/image.ts';
import { runCli } from './helpers/run-cli.ts';
import { FACADES, scratch } from './helpers/tiny-run.ts';

const dir = new URL('./fixtures/torch/reference/', import.meta.url);
const file = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
type Case = { keys: string[]; x: number[]; shape: number[]; eval: number[]; train: number[]; outShape: number[] };
const outputs = JSON.parse(readFileSync(new URL('outputs.json', dir), 'utf8')) as Record<string, Case>;

const NETS: Record<string, { layer: () => Layer; channels: number }> = {
  unet3: { layer: () => unet({ depth: 3, ngf: 4, dropout: 0, trackRunningStats: true }), channels: 3 },
  resnet2: { layer: () => resnetGenerator({ blocks: 2, ngf: 4, dropout: 0, trackRunningStats: true }), channels: 3 },
  nlayer2: { layer: () => patchDiscriminator(34, { ndf: 4, trackRunningStats: true }), channels: 6 },
};

const run = (net: Layer, params: ReturnType<typeof importTorchStateDict>, c: Case, mode: Mode): Float32Array => {
  const x = tf.tensor4d(c.x, c.shape as [number, number, number, number]);
  const y = tf.tidy(() => net.apply(params.params, params.state, x, { mode, key: makeKey(0) })[0]);
  const out = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  return out;
};

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('importTorchStateDict', () => {
  for (const [name, { layer, channels }] of Object.entries(NETS)) {
    for (const format of ['', '-legacy']) {
      it(`${name}${format || ' (zip)'}: eval mode equals PyTorch's net.eval()(x), paper mode (batch statistics) its train-mode output, within 1e-4`, () => {
        const c = outputs[name]!;
        const net = layer();
        const before = tf.memory().numTensors;
        const imported = importTorchStateDict(file(`${name}${format}.pth`), { network: net, input: [16, 16, channels], name: `${name}${format}.pth` });
        expect(maxAbs(run(net, imported, c, 'eval'), c.eval)).toBeLessThan(1e-4);
        expect(maxAbs(run(net, imported, c, 'paper'), c.train)).toBeLessThan(1e-4);
        disposeTree(imported.params);
        disposeTree(imported.state);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
  }

  it('reads both formats to the same tensors, in the state_dict\'s order, and fp16 storages within half precision', () => {
    const zip = readTorchStateDict(file('unet3.pth'));
    const legacy = readTorchStateDict(file('unet3-legacy.pth'));
    const half = readTorchStateDict(file('unet3-fp16.pth'));
    expect(zip.map((t) => t.key)).toEqual(outputs['unet3']!.keys);
    expect(legacy).toEqual(zip);
    expect(half.map((t) => t.dtype).filter((d) => d !== 'int64').every((d) => d === 'float16')).toBe(true);
    // fp16 keeps 11 significant bits: each value within 2^-11 of its own size (or of fp16's smallest normal).
    half.forEach((t, i) => t.data.forEach((v, k) => expect(Math.abs(v - zip[i]!.data[k]!)).toBeLessThanOrEqual(Math.max(Math.abs(zip[i]!.data[k]!) * 2 ** -11, 2 ** -24))));
    // The fp16 U-Net still translates (within fp16's error of PyTorch's fp32 output).
    const net = NETS['unet3']!.layer();
    const imported = importTorchStateDict(file('unet3-fp16.pth'), { network: net, input: [16, 16, 3] });
    expect(maxAbs(run(net, imported, outputs['unet3']!, 'eval'), outputs['unet3']!.eval)).toBeLessThan(2e-2);
    disposeTree(imported.params);
    disposeTree(imported.state);
  });

  it('a network of another width or depth: an error naming the module, both shapes and the flag to change', () => {
    const spec = (layer: Layer) => ({ network: layer, input: [16, 16, 3] as const, name: 'latest_net_G.pth', flags: { ngf: '--ngf', norm: '--norm', generator: '--generator' } });
    expect(() => importTorchStateDict(file('unet3.pth'), spec(unet({ depth: 3, ngf: 8, trackRunningStats: true })))).toThrow(
      /latest_net_G\.pth: model\.model\.0 \(module 1 of 9\) against the network's 1\/0: the conv weight is \[4, 4, 3, 4\] in the file \(as this library lays it out\) but \[4, 4, 3, 8\] in the network \(a narrower network: --ngf ×0\.5\?\)/,
    );
    expect(() => importTorchStateDict(file('unet3.pth'), spec(unet({ depth: 4, ngf: 4 })))).toThrow(TorchImportError);
    expect(() => importTorchStateDict(file('unet3.pth'), spec(unet({ depth: 4, ngf: 4 })))).toThrow(/it has 9 modules with parameters, the network 13 layers with parameters: another architecture \(--generator\? --norm instance\?\)\. latest_net_G\.pth has model\.model\.0\.\{weight\} \[4, 3, 4, 4\]/);
    expect(() => readTorchStateDict(new TextEncoder().encode('not a checkpoint'), 'x.pth')).toThrow(TorchFileError);
  });
});

describe('pix2pix import', () => {
  const readNpy = (path: string): { shape: number[]; data: Float32Array } => {
    const b = readFileSync(path);
    expect(b.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
    const len = b.readUInt16LE(8);
    const header = b.subarray(10, 10 + len).toString('latin1');
    expect((10 + len) % 64).toBe(0);
    const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(',').filter((s) => s.trim() !== '').map(Number);
    const raw = b.subarray(10 + len);
    return { shape, data: new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)) };
  };

  for (const [name, flags] of [['unet3', ['--generator', 'unet8', '--ngf', '4', '--discriminator', 'patch16']], ['resnet2', ['--generator', 'resnet2', '--ngf', '4', '--discriminator', 'patch16']]] as const) {
    it(`${name} (zip and legacy) -> a run whose translate --mode eval --raw equals PyTorch's G.eval() of the same 8-bit image within 1e-4`, async () => {
      const root = scratch('import');
      const c = outputs[name]! as Case & { image: number[]; imageEval: number[] };
      const image = join(root, 'in.png');
      await writeImage(image, { height: 16, width: 16, channels: 3, data: Float32Array.from(c.image, (v) => v / 127.5 - 1) });
      for (const format of ['', '-legacy']) {
        const run = join(root, `run${format}`);
        const r = await runCli('import', '--torch-g', fileURLToPath(new URL(`${name}${format}.pth`, dir)), ...flags, '--size', '16', '--no-dropout', '--out', run);
        expect(r.err).toBe('');
        expect(r.status).toBe(0);
        const t = await runCli('translate', '--run', run, '--input', image, '--output', join(root, `out${format}.png`), '--mode', 'eval', '--raw', join(root, `out${format}.npy`), '--backend', 'cpu');
        expect(t.err).toBe('');
        expect(t.status).toBe(0);
        const raw = readNpy(join(root, `out${format}.npy`));
        expect(raw.shape).toEqual([1, 16, 16, 3]);
        expect(maxAbs(raw.data, c.imageEval)).toBeLessThan(1e-4);
      }
    });
  }

  it('G and D in: summary --run gives PyTorch\'s parameter counts, eval and test run in eval mode, and train --resume fine-tunes the imported run', async () => {
    const root = scratch('import-d');
    const run = join(root, 'run');
    const r = await runCli(
      'import', '--torch-g', fileURLToPath(new URL('unet3.pth', dir)), '--torch-d', fileURLToPath(new URL('nlayer2.pth', dir)),
      '--generator', 'unet8', '--ngf', '4', '--discriminator', 'patch34', '--ndf', '4', '--size', '16', '--no-dropout',
      '--data', FACADES, '--direction', 'BtoA', '--out', run,
    );
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    // summary --run: the networks of the run, with PyTorch's parameter counts (weights and biases; not running statistics).
    const count = (f: string) => readTorchStateDict(file(f)).filter((x) => /\.(weight|bias)$/.test(x.key)).reduce((n, x) => n + x.data.length, 0);
    const sum = await runCli('summary', '--run', run, '--json');
    expect(sum.status).toBe(0);
    const j = JSON.parse(sum.out) as { generator: { params: number }; discriminator: { params: number } };
    expect([j.generator.params, j.discriminator.params]).toEqual([count('unet3.pth'), count('nlayer2.pth')]);
    // eval and test read it like any run (eval mode: the imported running statistics).
    const ev = await runCli('eval', '--run', run, '--data', FACADES, '--split', 'val', '--mode', 'eval', '--json', '-', '--backend', 'cpu');
    expect(ev.err).toBe('');
    expect((JSON.parse(ev.out) as { count: number }).count).toBe(2);
    const te = await runCli('test', '--run', run, '--data', FACADES, '--split', 'val', '--mode', 'eval', '--backend', 'cpu');
    expect(te.err).toBe('');
    expect(te.status).toBe(0);
    const t = await runCli('train', '--resume', '--out', run, '--steps', '2', '--quiet', '--backend', 'cpu');
    expect(t.err).toBe('');
    expect(t.status).toBe(0);
    expect(t.out).toMatch(/finished at step 2/);
  });

  it('a wrong --ngf: exit 1 and a message naming the module and the flag; an existing --out is refused', async () => {
    const root = scratch('import-bad');
    const r = await runCli('import', '--torch-g', fileURLToPath(new URL('unet3.pth', dir)), '--generator', 'unet8', '--ngf', '8', '--size', '16', '--discriminator', 'patch16', '--out', join(root, 'run'));
    expect(r.status).toBe(1);
    expect(r.err).toMatch(/model\.model\.0 \(module 1 of 9\).*--ngf ×0\.5\?/);
    const taken = join(root, 'taken');
    mkdirSync(taken);
    writeFileSync(join(taken, 'mine.txt'), 'x');
    const t = await runCli('import', '--torch-g', fileURLToPath(new URL('unet3.pth', dir)), '--generator', 'unet8', '--ngf', '4', '--out', taken);
    expect(t.status).toBe(2);
    expect(t.err).toMatch(/--out .*taken is not empty/);
    expect(readFileSync(join(taken, 'mine.txt'), 'utf8')).toBe('x');
  });
});
