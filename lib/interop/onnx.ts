/**
 * A network as an ONNX model (opset 17): the layers add their nodes through
 * a GraphBuilder (lib/core/graph.ts) — Conv, ConvTranspose,
 * BatchNormalization (eval mode) or InstanceNormalization (paper mode:
 * each image's own statistics, as batch norm at batch 1), LeakyRelu, Relu,
 * Tanh, Concat, Pad — and this file writes the protobuf with onnx-proto.
 * Input `x` and output `y` are NCHW float32 with free batch, height and
 * width (the networks are fully convolutional). No file system here.
 */
import onnxProto from 'onnx-proto';
import type * as tf from '@tensorflow/tfjs';
import type { AttrValue, GraphBuilder } from '../core/graph.ts';
import type { Layer } from '../core/layer.ts';
import type { Tree } from '../core/tree.ts';
import { VERSION } from '../version.ts';

const { onnx } = onnxProto;

export const ONNX_OPSET = 17;

export interface OnnxExportOptions {
  /** 'eval' (running statistics; the network needs them) or 'paper' (each image's statistics; no dropout). Default 'eval'. */
  readonly mode?: 'eval' | 'paper';
  readonly inChannels?: number;
  readonly outChannels?: number;
  /** The graph's name. */
  readonly name?: string;
}

const attribute = (name: string, v: AttrValue) => {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v as number[] };
  return { name, type: T.FLOAT, f: (v as { float: number }).float };
};

/** The ONNX model's bytes for `layer` with these parameters and state (read with dataSync: export on a cpu-side backend). */
export const exportOnnx = (layer: Layer, params: Tree, state: Tree, opts: OnnxExportOptions = {}): Uint8Array => {
  if (layer.graph === undefined) throw new Error(`${layer.name}: this network cannot be exported (a layer has no graph form)`);
  const nodes: Array<Record<string, unknown>> = [];
  const initializers: Array<Record<string, unknown>> = [];
  let n = 0;
  // Channels of each value: from the input, the kernels' shapes, and Concat's sum; every other op keeps its input's.
  const channels = new Map<string, number | undefined>([['x', opts.inChannels]]);
  const dimsOf = new Map<string, readonly number[]>();
  const fresh = (hint: string) => `${hint.replace(/[^\w.]+/g, '_')}_${n++}`;
  const g: GraphBuilder = {
    mode: opts.mode ?? 'eval',
    node: (op, inputs, attrs = {}) => {
      const output = fresh(op);
      nodes.push({ opType: op, name: output, input: [...inputs], output: [output], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
      const c =
        op === 'Conv' ? dimsOf.get(inputs[1]!)?.[0]
        : op === 'ConvTranspose' ? dimsOf.get(inputs[1]!)?.[1]
        : op === 'Concat' ? inputs.reduce<number | undefined>((sum, i) => (sum === undefined || channels.get(i) === undefined ? undefined : sum + channels.get(i)!), 0)
        : channels.get(inputs[0]!);
      channels.set(output, c);
      return output;
    },
    constant: (data, dims, hint = 'w') => {
      const name = fresh(hint);
      initializers.push({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: littleEndian(data) });
      dimsOf.set(name, dims);
      return name;
    },
    ints: (values, hint = 'ints') => {
      const name = fresh(hint);
      initializers.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: [...values] });
      return name;
    },
    channels: (x) => channels.get(x),
    values: (t: tf.Tensor) => t.dataSync() as Float32Array,
  };
  const out = layer.graph(params, state, 'x', g);
  // The output under a fixed name: an Identity (the last node may be any op).
  nodes.push({ opType: 'Identity', name: 'y', input: [out], output: ['y'] });
  const dims = (c: number | undefined) => [{ dimParam: 'N' }, c === undefined ? { dimParam: 'C' } : { dimValue: c }, { dimParam: 'H' }, { dimParam: 'W' }];
  const value = (name: string, c: number | undefined) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims(c) } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'pix2pix-ts',
    producerVersion: VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: opts.name ?? layer.name,
      node: nodes,
      initializer: initializers,
      input: [value('x', opts.inChannels)],
      output: [value('y', opts.outChannels)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
};

/** float32 values as little-endian bytes (ONNX's raw_data), whatever the host. */
const littleEndian = (data: Float32Array): Uint8Array => {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
};
