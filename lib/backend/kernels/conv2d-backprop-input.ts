/**
 * Conv2DBackpropInput (also the forward pass of conv2dTranspose) for wasm.
 * The stock wasm kernel is a direct loop (~3 GFLOP/s). Two faster routes,
 * both built on XNNPACK kernels of the backend itself:
 *
 *  - sub-pixel: one stride-1 Conv2D of dy with a phase filter (see
 *    subpixel.ts), then a phase interleave. Best when there are many output
 *    positions: the only repacked operand is the (small) phase filter.
 *  - columns: colsT[Kc, P] = W[Kc, Co] · dyT[Co, P], then the col2im
 *    scatter-add. Best for the deep, small-spatial layers with big filters,
 *    where XNNPACK would spend longer repacking the phase filter
 *    (~13 ns/float) than computing: here W is the left operand (not repacked)
 *    and only dyT (small) is.
 */
import * as tf from '@tensorflow/tfjs';
import { convGeometry, scatterAddColumnsT, scratchFloats, transposeRows, type ConvGeometry } from './columns.ts';
import { columnLimit } from './conv2d-backprop-filter.ts';
import { callKernel, disposeAll, memoryOf, withShape } from './memory.ts';
import { callStock } from './registry.ts';
import { buildPhaseFilter, interleavePhases, subpixelPlan } from './subpixel.ts';

type Args = Parameters<tf.KernelFunc>[0];
type Route = (backendName: string, args: Args, g: ConvGeometry) => tf.TensorInfo;

function geometryOf(args: Args): ConvGeometry {
  const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  return convGeometry(a.inputShape, args.inputs['filter']!.shape, a.strides, a.pad, a.dimRoundingMode);
}

export const subpixelRoute: Route = (backendName, args, g) => {
  const backend = args.backend as tf.KernelBackend;
  const dy = args.inputs['dy']!;
  const filter = args.inputs['filter']!;
  const mem = memoryOf(backend);
  const plan = subpixelPlan(g);
  const phaseFilter = mem.alloc(plan.filterShape);
  buildPhaseFilter(mem.f32(filter), g, plan, mem.f32(phaseFilter));
  const phases = callKernel('Conv2D', backendName, backend, { x: dy, filter: phaseFilter }, {
    strides: [1, 1],
    pad: plan.pad,
    dataFormat: 'NHWC',
    dilations: [1, 1],
  });
  disposeAll(backend, phaseFilter);
  const dx = mem.alloc([g.batch, g.inH, g.inW, g.inC]);
  interleavePhases(mem.f32(phases), g, plan, mem.f32(dx));
  disposeAll(backend, phases);
  return dx;
};

export const columnsRoute: Route = (backendName, args, g) => {
  const backend = args.backend as tf.KernelBackend;
  const dy = args.inputs['dy']!;
  const filter = args.inputs['filter']!;
  const mem = memoryOf(backend);
  const kc = g.kH * g.kW * g.inC;
  const co = g.outC;
  const positions = g.batch * g.outH * g.outW;
  const chunk = Math.max(1, Math.floor(columnLimit.floats / kc));
  const dx = mem.alloc([g.batch, g.inH, g.inW, g.inC]);
  {
    const z = mem.f32(dx);
    z.data.fill(0, z.offset, z.offset + g.batch * g.inH * g.inW * g.inC);
  }
  for (let p0 = 0; p0 < positions; p0 += chunk) {
    const p1 = Math.min(positions, p0 + chunk);
    const dyT = mem.alloc([1, co, p1 - p0]);
    transposeRows(mem.f32(dy), co, p0, p1, mem.f32(dyT));
    const cols = callKernel('BatchMatMul', backendName, backend, { a: withShape(filter, [1, kc, co]), b: dyT }, {
      transposeA: false,
      transposeB: false,
    });
    disposeAll(backend, dyT);
    const scratch = mem.alloc([scratchFloats(g, p0, p1)]);
    scatterAddColumnsT(mem.f32(cols), g, p0, p1, mem.f32(dx), mem.f32(scratch));
    disposeAll(backend, cols, scratch);
  }
  return dx;
};

/** Sum over output positions of the kernel taps that land inside the input, along one axis. */
function validTaps(inSize: number, outSize: number, k: number, s: number, pad: number): number {
  let n = 0;
  for (let o = 0; o < outSize; o++) n += Math.max(0, Math.min(k, inSize + pad - o * s) - Math.max(0, pad - o * s));
  return n;
}

export type InputRoute = 'subpixel' | 'columns' | 'stock';

/**
 * Estimated single-threaded wasm cost (ns) of each route, from measurements:
 * XNNPACK repacks a fresh right operand at ~13 ns/float and multiplies at
 * ~29 GFLOP/s (padding taps included); the JS gather/scatter moves
 * 1-3.5 ns/float; the stock kernel skips padding taps but runs ~3.2 GFLOP/s.
 * The stock kernel only wins for 1-2 output positions with a big filter.
 */
export function chooseRoute(g: ConvGeometry): InputRoute {
  const plan = subpixelPlan(g);
  const phaseFilter = plan.filterShape.reduce((p, d) => p * d, 1);
  const convPositions = g.batch * plan.h.outSize * plan.w.outSize;
  const positions = g.batch * g.outH * g.outW;
  const kc = g.kH * g.kW * g.inC;
  const filter = kc * g.outC;
  const dx = g.batch * g.inH * g.inW * g.inC;
  const cost: Record<InputRoute, number> = {
    subpixel: phaseFilter * 15 + (2 * convPositions * phaseFilter) / 29 + dx,
    columns: positions * g.outC * 15 + (2 * positions * filter) / 29 + filter * 0.5 + positions * kc * 3.5 + dx,
    stock:
      (2 *
        g.batch *
        validTaps(g.inH, g.outH, g.kH, g.sH, g.padTop) *
        validTaps(g.inW, g.outW, g.kW, g.sW, g.padLeft) *
        g.inC *
        g.outC) /
      3.2,
  };
  return (Object.keys(cost) as InputRoute[]).reduce((best, r) => (cost[r] < cost[best] ? r : best));
}

export function conv2dBackpropInputKernel(backendName: string, stock: tf.KernelConfig | undefined): tf.KernelFunc {
  return (args) => {
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (a.dataFormat === 'NCHW') return callStock(stock, 'Conv2DBackpropInput with dataFormat NCHW', args);
    const { dy, filter } = args.inputs;
    if (dy!.dtype !== 'float32' || filter!.dtype !== 'float32') throw new Error('Conv2DBackpropInput needs float32 tensors');
    const g = geometryOf(args);
    const route = chooseRoute(g);
    if (route === 'stock' && stock !== undefined) return callStock(stock, 'Conv2DBackpropInput', args);
    return route === 'subpixel' ? subpixelRoute(backendName, args, g) : columnsRoute(backendName, args, g);
  };
}

/** Runs one route directly (tests use it to cover both whatever the cost model picks). */
export function conv2dBackpropInputVia(route: 'subpixel' | 'columns', backendName: string, args: Args): tf.TensorInfo {
  const g = geometryOf(args);
  return route === 'subpixel' ? subpixelRoute(backendName, args, g) : columnsRoute(backendName, args, g);
}
