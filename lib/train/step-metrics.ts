/** What a training step reports: its metrics by name, how logs show them, and the error of a step that diverged. */

/**
 * What a step measured, by name: `G/<term>` (each G term, unweighted),
 * `D/<term>/<part>` (each part of D's loss, e.g. D/cgan/real), `L1` (mean
 * |y - G(x)|, always), `lr` and `lrD` (the learning rates used, where the
 * optimisers have one). A new term shows up with no edit anywhere.
 */
export type StepMetrics = Readonly<Record<string, number>>;

const fmt = (v: number) => v.toFixed(3);

/** `D cgan real 0.693 fake 0.701 | G cgan 0.786 l1 0.507`: every metric of the step by its term's name. */
export const showLosses = (m: StepMetrics): string => {
  const d = new Map<string, string[]>();
  for (const [k, v] of Object.entries(m)) {
    const [net, term, part] = k.split('/');
    if (net === 'D' && term !== undefined && part !== undefined) d.set(term, [...(d.get(term) ?? []), `${part} ${fmt(v)}`]);
  }
  const g = Object.entries(m).filter(([k]) => k.startsWith('G/')).map(([k, v]) => `${k.slice(2)} ${fmt(v)}`);
  return [...[...d].map(([term, parts]) => `D ${term} ${parts.join(' ')}`), `G ${g.join(' ')}`].join(' | ');
};


/**
 * Thrown when a loss is NaN or infinite, or a network's gradient is (its
 * squared norm overflows float32: its update would put Inf into the
 * optimiser's state, or NaN into the weights). `step` is the number the
 * step would have had (state.step + 1, as in the logs: steps count from 1);
 * the state passed to the step is still intact.
 */
export class DivergedError extends Error {
  override readonly name = 'DivergedError';
  constructor(
    readonly step: number,
    readonly metrics: StepMetrics,
    readonly reason = `a loss is not finite (${JSON.stringify(metrics)})`,
  ) {
    super(`training diverged at step ${step}: ${reason}`);
  }
}
