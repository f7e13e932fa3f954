/** Point-wise activations: no parameters, the identity geometry. */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { pointwise } from '../geometry/geom.ts';
import { leaf } from '../core/leaf.ts';
import type { Layer } from '../core/layer.ts';
import { float, type GraphBuilder } from '../core/graph.ts';

export { identity } from '../core/combinators.ts';

const activation = (name: string, f: (x: tf.Tensor4D) => tf.Tensor4D, graph: (x: string, g: GraphBuilder) => string): Layer =>
  leaf({ name, geom: pointwise, output: (s) => E.right(s), apply: (_p, _s, x) => f(x), graph: (_p, _s, x, g) => graph(x, g) });

export const relu = (): Layer => activation('relu', (x) => tf.relu(x), (x, g) => g.node('Relu', [x]));
export const leakyRelu = (alpha = 0.2): Layer =>
  activation(`leakyRelu ${alpha}`, (x) => tf.leakyRelu(x, alpha), (x, g) => g.node('LeakyRelu', [x], { alpha: float(alpha) }));
export const tanh = (): Layer => activation('tanh', (x) => tf.tanh(x), (x, g) => g.node('Tanh', [x]));
export const sigmoid = (): Layer => activation('sigmoid', (x) => tf.sigmoid(x), (x, g) => g.node('Sigmoid', [x]));

/** Checks the channel count of its input (a clear error early instead of a shape crash in a matmul). */
export const expectChannels = (channels: number): Layer =>
  leaf({
    name: 'input',
    geom: pointwise,
    output: (s) => (s[2] === channels ? E.right(s) : E.left(`expected ${channels} channels, got ${s[2]}`)),
    apply: (_p, _s, x) => x,
    graph: (_p, _s, x) => x,
  });
