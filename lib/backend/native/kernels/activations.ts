/**
 * Fused activation gradients for the 'native' backend. tf.js differentiates
 * LeakyRelu as where(x > 0, dy, dy * alpha) — three kernels and three
 * activation-sized arrays (one of them bool) — and Relu as dy * step(x); here
 * each is one kernel with the same float32 arithmetic, so the same bits.
 *
 * tf.js keys gradients by kernel name only, for every backend: the gradients
 * of 'Relu' and 'LeakyRelu' are replaced by ones that use the fused kernel
 * where the current backend has it and call tf.js's own gradient otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

/** Inputs {dy, x}; output dy * step(x). */
export const RELU_GRAD_KERNEL = 'Pix2pixReluGrad';
/** Inputs {dy, x}, attrs {alpha}; output x > 0 ? dy : dy * alpha. */
export const LEAKY_RELU_GRAD_KERNEL = 'Pix2pixLeakyReluGrad';

export interface ActivationAddon {
  activationGrad(op: 0 | 1, out: Float32Array, dy: Float32Array, x: Float32Array, alpha: number): void;
}

type Info = tf.TensorInfo;

export const activationKernels = (
  ew: ActivationAddon,
  values: (backend: MathBackendCPU, t: Info) => Float32Array | undefined,
  outputArray: (n: number) => Float32Array,
): tf.KernelConfig[] =>
  ([[RELU_GRAD_KERNEL, 0], [LEAKY_RELU_GRAD_KERNEL, 1]] as const).map(([kernelName, op]) => ({
    kernelName,
    backendName: 'native',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as MathBackendCPU;
      const { dy, x } = inputs as { dy: Info; x: Info };
      const dyv = values(b, dy);
      const xv = values(b, x);
      if (!dyv || !xv || dyv.length !== xv.length) throw new Error(`${kernelName}: dy and x must be float32 tensors of one size`);
      const out = outputArray(xv.length);
      ew.activationGrad(op, out, dyv, xv, op === 1 ? Number((attrs as { alpha: number }).alpha) : 0);
      return b.makeTensorInfo(x.shape, 'float32', out);
    },
  }));

const WRAPPED = Symbol.for('pix2pix-ts.native-activation-gradient');

/** Replaces the gradients of Relu and LeakyRelu (idempotent; see the module comment). */
export const installActivationGradients = (): void => {
  for (const [name, fused] of [['Relu', RELU_GRAD_KERNEL], ['LeakyRelu', LEAKY_RELU_GRAD_KERNEL]] as const) {
    const original = tf.getGradient(name);
    if (!original || WRAPPED in original) continue;
    const config: tf.GradConfig = {
      ...original,
      gradFunc: (dy, saved, attrs) => {
        const x = saved[0];
        if (!Array.isArray(dy) && x && dy.dtype === 'float32' && x.dtype === 'float32' && tf.getKernel(fused, tf.getBackend()))
          return { x: () => tf.engine().runKernel(fused, { dy, x }, name === 'LeakyRelu' ? { alpha: attrs['alpha'] as number } : {}) as tf.Tensor };
        return original.gradFunc(dy, saved, attrs);
      },
    };
    Object.defineProperty(config, WRAPPED, { value: true });
    tf.registerGradient(config);
  }
};
