/**
 * Sum of many tensors of one shape. tf.addN everywhere but where a backend
 * cannot take many inputs in one kernel: tf.js's webgpu AddN binds every
 * input as a storage buffer, and a device allows 8 per shader stage
 * (maxStorageBuffersPerShaderStage), so 8 or more inputs make an invalid
 * pipeline — Dawn reports it, tf.js carries on with a wrong sum. There the
 * sum is taken in chunks, left to right.
 */
import * as tf from '@tensorflow/tfjs';

/** Inputs one AddN kernel may take on the current backend (Infinity: any number). */
const maxInputs = (): number => {
  if (tf.getBackend() !== 'webgpu') return Infinity;
  const limits = (tf.backend() as unknown as { device?: { limits?: { maxStorageBuffersPerShaderStage?: number } } }).device?.limits;
  return Math.max(2, (limits?.maxStorageBuffersPerShaderStage ?? 8) - 1); // one binding is the output
};

export const addN = <T extends tf.Tensor>(tensors: readonly T[]): T => {
  const k = maxInputs();
  if (tensors.length <= k) return tf.addN(tensors as T[]);
  return tf.tidy(() => {
    let acc = tf.addN(tensors.slice(0, k) as T[]);
    for (let i = k; i < tensors.length; i += k - 1) acc = tf.addN([acc, ...tensors.slice(i, i + k - 1)]);
    return acc;
  });
};
