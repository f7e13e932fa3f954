// Where the native backend's loops do not take an input (a dtype, a
// broadcast, a view), a kernel falls back on the cpu backend's JavaScript,
// 10-40x slower: a training step must not. Skipped where the native module
// is not built (never under CI).
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { stockFallbacks } from '../lib/backend/native/kernels/elementwise.ts';
import { disposeReplaced, disposeState, initTrainState, makeKey, makeStep, paperObjective, patchDiscriminator, unet } from '../lib/node.ts';
import { onNativeBackend, skipNative } from './helpers/native.ts';

describe.skipIf(skipNative)('native kernels without JavaScript fallbacks', () => {
  onNativeBackend();

  it('Cast bool -> float32 gives a Float32Array of the cpu backend\'s 0s and 1s, and what uses it stays native', async () => {
    const bits = [true, false, false, true, true, false, true];
    const cast = async (backend: string) => {
      await tf.setBackend(backend);
      const b = tf.tensor(bits, [7], 'bool');
      const f = tf.cast(b, 'float32');
      const values = (tf.backend() as MathBackendCPU).data.get(f.dataId)!.values;
      const scaled = tf.mul(f, 2);
      const out = { values, data: Array.from(f.dataSync()), scaled: Array.from(scaled.dataSync()) };
      tf.dispose([b, f, scaled]);
      return out;
    };
    const want = await cast('cpu');
    stockFallbacks.clear();
    const got = await cast('native');
    expect(got.values).toBeInstanceOf(Float32Array);
    expect(got.data).toEqual(want.data);
    expect(got.scaled).toEqual(want.scaled);
    expect(Object.fromEntries(stockFallbacks)).toEqual({});
  });

  it('a 64x64 training step with dropout (unet depth 6) runs no cpu kernel', () => {
    const spec = { generator: unet({ depth: 6, ngf: 4 }), discriminator: patchDiscriminator(70, { ndf: 4 }), objective: paperObjective, inputShape: [64, 64, 3] as const, outChannels: 3 };
    const init = initTrainState(spec, makeKey(1));
    if (E.isLeft(init)) throw new Error(init.left.message);
    let state = init.right;
    const step = makeStep(spec, { donate: true });
    const x = tf.randomUniform([1, 64, 64, 3], -1, 1) as tf.Tensor4D, y = tf.randomUniform([1, 64, 64, 3], -1, 1) as tf.Tensor4D;
    for (let i = 0; i < 3; i++) {
      if (i === 2) stockFallbacks.clear();
      const [next] = step(state, { x, y });
      disposeReplaced(state, next);
      state = next;
    }
    expect(Object.fromEntries(stockFallbacks)).toEqual({});
    disposeState(state);
    tf.dispose([x, y]);
  });
});
