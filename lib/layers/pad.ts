/** Padding as a layer: `pad(n, 'reflect')` is the reference ResNet generator's ReflectionPad2d(n). */
import * as tf from '@tensorflow/tfjs';
import * as E from 'fp-ts/lib/Either.js';
import { leaf } from '../core/leaf.ts';
import type { Layer } from '../core/layer.ts';
import { showSize } from '../core/shape.ts';
// tf.mirrorPad's gradient, corrected (tf.js's drops the mirrored part).
import '../ops/mirror-pad-grad.ts';

export type PadMode = 'reflect' | 'zero';

/**
 * `n` rows and columns on every side: zeros, or the input mirrored about its
 * edge without repeating it (PyTorch's ReflectionPad2d, so n must be smaller
 * than the height and the width). On an unbounded input padding only shifts
 * coordinates: its geometry is a 1x1 conv with padding n.
 */
export const pad = (n: number, mode: PadMode = 'zero'): Layer => {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`pad size must be an integer >= 0, got ${n}`);
  if (mode !== 'reflect' && mode !== 'zero') throw new RangeError(`pad mode must be 'reflect' or 'zero', got '${String(mode)}'`);
  const paddings: Array<[number, number]> = [[0, 0], [n, n], [n, n], [0, 0]];
  return leaf({
    name: `${mode}Pad ${n}`,
    geom: { kind: 'conv', kernel: 1, stride: 1, pad: n, dilation: 1 },
    output: ([h, w, c]) =>
      mode === 'reflect' && Math.min(h, w) <= n
        ? E.left(`input ${showSize([h, w, c])} is too small to reflect ${n} rows and columns (it needs at least ${n + 1}x${n + 1})`)
        : E.right([h + 2 * n, w + 2 * n, c] as const),
    apply: (_p, _s, x) => (n === 0 ? x : mode === 'reflect' ? tf.mirrorPad(x, paddings, 'reflect') : tf.pad(x, paddings)),
    // ONNX pads: [begin of each axis, end of each axis], NCHW.
    graph: (_p, _s, x, g) => (n === 0 ? x : g.node('Pad', [x, g.ints([0, 0, n, n, 0, 0, n, n], 'pads')], { mode: mode === 'reflect' ? 'reflect' : 'constant' })),
  });
};
