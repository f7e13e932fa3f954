/**
 * The kernels that hand work to the native worker thread
 * (src/conv_async.cc): filter gradients of one thread's worth of work, and
 * the sum of two gradients when the worker is still computing one of them
 * (a filter used twice, as D is on the real and the fake pair). The backend
 * waits for a job before anything reads what it writes (pending.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import type { NativeBackend } from '../register.ts';
import { nativePending } from '../pending.ts';
import { nativePool } from '../pool.ts';
import type { ConvAddon } from './conv.ts';

type Run = ConvAddon['conv2dBackpropFilter'];

/**
 * Whether filter gradients go to the worker thread (on unless
 * PIX2PIX_NATIVE_ASYNC=0; benchmarks switch it). Process-wide.
 */
export const convAsync = { filterGradient: process.env['PIX2PIX_NATIVE_ASYNC'] !== '0' };

const waiter = (conv: ConvAddon) => (id: number) => conv.wait(id);

/** Conv2DBackpropFilter's native call: on the worker where convAsync says so. */
export const filterGradient = (conv: ConvAddon): Run => {
  const wait = waiter(conv);
  return (x, dy, dw, geometry, engine) => {
    if (!convAsync.filterGradient) return conv.conv2dBackpropFilter(x, dy, dw, geometry, engine);
    const id = conv.conv2dBackpropFilterAsync(x, dy, dw, geometry, engine);
    if (id > 0) nativePending.track(id, wait, dw, [x, dy]);
    return id;
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
  return (backend: NativeBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo | undefined => {
    if (!nativePending.active || a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return undefined;
    const av = backend.peek(a.dataId)?.values;
    const bv = backend.peek(b.dataId)?.values;
    if (!(av instanceof Float32Array) || !(bv instanceof Float32Array)) return undefined;
    if (!nativePending.writing(av) && !nativePending.writing(bv)) return undefined;
    const out = nativePool.take(av.length);
    nativePending.track(conv.addAsync(av, bv, out), wait, out, [av, bv]);
    return backend.makeTensorInfo(a.shape, 'float32', out);
  };
};
