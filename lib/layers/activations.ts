/** Point-wise activations: no parameters, the identity geometry. */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { pointwise } from '../geometry/geom.ts';
import { leaf } from '../core/leaf.ts';
import type { Layer } from '../core/layer.ts';

export { identity } from '../core/combinators.ts';

const activation = (name: string, f: (x: tf.Tensor4D) => tf.Tensor4D): Layer =>
  leaf({ name, geom: pointwise, output: (s) => E.right(s), apply: (_p, _s, x) => f(x) });

export const relu = (): Layer => activation('relu', (x) => tf.relu(x));
export const leakyRelu = (alpha = 0.2): Layer => activation(`leakyRelu ${alpha}`, (x) => tf.leakyRelu(x, alpha));
export const tanh = (): Layer => activation('tanh', (x) => tf.tanh(x));
export const sigmoid = (): Layer => activation('sigmoid', (x) => tf.sigmoid(x));

/** Checks the channel count of its input (a clear error early instead of a shape crash in a matmul). */
export const expectChannels = (channels: number): Layer =>
  leaf({
    name: 'input',
    geom: pointwise,
    output: (s) => (s[2] === channels ? E.right(s) : E.left(`expected ${channels} channels, got ${s[2]}`)),
    apply: (_p, _s, x) => x,
  });
