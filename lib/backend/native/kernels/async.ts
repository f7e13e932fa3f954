/**
 * The kernels that hand work to the native worker thread
 * (src/conv_async.cc): filter gradients of one thread's worth of work, the
 * sum of two gradients when the worker is still computing one of them (a
 * filter used twice, as D is on the real and the fake pair), and Adam's
 * updates, one job per tensor, which the next step's forward pass waits for
 * tensor by tensor. The backend waits for a job before anything reads what
 * it writes (pending.ts). Gradient jobs also sum their output's squares
 * while it is in cache: the step's divergence check (Pix2pixSumSquares)
 * takes those sums instead of reading every gradient again.
 */
import type * as tf from '@tensorflow/tfjs';
import type { NativeBackend } from '../register.ts';
import { nativePending } from '../pending.ts';
import { nativePool } from '../pool.ts';
import type { ConvAddon } from './conv.ts';

type Run = ConvAddon['conv2dBackpropFilter'];

/**
 * Whether filter gradients and Adam's updates go to the worker thread (on
 * unless PIX2PIX_NATIVE_ASYNC=0; benchmarks switch them). Process-wide.
 */
export const convAsync = {
  filterGradient: process.env['PIX2PIX_NATIVE_ASYNC'] !== '0',
  adam: process.env['PIX2PIX_NATIVE_ASYNC'] !== '0',
  /** Pix2pixSumSquares takes the sums the gradient jobs report (off: it reads every gradient). */
  sums: true,
};

const waiter = (conv: ConvAddon) => (id: number) => conv.wait(id);
const summer = (conv: ConvAddon) => (id: number) => conv.jobSum(id);

/** Conv2DBackpropFilter's native call: on the worker where convAsync says so. */
export const filterGradient = (conv: ConvAddon): Run => {
  const wait = waiter(conv);
  const sum = summer(conv);
  return (x, dy, dw, geometry, engine) => {
    const id = convAsync.filterGradient ? conv.conv2dBackpropFilterAsync(x, dy, dw, geometry, engine) : 0;
    if (id > 0) {
      nativePending.track(id, wait, [dw], [x, dy]);
      nativePending.summed(id, dw, sum);
      return id;
    }
    const used = convAsync.filterGradient ? 0 : conv.conv2dBackpropFilter(x, dy, dw, geometry, engine);
    // Computed here: its sum of squares now, while it is in cache, as a job
    // would have reported it (the divergence check would read it cold).
    if (convAsync.sums) nativePending.summedInLine(dw, conv.sumOfSquares(dw));
    return used;
  };
};

/**
 * Add of two float32 tensors of one shape, at least one of them still being
 * written by the worker: the sum is queued behind it instead of waiting
 * (the same float additions, so the same bits). Undefined where it does not
 * apply (the caller adds as usual).
 */
export const pendingAdd = (conv: ConvAddon) => {
  const wait = waiter(conv);
  const sum = summer(conv);
  return (backend: NativeBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo | undefined => {
    if (!nativePending.active || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return undefined;
    const av = backend.peek(a.dataId)?.values;
    const bv = backend.peek(b.dataId)?.values;
    if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return undefined;
    if (!nativePending.writing(av) && !nativePending.writing(bv)) return undefined;
    const out = nativePool.take(av.length);
    const id = conv.addAsync(av, bv, out);
    nativePending.track(id, wait, [out], [av, bv]);
    nativePending.summed(id, out, sum);
    return backend.makeTensorInfo(a.shape, 'float32', out);
  };
};

/**
 * The most parameters whose update is queued. The worker updates them on
 * one core while the next step begins; a step whose first big convolution
 * (two threads' worth) comes early waits for all of it there, and one core
 * updates ~20 GB/s of p, g, m, v where two do ~30. So only small networks
 * (the 64x64 U-Net of ngf 32 has 7.3M parameters; 64x64 A/B 39.4 -> 37.9
 * ms a step, 128x128 with its 41M 291 -> 294).
 */
export const ADAM_QUEUE_MAX = 2 ** 23;

/**
 * Adam's update on the worker, one job per tensor in the order given (the
 * arrays as the fused kernel takes them: p, g, m, v, pOut, mOut, vOut per
 * tensor; the same kernel, so the same bits), where convAsync allows and
 * the update is small enough. False where not queued (the caller runs it).
 */
export const queuedAdam = (conv: ConvAddon) => {
  const wait = waiter(conv);
  return (work: readonly Float32Array[], k: readonly number[]): boolean => {
    if (!convAsync.adam) return false;
    let total = 0;
    for (let i = 0; i < work.length; i += 7) total += work[i]!.length;
    if (total > ADAM_QUEUE_MAX) return false;
    for (let i = 0; i < work.length; i += 7) {
      const [p, g, m, v, pOut, mOut, vOut] = work.slice(i, i + 7) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
      const id = conv.adamAsync(p, g, m, v, pOut, mOut, vOut, ...(k as [number, number, number, number, number, number, number]));
      nativePending.track(id, wait, [pOut, mOut, vOut], [p, g, m, v]);
    }
    return true;
  };
};
