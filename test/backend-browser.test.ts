// The isomorphic entry's useBackend: webgpu, then webgl, then wasm, then cpu,
// each passed over with its reason. Run in Node, where tf.js registers no webgl
// and webgpu and wasm are not registered until their packages are imported.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { useBackend } from '../lib/index.ts';

describe("useBackend from 'pix2pix-ts' (no Node)", () => {
  it("'auto' passes over webgpu (not registered), webgl (registered only in a browser) and wasm (not imported) for cpu, saying why", async () => {
    const info = await useBackend('auto', { quiet: true });
    expect(info.name).toBe('cpu');
    expect(info.reason).toMatch(/^cpu \(webgpu: not registered \(import @tensorflow\/tfjs-backend-webgpu\); webgl: [^;]+; wasm: not registered \(import @tensorflow\/tfjs-backend-wasm\)\)$/);
    expect(tf.getBackend()).toBe('cpu');
  });

  it('a backend asked for by name that does not work is an error that says why', async () => {
    await expect(useBackend('webgpu', { quiet: true })).rejects.toThrow("backend 'webgpu' is unavailable: webgpu: not registered (import @tensorflow/tfjs-backend-webgpu)");
  });

  it("with @tensorflow/tfjs-backend-wasm imported, 'auto' takes wasm, with the library's training kernels", async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    const info = await useBackend('auto', { quiet: true });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    // The training kernels replace the stock Conv2DBackpropFilter (as useBackend('wasm') from pix2pix-ts/node does).
    const { stockKernel } = await import('../lib/backend/kernels/index.ts');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')!.kernelFunc).not.toBe(stockKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc);
    await tf.setBackend('cpu');
  });
});
