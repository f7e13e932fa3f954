/**
 * Pausing tf.js's gradient tape: JAX's stop_gradient for a whole computation.
 *
 * Inside a function being differentiated (tf.grads / valueAndGrads), every
 * op is recorded with the tensors its gradient needs, and those stay alive
 * until the outer backward pass ends — including the whole of a nested
 * gradient computation. offTape(fn) runs fn as if at top level: nothing it
 * computes is recorded (so nothing flows back through it), a tf.grads inside
 * it frees its own tape when done, and the enclosing tape resumes after.
 *
 * tf.js has no public switch for this; it uses the engine's state
 * (activeTape, gradientDepth) as tf.js 4.x defines it, and checks for it.
 */
import * as tf from '@tensorflow/tfjs';

interface TapeState {
  activeTape: unknown;
  gradientDepth: number;
}

const tapeState = (): TapeState => {
  const state = (tf.engine() as unknown as { state: Partial<TapeState> }).state;
  if (!('activeTape' in state) || typeof state.gradientDepth !== 'number')
    throw new Error('offTape: this tf.js engine has no activeTape / gradientDepth (written for tf.js 4.x)');
  return state as TapeState;
};

export const offTape = <T>(fn: () => T): T => {
  const state = tapeState();
  const { activeTape, gradientDepth } = state;
  if (gradientDepth === 0) return fn();
  state.gradientDepth = 0;
  state.activeTape = null;
  try {
    return fn();
  } finally {
    state.activeTape = activeTape;
    state.gradientDepth = gradientDepth;
  }
};
