/**
 * The gradient of tf.mirrorPad, registered in place of tf.js's own, which
 * keeps only the centre of the incoming gradient and drops what the
 * mirrored rows received (so a reflection-padded network would train on a
 * wrong gradient at every border). Installed once, on import, through the
 * tf.js gradient registry: it serves every backend and every caller.
 *
 * Along an axis of length `size` padded [before, after], padded position
 * i < before copies position before - i - e, and padded position
 * before + size + j copies size - 1 - e - j, with e = 1 for 'reflect' (the
 * edge is not repeated) and 0 for 'symmetric'. The gradient adds each copy's
 * gradient back onto the position it copies.
 */
import * as tf from '@tensorflow/tfjs';

interface MirrorPadAttrs {
  readonly paddings: ReadonlyArray<readonly [number, number]>;
  readonly mode: 'reflect' | 'symmetric';
}

const alongAxis = (dy: tf.Tensor, axis: number, before: number, after: number, size: number, e: number): tf.Tensor => {
  if (before === 0 && after === 0) return dy;
  const rank = dy.rank;
  const part = (start: number, length: number) => {
    const begin = new Array<number>(rank).fill(0);
    const len = new Array<number>(rank).fill(-1);
    begin[axis] = start;
    len[axis] = length;
    return tf.slice(dy, begin, len);
  };
  const placed = (t: tf.Tensor, lead: number) => {
    const p = Array.from({ length: rank }, (): [number, number] => [0, 0]);
    p[axis] = [lead, size - lead - t.shape[axis]!];
    return tf.pad(t, p);
  };
  const terms = [part(before, size)];
  // Padded 0 .. before-1 copy positions before-1+... down: reversed, they land on e .. e+before-1.
  if (before > 0) terms.push(placed(tf.reverse(part(0, before), axis), e));
  // Padded before+size .. copy size-1-e down to size-e-after: reversed, they land on size-e-after .. size-1-e.
  if (after > 0) terms.push(placed(tf.reverse(part(before + size, after), axis), size - e - after));
  return tf.addN(terms);
};

tf.registerGradient({
  kernelName: tf.MirrorPad,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const { paddings, mode } = attrs as unknown as MirrorPadAttrs;
    const e = mode === 'reflect' ? 1 : 0;
    return {
      x: () => paddings.reduce((g, [before, after], axis) => alongAxis(g, axis, before, after, x!.shape[axis]!, e), dy as tf.Tensor),
    };
  },
});
