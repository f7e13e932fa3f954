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
import { hasKernels, MIRROR_PAD_GRAD_KERNEL } from './kernels.ts';

interface MirrorPadAttrs {
  readonly paddings: ReadonlyArray<readonly [number, number]>;
  readonly mode: 'reflect' | 'symmetric';
}

/** Rows [start, start + length) along `axis`. */
const rows = (t: tf.Tensor, axis: number, start: number, length: number): tf.Tensor => {
  const begin = new Array<number>(t.rank).fill(0);
  const size = [...t.shape];
  begin[axis] = start;
  size[axis] = length;
  return tf.slice(t, begin, size);
};

/** Rows [start, start + length) in reverse order, as single-row slices joined (no reverse kernel). */
const reversedRows = (t: tf.Tensor, axis: number, start: number, length: number): tf.Tensor =>
  length === 1 ? rows(t, axis, start, 1) : tf.concat(Array.from({ length }, (_, k) => rows(t, axis, start + length - 1 - k, 1)), axis);

const alongAxis = (dy: tf.Tensor, axis: number, before: number, after: number, size: number, e: number): tf.Tensor => {
  if (before === 0 && after === 0) return dy;
  const centre = rows(dy, axis, before, size);
  // Padded rows 0 .. before-1 land, reversed, on e .. e+before-1; padded rows
  // before+size .. land, reversed, on size-e-after .. size-1-e.
  const top = before > 0 ? reversedRows(dy, axis, 0, before) : undefined;
  const bottom = after > 0 ? reversedRows(dy, axis, before + size, after) : undefined;
  const topEnd = e + before;
  const bottomStart = size - e - after;
  if (topEnd <= bottomStart) {
    // The two regions are apart: slices, two adds and one concat (fast on every backend).
    const parts: tf.Tensor[] = [];
    const push = (start: number, length: number, add?: tf.Tensor) => {
      if (length <= 0) return;
      const r = rows(centre, axis, start, length);
      parts.push(add ? tf.add(r, add) : r);
    };
    push(0, e);
    push(e, before, top);
    push(topEnd, bottomStart - topEnd);
    push(bottomStart, after, bottom);
    push(size - e, e);
    return parts.length === 1 ? parts[0]! : tf.concat(parts, axis);
  }
  // An input so small that the regions overlap: place each with zeros.
  const placed = (t: tf.Tensor, lead: number) => {
    const p = Array.from({ length: dy.rank }, (): [number, number] => [0, 0]);
    p[axis] = [lead, size - lead - t.shape[axis]!];
    return tf.pad(t, p);
  };
  return tf.addN([centre, ...(top ? [placed(top, e)] : []), ...(bottom ? [placed(bottom, bottomStart)] : [])]);
};

tf.registerGradient({
  kernelName: tf.MirrorPad,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const { paddings, mode } = attrs as unknown as MirrorPadAttrs;
    const e = mode === 'reflect' ? 1 : 0;
    const g = dy as tf.Tensor;
    const fused = x!.rank === 4 && paddings[0]![0] + paddings[0]![1] + paddings[3]![0] + paddings[3]![1] === 0 && g.dtype === 'float32' && hasKernels(MIRROR_PAD_GRAD_KERNEL);
    return {
      x: () =>
        fused
          ? (tf.engine().runKernel(MIRROR_PAD_GRAD_KERNEL, { dy: g }, { paddings, mode, xShape: x!.shape } as unknown as tf.NamedAttrMap) as tf.Tensor)
          : paddings.reduce((acc, [before, after], axis) => alongAxis(acc, axis, before, after, x!.shape[axis]!, e), g),
    };
  },
});
