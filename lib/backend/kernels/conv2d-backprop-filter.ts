/**
 * Conv2DBackpropFilter as one MatMul:  dW[Kc, Co] = colsT[Kc, P] · dy[P, Co]
 * (Kc = KH*KW*Ci, P = N*OH*OW), whose [Kc, Co] result already is the HWIO
 * filter layout.
 *
 * Why not the single dilated conv2d (x' = xpad^T as [Ci,H,W,N], dy as the
 * filter, dilation = stride)? Measured on wasm it reaches ~17 GFLOP/s against
 * ~29 for a MatMul: XNNPACK's conv with N (usually 1) input channels is a
 * degenerate GEMM; it also needs a full transpose of x. Here the large operand
 * (colsT) is the left one, which XNNPACK uses unpacked; only dy is repacked.
 * The cpu backend has no filter-gradient fast path at all (~0.01 GFLOP/s);
 * there this runs at its MatMul speed.
 */
import * as tf from '@tensorflow/tfjs';
import { convGeometry, gatherColumnsT, scratchFloats } from './columns.ts';
import { callKernel, copyF32, disposeAll, memoryOf, withShape } from './memory.ts';
import { callStock } from './registry.ts';

/**
 * Upper bound on the columns buffer (floats; 32 MB); larger problems run in
 * chunks of positions. Mutable so that tests can force many small chunks.
 */
export const columnLimit = { floats: 1 << 23 };

export function conv2dBackpropFilterKernel(backendName: string, stock: tf.KernelConfig | undefined): tf.KernelFunc {
  return (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as tf.KernelBackend;
    const x = inputs['x']!;
    const dy = inputs['dy']!;
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (a.dataFormat === 'NCHW') return callStock(stock, 'Conv2DBackpropFilter with dataFormat NCHW', args);
    if (x.dtype !== 'float32' || dy.dtype !== 'float32') throw new Error('Conv2DBackpropFilter needs float32 tensors');

    const g = convGeometry(x.shape, a.filterShape, a.strides, a.pad, a.dimRoundingMode);
    const mem = memoryOf(backend);
    const kc = g.kH * g.kW * g.inC;
    const co = g.outC;
    const positions = g.batch * g.outH * g.outW;
    const chunk = Math.max(1, Math.floor(columnLimit.floats / kc));

    let acc: tf.TensorInfo | undefined;
    for (let p0 = 0; p0 < positions; p0 += chunk) {
      const p1 = Math.min(positions, p0 + chunk);
      const whole = p0 === 0 && p1 === positions;
      const cols = mem.alloc([1, kc, p1 - p0]);
      const scratch = mem.alloc([scratchFloats(g, p0, p1)]);
      // A chunk of dy rows is contiguous, but MatMul needs it as a tensor of its own.
      const dyRows = whole ? withShape(dy, [1, positions, co]) : mem.alloc([1, p1 - p0, co]);
      if (!whole) copyF32(mem.f32(dyRows), 0, mem.f32(dy), p0 * co, (p1 - p0) * co);
      gatherColumnsT(mem.f32(x), g, p0, p1, mem.f32(cols), mem.f32(scratch));
      disposeAll(backend, scratch);
      const part = callKernel('BatchMatMul', backendName, backend, { a: cols, b: dyRows }, {
        transposeA: false,
        transposeB: false,
      });
      disposeAll(backend, cols, ...(whole ? [] : [dyRows]));
      if (acc === undefined) {
        acc = part;
      } else {
        const sum = mem.f32(acc);
        const add = mem.f32(part);
        for (let i = 0; i < kc * co; i++) {
          const j = sum.offset + i;
          sum.data[j] = sum.data[j]! + add.data[add.offset + i]!;
        }
        disposeAll(backend, part);
      }
    }
    if (acc === undefined) {
      // No output positions: the gradient is zero.
      acc = mem.alloc([kc, co]);
      const z = mem.f32(acc);
      z.data.fill(0, z.offset, z.offset + kc * co);
    }
    return withShape(acc, a.filterShape);
  };
}
