// How far two runs' weights are apart, tensor by tensor (same paths, same order).

export interface WeightDiff {
  /** sqrt(sum of squared differences / sum of squares of `want`), over every tensor. */
  readonly relL2: number;
  /** The largest absolute difference of any element. */
  readonly worst: number;
  /** Elements that differ by more than 1e-4 of their tensor's scale (max |want|, at least 1e-3). */
  readonly off: number;
  readonly count: number;
}

export const weightDiff = (got: ReadonlyArray<readonly [string, Float32Array]>, want: ReadonlyArray<readonly [string, Float32Array]>): WeightDiff => {
  let d2 = 0;
  let n2 = 0;
  let worst = 0;
  let off = 0;
  let count = 0;
  got.forEach(([, w], i) => {
    const c = want[i]![1];
    let scale = 1e-3;
    for (let k = 0; k < c.length; k++) scale = Math.max(scale, Math.abs(c[k]!));
    for (let k = 0; k < c.length; k++) {
      const d = Math.abs(w[k]! - c[k]!);
      d2 += d * d;
      n2 += c[k]! * c[k]!;
      worst = Math.max(worst, d);
      if (d > 1e-4 * scale) off++;
    }
    count += c.length;
  });
  return { relL2: Math.sqrt(d2 / n2), worst, off, count };
};
