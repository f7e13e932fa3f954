// PyTorch checkpoints in: state_dicts saved by torch.save (zip and legacy
// formats, fp32 and fp16) from nets with the reference's module structure
// (test/fixtures/torch/make.py), imported, run here, and compared with the
// outputs PyTorch computed when it saved them.
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { disposeTree, makeKey, patchDiscriminator, resnetGenerator, unet, type Layer, type Mode } from '../lib/index.ts';
import { importTorchStateDict, TorchImportError } from '../lib/interop/torch-import.ts';
import { readTorchStateDict, TorchFileError } from '../lib/interop/torch-file.ts';

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
