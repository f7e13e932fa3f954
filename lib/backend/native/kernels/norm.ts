/**
 * Fused batch / instance norm for the 'native' backend: one kernel for the
 * forward pass (statistics and the normalised, scaled, shifted output) and one
 * for the backward pass, where tf ops take about ten kernels forward and
 * thirty backward, most of them over the whole activation (the moments, the
 * broadcasts, and the `ones` that Mean's and Sum's gradients multiply by).
 *
 * `fusedNorm` is the op (tf.customGrad over the two kernels); lib/layers/norm.ts
 * uses it when the current backend has the kernels (`hasFusedNorm()`), and tf
 * ops otherwise. Arithmetic: statistics in double (one pass: sum and sum of
 * squares), the rest in float32 — within a few float32 ulps of the tf-ops
 * path, not bit-identical to it.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** Inputs {x, gamma?, beta?}, attrs {eps, perExample}; outputs [y, mean, invstd] (mean, invstd: [A, C]). */
export const NORM_KERNEL = 'Pix2pixNorm';
/** Inputs {dy, x, gamma?}, attrs {eps, perExample}; outputs [dx] or, with gamma, [dx, dgamma, dbeta]. */
export const NORM_GRAD_KERNEL = 'Pix2pixNormGrad';

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

/** Whether the current backend has the fused norm kernels. */
export const hasFusedNorm = (): boolean =>
  tf.getKernel(NORM_KERNEL, tf.getBackend()) !== undefined && tf.getKernel(NORM_GRAD_KERNEL, tf.getBackend()) !== undefined;

/**
 * (x - mean) / sqrt(var + eps) * gamma + beta with biased statistics over
 * (N, H, W) per channel, or over (H, W) per example and channel when
 * `perExample` (instance norm); gamma and beta ([C]) both or neither.
 * Differentiable in x, gamma and beta.
 */
export const fusedNorm = (x: tf.Tensor4D, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined, eps: number, perExample: boolean): tf.Tensor4D => {
  const attrs = { eps, perExample } as unknown as tf.NamedAttrMap;
  const affine = gamma !== undefined && beta !== undefined;
  // Only inputs are saved (the backward kernel recomputes the statistics from
  // x, in the same pass as its other sums): nothing else outlives the op.
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const [xi, g, b] = args as tf.Tensor[];
    const inputs: tf.NamedTensorMap = affine ? { x: xi!, gamma: g!, beta: b! } : { x: xi! };
    const [y] = tf.engine().runKernel(NORM_KERNEL, inputs, attrs) as tf.Tensor[];
    save(affine ? [xi!, g!] : [xi!]);
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sg] = saved;
        const gin: tf.NamedTensorMap = sg ? { dy, x: sx!, gamma: sg } : { dy, x: sx! };
        return tf.engine().runKernel(NORM_GRAD_KERNEL, gin, attrs) as tf.Tensor[];
      },
    };
  });
  return (affine ? op(x, gamma!, beta!) : op(x)) as tf.Tensor4D;
};
