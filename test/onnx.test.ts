// Export to ONNX: onnxruntime-node (its CPU build; an independent
// implementation of every op) runs the exported generator, and its output
// equals this library's own translation within 1e-4 — at the training size
// and at twice it (the export leaves height and width free).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { disposeTree, makeKey, resnetGenerator, unet, type Layer, type Mode } from '../lib/index.ts';
import { exportOnnx } from '../lib/interop/onnx.ts';
import { seededValues } from './helpers/conv-cases.ts';
import { readImage, writeImage } from '../lib/data/image.ts';
import { runCli } from './helpers/run-cli.ts';
import { scratch, tinyTrain } from './helpers/tiny-run.ts';

const nchw = (x: Float32Array, h: number, w: number, c: number): Float32Array => {
  const out = new Float32Array(x.length);
  for (let y = 0; y < h; y++) for (let i = 0; i < w; i++) for (let k = 0; k < c; k++) out[(k * h + y) * w + i] = x[(y * w + i) * c + k]!;
  return out;
};

// `twin`: the net without dropout has the same parameter tree (the U-Net's dropout is a leaf at the end of a level;
// the ResNet's sits inside its blocks' sequences, so there paper mode is checked on a net built without it).
const NETS: Record<string, { layer: (dropout: number) => Layer; size: number; twin: boolean }> = {
  'unet (depth 6, dropout 0.5, batch norm with running statistics)': { layer: (dropout) => unet({ depth: 6, ngf: 8, dropout, trackRunningStats: true }), size: 64, twin: true },
  'resnet (instance norm without affine parameters, as the reference\'s --norm instance)': { layer: (dropout) => resnetGenerator({ blocks: 1, ngf: 8, dropout, norm: 'instance' }), size: 32, twin: false },
  'resnet (2 blocks, dropout 0.5: reflection pads, transposed convs with output padding)': { layer: (dropout) => resnetGenerator({ blocks: 2, ngf: 8, dropout, trackRunningStats: true }), size: 32, twin: false },
};

describe('exportOnnx, run by onnxruntime-node', () => {
  for (const [name, { layer, size, twin }] of Object.entries(NETS)) {
    for (const mode of ['eval', 'paper'] as const) {
      it(`${name}, ${mode} mode: ORT's output equals this library's within 1e-4 at ${size}x${size} and ${2 * size}x${2 * size}`, async () => {
        // Paper mode is exported without dropout: its oracle is the same weights in the net without it.
        const G = layer(mode === 'paper' && !twin ? 0 : 0.5);
        const oracle = mode === 'paper' ? layer(0) : G;
        const init = G.init(makeKey(2), [size, size, 3]);
        // Non-trivial running statistics: a few training-mode passes.
        let state = init.state;
        for (let i = 0; i < 2; i++) {
          const x = tf.tensor4d(seededValues(60 + i, size * size * 3), [1, size, size, 3]);
          const [, s] = G.apply(init.params, state, x, { mode: 'train', key: makeKey(i) });
          if (state !== init.state) disposeTree(state);
          state = s;
          x.dispose();
        }
        const bytes = exportOnnx(G, init.params, state, { mode, inChannels: 3, outChannels: 3 });
        const session = await ort.InferenceSession.create(bytes);
        for (const n of [size, 2 * size]) {
          const data = seededValues(70 + n, n * n * 3);
          const x = tf.tensor4d(data, [1, n, n, 3]);
          const ctxMode: Mode = mode;
          const want = tf.tidy(() => oracle.apply(init.params, state, x, { mode: ctxMode, key: makeKey(0) })[0]);
          const wantNchw = nchw(want.dataSync() as Float32Array, n, n, 3);
          tf.dispose([x, want]);
          const r = await session.run({ x: new ort.Tensor('float32', nchw(data, n, n, 3), [1, 3, n, n]) });
          const got = r['y']!;
          expect(got.dims).toEqual([1, 3, n, n]);
          let m = 0;
          const g = got.data as Float32Array;
          for (let i = 0; i < g.length; i++) m = Math.max(m, Math.abs(g[i]! - wantNchw[i]!));
          expect(m).toBeLessThan(1e-4);
        }
        await session.release();
        disposeTree(init.params);
        disposeTree(state);
      });
    }
  }
});

describe('pix2pix export --format onnx', () => {
  it('an imported PyTorch U-Net, exported: onnxruntime equals translate --mode eval --raw within 1e-4; a run without running statistics defaults to paper mode and refuses eval', async () => {
    const root = scratch('onnx');
    const run = join(root, 'run');
    const pth = fileURLToPath(new URL('./fixtures/torch/reference/unet3.pth', import.meta.url));
    expect((await runCli('import', '--torch-g', pth, '--generator', 'unet8', '--ngf', '4', '--size', '16', '--discriminator', 'patch16', '--out', run)).status).toBe(0);
    const model = join(root, 'g.onnx');
    const e = await runCli('export', '--run', run, '--format', 'onnx', '--out', model);
    expect(e.err).toBe('');
    expect(e.out).toMatch(/ONNX opset 17, eval mode/);
    const image = join(root, 'in.png');
    const data = Float32Array.from(seededValues(9, 16 * 16 * 3), (v) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5) / 127.5 - 1);
    await writeImage(image, { height: 16, width: 16, channels: 3, data });
    const t = await runCli('translate', '--run', run, '--input', image, '--output', join(root, 'out.png'), '--mode', 'eval', '--raw', join(root, 'out.npy'), '--backend', 'cpu');
    expect(t.status).toBe(0);
    const npy = readFileSync(join(root, 'out.npy'));
    const raw = npy.subarray(10 + npy.readUInt16LE(8));
    const want = nchw(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), 16, 16, 3);
    const session = await ort.InferenceSession.create(readFileSync(model));
    const input = (await readImage(image)).data;
    const r = await session.run({ x: new ort.Tensor('float32', nchw(input, 16, 16, 3), [1, 3, 16, 16]) });
    const got = r['y']!.data as Float32Array;
    expect(Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-4);
    await session.release();
    // A run trained here (no running statistics).
    const tiny = join(root, 'tiny');
    expect((await runCli(...tinyTrain(), '--steps', '1', '--out', tiny)).status).toBe(0);
    expect((await runCli('export', '--run', tiny, '--format', 'onnx', '--out', join(root, 't.onnx'))).out).toMatch(/paper mode, no dropout/);
    const bad = await runCli('export', '--run', tiny, '--format', 'onnx', '--mode', 'eval', '--out', join(root, 't2.onnx'));
    expect(bad.status).toBe(2);
    expect(bad.err).toMatch(/use --mode paper/);
    expect(existsSync(join(root, 't2.onnx'))).toBe(false);
  });
});
