/**
 * The fold: `fit(state, batches, step, hooks)` applies the pure step to each
 * batch of an async stream. tf.tidy cannot span an await, so the step is
 * synchronous and the fold, outside it, disposes what the old state held
 * that the new one does not, and each batch once it is used. The live
 * tensor count stays flat across steps.
 */
import * as tf from '@tensorflow/tfjs';
import { disposeReplaced, type Batch, type TrainState } from './state.ts';
import type { AsyncStep, Step, StepMetrics } from './step.ts';

export interface FitHooks {
  /** After each step; `state` is valid until the next step replaces it. */
  readonly onStep?: (state: TrainState, metrics: StepMetrics) => void | Promise<void>;
  /** Checked before each step (e.g. a SIGINT flag): true ends the fold early. */
  readonly shouldStop?: (state: TrainState) => boolean;
  /** Stop after this many steps in total (state.step). */
  readonly maxSteps?: number;
}

/**
 * Where a fold failed: the batch source (a file that cannot be decoded), the
 * step itself (a diverged loss), or a hook (a checkpoint that cannot be
 * written).
 */
export type FitPhase = 'data' | 'step' | 'hook';

/**
 * Thrown by fit when the batch source, a step or a hook fails. It carries
 * the state to carry on from, still alive (the caller disposes it): the last
 * good state before the step that failed, or, when a hook failed, the
 * state the hook was given.
 */
export class FitError extends Error {
  override readonly name = 'FitError';
  constructor(
    override readonly cause: unknown,
    readonly state: TrainState,
    readonly phase: FitPhase = 'step',
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export const fit = async (
  initial: TrainState,
  batches: AsyncIterable<Batch>,
  step: Step | AsyncStep,
  hooks: FitHooks = {},
): Promise<TrainState> => {
  let state = initial;
  const done = () => hooks.shouldStop?.(state) === true || (hooks.maxSteps !== undefined && state.step >= hooks.maxSteps);
  if (done()) return state;
  const source = batches[Symbol.asyncIterator]();
  try {
    for (;;) {
      let item: IteratorResult<Batch>;
      try {
        item = await source.next();
      } catch (e) {
        throw new FitError(e, state, 'data');
      }
      if (item.done === true) break;
      const batch = item.value;
      let next: TrainState;
      let metrics: StepMetrics;
      try {
        [next, metrics] = await step(state, batch);
      } catch (e) {
        throw new FitError(e, state, 'step');
      } finally {
        tf.dispose([batch.x, batch.y]);
      }
      disposeReplaced(state, next);
      state = next;
      try {
        await hooks.onStep?.(state, metrics);
      } catch (e) {
        throw new FitError(e, state, 'hook');
      }
      if (done()) break;
    }
  } finally {
    await source.return?.();
  }
  return state;
};
