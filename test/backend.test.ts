// Backend selection: explicit choices, 'auto' without tfjs-node, and errors.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stockKernel } from '../lib/backend/kernels/index.ts';
import { loadNative } from '../lib/backend/native/index.ts';
import { useBackend } from '../lib/backend/index.ts';

let initialBackend = 'cpu';
beforeAll(() => {
  initialBackend = tf.getBackend() ?? 'cpu';
});
afterAll(async () => {
  await tf.setBackend(initialBackend);
});

const ours = (kernel: string, backend: string): boolean =>
  tf.getKernel(kernel, backend).kernelFunc !== stockKernel(kernel, backend)?.kernelFunc;

describe('useBackend', () => {
  it("'cpu' selects cpu and installs its filter gradient", async () => {
    const info = await useBackend('cpu', { quiet: true });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(ours('Conv2DBackpropFilter', 'cpu')).toBe(true);
  });

  it("'wasm' selects wasm and installs its training kernels", async () => {
    const info = await useBackend('wasm', { quiet: true });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    for (const k of ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Slice', 'SplitV']) expect(ours(k, 'wasm')).toBe(true);
    // wasm can now train a conv layer.
    const w = tf.variable(tf.ones([3, 3, 2, 4]));
    const x = tf.ones([1, 8, 8, 2]) as tf.Tensor4D;
    const { grads } = tf.variableGrads(() => tf.sum(tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 2, 'same')));
    expect(grads[w.name]!.shape).toEqual([3, 3, 2, 4]);
    tf.dispose([w, x, ...Object.values(grads)]);
  });

  it("'auto' takes native where the accelerator is built, else wasm, and says why", async () => {
    const info = await useBackend('auto', { quiet: true });
    const expected = 'addon' in loadNative() ? 'native' : 'wasm';
    expect(info.name).toBe(expected);
    expect(info.reason).toMatch(/tfjs-node/);
    expect(info.reason).toMatch(/not installed/);
    if (expected === 'wasm') expect(info.reason).toMatch(/native accelerator is (not built|disabled|failed)/);
    expect(tf.getBackend()).toBe(expected);
  });

  it("'native' is an error that says how to build it when the accelerator is missing", async () => {
    if ('addon' in loadNative()) return void expect((await useBackend('native', { quiet: true })).name).toBe('native');
    await expect(useBackend('native', { quiet: true })).rejects.toThrow(/apt-get install -y g\+\+ libopenblas-openmp-dev libdnnl-dev/);
  });

  it("'tensorflow' rejects with install instructions when tfjs-node is missing", async () => {
    await expect(useBackend('tensorflow', { quiet: true })).rejects.toThrow(/npm install @tensorflow\/tfjs-node@4\.22\.0/);
  });

  it('reports on stderr only, unless quiet, and is idempotent', async () => {
    const out = vi.spyOn(process.stdout, 'write');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const a = await useBackend('wasm');
      const b = await useBackend('wasm');
      await useBackend('cpu', { quiet: true });
      const c = await useBackend('auto');
      expect(a).toEqual(b);
      expect(c.name).toBe('addon' in loadNative() ? 'native' : 'wasm');
      expect(err).toHaveBeenCalledTimes(3);
      expect(String(err.mock.calls[2]![0])).toContain(c.reason);
      expect(out).not.toHaveBeenCalled();
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(ours('Conv2DBackpropInput', 'wasm')).toBe(true);
  });
});
