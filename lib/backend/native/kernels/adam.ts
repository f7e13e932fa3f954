/**
 * The fused Adam for the 'native' backend ('Pix2pixAdam', which
 * lib/ops/adam.ts calls with every tensor of a network at once): one native
 * call, its tensors' blocks split between the threads in one parallel
 * region, each element computed exactly as the tf-ops Adam computes it
 * (float32 constants, one rounding per op), so the same bits however the
 * tensors are grouped. A tensor is updated in place when the caller donates
 * its state and nothing else can see the change. A donated update of a small
 * network goes to the native worker thread instead, one job per tensor
 * (kernels/async.ts): the same kernel there.
 */
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { ADAM_KERNEL, type AdamKernelAttrs } from '../../../ops/kernels.ts';
import { nativePending } from '../pending.ts';
import { nativePool } from '../pool.ts';

export interface AdamAddon {
  /** Adam on any number of tensors: 7 arrays each (p, g, m, v, pOut, mOut, vOut), then b1, c1, b2, c2, sb2, eps, step. */
  adam(arrays: readonly Float32Array[], ...k: number[]): void;
}

type Info = tf.TensorInfo;

const overlap = (a: Float32Array, b: Float32Array): boolean =>
  a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;

export const adamKernel = (
  ew: AdamAddon,
  values: (backend: MathBackendCPU, t: Info) => Float32Array | undefined,
  outputArray: (n: number) => Float32Array,
  /** Queues the update on the worker thread instead (kernels/async.ts); false: not queued. */
  queue: (work: readonly Float32Array[], k: readonly number[]) => boolean = () => false,
): tf.KernelConfig => ({
  kernelName: ADAM_KERNEL,
  backendName: 'native',
  kernelFunc: (args) => {
    const backend = args.backend as MathBackendCPU;
    const infos = args.inputs as unknown as Info[];
    if (infos.length === 0 || infos.length % 4 !== 0) throw new Error(`${ADAM_KERNEL}: expected [param, grad, m, v] for each tensor, got ${infos.length} inputs`);
    const arrays = infos.map((t) => values(backend, t));
    for (let i = 0; i < arrays.length; i += 4)
      if (arrays.slice(i, i + 4).some((a) => !a || a.length !== arrays[i]!.length)) throw new Error(`${ADAM_KERNEL}: param, grad, m and v of tensor ${i / 4} must be float32 tensors of one size`);
    const ins = arrays as Float32Array[];
    const { lr, beta1, beta2, eps, count } = args.attrs as unknown as AdamKernelAttrs;
    // The constants of lib/ops/adam.ts's tf-ops path, each a float32 scalar there.
    const stepSize = lr / (1 - beta1 ** count);
    const sqrtBias2 = Math.sqrt(1 - beta2 ** count);
    const k = [beta1, 1 - beta1, beta2, 1 - beta2, sqrtBias2, eps, stepSize].map(Math.fround);
    // A tensor is updated in place only where nothing else can see the
    // change: each of its p, m, v held by this one tensor (no clone,
    // reshape or view of it), overlapping no other array of the call, and
    // read by no job still queued on the worker thread (pending.ts).
    const byBuffer = new Map<ArrayBufferLike, Float32Array[]>();
    for (const a of ins) {
      const same = byBuffer.get(a.buffer);
      if (same) same.push(a);
      else byBuffer.set(a.buffer, [a]);
    }
    const alone = (a: Float32Array) => byBuffer.get(a.buffer)!.every((b) => b === a || !overlap(a, b));
    const owned = (i: number) => backend.refCount(infos[i]!.dataId) === 1 && nativePool.exclusive(ins[i]!) && alone(ins[i]!) && !nativePending.busy(ins[i]!);
    const inPlace = args.attrs?.['inPlace'] === true;
    const work: Float32Array[] = [];
    const outs: Float32Array[] = [];
    for (let i = 0; i < ins.length; i += 4) {
      const n = ins[i]!.length;
      const own = inPlace && owned(i) && owned(i + 2) && owned(i + 3);
      const o = own ? [ins[i]!, ins[i + 2]!, ins[i + 3]!] : [outputArray(n), outputArray(n), outputArray(n)];
      work.push(...ins.slice(i, i + 4), ...o);
      outs.push(...o);
    }
    // A donated state (G's, in pix2pix train) is not looked at again before
    // the next step: its update may finish on the worker meanwhile. An
    // undonated one (D's) is read at once, by D's next forward pass.
    if (!(inPlace && queue(work, k))) ew.adam(work, ...k);
    return outs.map((o, j) => backend.makeTensorInfo(infos[4 * Math.floor(j / 3)]!.shape, 'float32', o));
  },
});
