/**
 * Fused batch / instance norm for the 'native' backend: one kernel for the
 * forward pass (statistics and the normalised, scaled, shifted output) and one
 * for the backward pass, where tf ops take about ten kernels forward and
 * thirty backward, most of them over the whole activation (the moments, the
 * broadcasts, and the `ones` that Mean's and Sum's gradients multiply by).
 *
 * The op over them (tf.customGrad) is lib/ops/norm.ts's `normalize`, which
 * the norm layer calls: the fused kernels where the backend registers them,
 * tf ops otherwise. Arithmetic: statistics in double (one pass: sum and sum
 * of squares), the rest in float32 — within a few float32 ulps of the tf-ops
 * path, not bit-identical to it.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

import { NORM_GRAD_KERNEL, NORM_KERNEL } from '../../../ops/kernels.ts';

export { NORM_GRAD_KERNEL, NORM_KERNEL };

export interface NormAddon {
  normForward(x: Float32Array, y: Float32Array, mean: Float32Array, invstd: Float32Array, gamma: Float32Array, beta: Float32Array, outer: number, reduced: number, channels: number, eps: number): void;
  normBackward(dy: Float32Array, x: Float32Array, gamma: Float32Array, dx: Float32Array, dgamma: Float32Array, dbeta: Float32Array, outer: number, reduced: number, channels: number, eps: number): void;
}

type Info = tf.TensorInfo;
const NONE = new Float32Array(0);

/** x [N, H, W, C] as [A, R, C]: statistics over N*H*W (batch) or H*W per example (instance). */
const view = (shape: readonly number[], perExample: boolean): [number, number, number] => {
  const [n, h, w, c] = shape as [number, number, number, number];
  return perExample ? [n, h * w, c] : [1, n * h * w, c];
};

export const normKernels = (
  ew: NormAddon,
  values: (backend: MathBackendCPU, t: Info) => Float32Array | undefined,
  outputArray: (n: number) => Float32Array,
): tf.KernelConfig[] => [
  {
    kernelName: NORM_KERNEL,
    backendName: 'native',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as MathBackendCPU;
      const { x, gamma, beta } = inputs as { x: Info; gamma?: Info; beta?: Info };
      const { eps, perExample } = attrs as unknown as { eps: number; perExample: boolean };
      const xv = values(b, x);
      if (!xv || x.shape.length !== 4 || xv.length === 0) throw new Error(`${NORM_KERNEL}: x must be a non-empty float32 NHWC tensor`);
      const [A, R, C] = view(x.shape, perExample);
      const param = (t: Info | undefined) => {
        if (!t) return NONE;
        const v = values(b, t);
        if (!v || v.length !== C) throw new Error(`${NORM_KERNEL}: gamma and beta must be float32 [${C}]`);
        return v;
      };
      const y = outputArray(xv.length);
      const mean = new Float32Array(A * C);
      const invstd = new Float32Array(A * C);
      ew.normForward(xv, y, mean, invstd, param(gamma), param(beta), A, R, C, eps);
      return [b.makeTensorInfo(x.shape, 'float32', y), b.makeTensorInfo([A, C], 'float32', mean), b.makeTensorInfo([A, C], 'float32', invstd)];
    },
  },
  {
    kernelName: NORM_GRAD_KERNEL,
    backendName: 'native',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as MathBackendCPU;
      const { dy, x, gamma } = inputs as { dy: Info; x: Info; gamma?: Info };
      const { eps, perExample } = attrs as unknown as { eps: number; perExample: boolean };
      const dyv = values(b, dy);
      const xv = values(b, x);
      const gv = gamma ? values(b, gamma) : NONE;
      if (!dyv || !xv || !gv || x.shape.length !== 4 || dyv.length !== xv.length) throw new Error(`${NORM_GRAD_KERNEL}: float32 inputs expected`);
      const [A, R, C] = view(x.shape, perExample);
      const dx = outputArray(xv.length);
      const dgamma = gamma ? new Float32Array(C) : NONE;
      const dbeta = gamma ? new Float32Array(C) : NONE;
      ew.normBackward(dyv, xv, gv, dx, dgamma, dbeta, A, R, C, eps);
      const out = [b.makeTensorInfo(x.shape, 'float32', dx)];
      if (gamma) out.push(b.makeTensorInfo([C], 'float32', dgamma), b.makeTensorInfo([C], 'float32', dbeta));
      return out;
    },
  },
];
