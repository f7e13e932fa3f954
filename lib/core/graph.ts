/**
 * Layers as a computation graph, for export (ONNX): each layer that knows
 * how adds its nodes to a GraphBuilder, given its parameters and the name
 * of its input. Values are named tensors in NCHW (ONNX's layout), batch and
 * size left free. The builder is the exporter's (lib/interop/onnx.ts);
 * layers only name ops and attributes.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Mode } from './layer.ts';

export type AttrValue = number | readonly number[] | string | { readonly float: number };

export interface GraphBuilder {
  /** What the graph computes: 'eval' (running statistics) or 'paper' (each image's own statistics, no dropout). */
  readonly mode: Exclude<Mode, 'train'>;
  /** A node `op(inputs)` with attributes; returns its output's name. */
  node(op: string, inputs: readonly string[], attrs?: Readonly<Record<string, AttrValue>>): string;
  /** A float32 initializer holding `data` (row-major, `dims`); returns its name. */
  constant(data: Float32Array, dims: readonly number[], hint?: string): string;
  /** An int64 initializer (shapes, pads). */
  ints(values: readonly number[], hint?: string): string;
  /** The channel count of a value, where the graph so far determines it. */
  channels(x: string): number | undefined;
  /** A tensor's values (synchronously: exporting reads weights on the cpu backends). */
  values(t: tf.Tensor): Float32Array;
}

/** A float attribute: plain numbers are ints. */
export const float = (v: number): { readonly float: number } => ({ float: v });
