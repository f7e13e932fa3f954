/**
 * Transposed im2col ("columns") for NHWC conv2d, and its adjoint.
 *
 * colsT has shape [KH*KW*Ci, P] with P = N*OH*OW: row (kh,kw,ci), column
 * p = (n,oh,ow), value x[n, oh*sH+kh-padTop, ow*sW+kw-padLeft, ci] (0 in the
 * padding). With it both conv gradients become one plain MatMul in which the
 * big, freshly built operand is the *left* one: XNNPACK (wasm) repacks the
 * right operand on every call at ~13 ns/float, the left one is read as is.
 * Columns can be built for a range [p0, p1) of positions so that callers can
 * bound the memory they need.
 */
import * as tf from '@tensorflow/tfjs';
import type { F32 } from './memory.ts';

export interface ConvGeometry {
  readonly batch: number;
  readonly inH: number;
  readonly inW: number;
  readonly inC: number;
  readonly outH: number;
  readonly outW: number;
  readonly outC: number;
  readonly kH: number;
  readonly kW: number;
  readonly sH: number;
  readonly sW: number;
  readonly padTop: number;
  readonly padLeft: number;
}

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

/** Geometry of an NHWC conv2d with dilation 1, resolved the way tfjs resolves it. */
export function convGeometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/**
 * The input rows that positions [p0, p1) read, regrouped per row as
 * [Ci, sW, ceil(W/sW)] (channel, column phase, column / sW). In that layout
 * the inputs of consecutive output columns are adjacent, so the columns are
 * filled row after row of colsT with contiguous copies. (Reading x in place
 * instead strides by sW*Ci floats; measured 2x slower.)
 */
interface Rows {
  readonly first: number; // flat row index n*inH + y of the first regrouped row
  readonly count: number;
  readonly rowLen: number; // Ci * sW * ceil(W/sW)
  readonly wp: number; // ceil(W/sW)
}

function rowsOf(g: ConvGeometry, p0: number, p1: number): Rows {
  const { inH, inW, inC, outH, outW, kH, sH, sW, padTop } = g;
  const lineA = Math.floor(p0 / outW);
  const lineB = Math.floor((p1 - 1) / outW);
  const flatRow = (line: number, dy: number): number => {
    const n = Math.floor(line / outH);
    const y = (line - n * outH) * sH - padTop + dy;
    return n * inH + Math.min(inH - 1, Math.max(0, y));
  };
  const first = flatRow(lineA, 0);
  const last = flatRow(lineB, kH - 1);
  const wp = Math.ceil(inW / sW);
  return { first, count: Math.max(0, last - first + 1), rowLen: inC * sW * wp, wp };
}

/** Floats of the regrouped-rows scratch that gather/scatter of positions [p0, p1) need. */
export function scratchFloats(g: ConvGeometry, p0: number, p1: number): number {
  if (p1 <= p0) return 0;
  const rows = rowsOf(g, p0, p1);
  return rows.count * rows.rowLen;
}

function regroup(x: F32, g: ConvGeometry, rows: Rows, to: F32): void {
  const { inW, inC, sW } = g;
  const xd = x.data;
  const out = to.data;
  const planeStep = sW * rows.wp;
  for (let r = 0; r < rows.count; r++) {
    let s = x.offset + (rows.first + r) * inW * inC;
    const base = to.offset + r * rows.rowLen;
    for (let c = 0; c < inW; c++) {
      const a = c % sW;
      let d = base + a * rows.wp + (c - a) / sW;
      for (let ci = 0; ci < inC; ci++) {
        out[d] = xd[s++]!;
        d += planeStep;
      }
    }
  }
}

/** The inverse of regroup, adding into x. */
function ungroupAdd(from: F32, g: ConvGeometry, rows: Rows, x: F32): void {
  const { inW, inC, sW } = g;
  const xd = x.data;
  const src = from.data;
  const planeStep = sW * rows.wp;
  for (let r = 0; r < rows.count; r++) {
    let d = x.offset + (rows.first + r) * inW * inC;
    const base = from.offset + r * rows.rowLen;
    for (let c = 0; c < inW; c++) {
      const a = c % sW;
      let s = base + a * rows.wp + (c - a) / sW;
      for (let ci = 0; ci < inC; ci++) {
        xd[d] = xd[d]! + src[s]!;
        d++;
        s += planeStep;
      }
    }
  }
}

/** Per output line of positions [p0, p1): regrouped row of kh = 0, input y of kh = 0, [owA, owB). */
interface Lines {
  readonly count: number;
  readonly row0: Int32Array;
  readonly y0: Int32Array;
  readonly owA: Int32Array;
  readonly owB: Int32Array;
}

function linesOf(g: ConvGeometry, rows: Rows, p0: number, p1: number): Lines {
  const { inH, outH, outW, sH, padTop } = g;
  const lineA = Math.floor(p0 / outW);
  const count = Math.floor((p1 - 1) / outW) - lineA + 1;
  const row0 = new Int32Array(count);
  const y0 = new Int32Array(count);
  const owA = new Int32Array(count);
  const owB = new Int32Array(count);
  for (let l = 0; l < count; l++) {
    const line = lineA + l;
    const n = Math.floor(line / outH);
    const y = (line - n * outH) * sH - padTop;
    y0[l] = y;
    row0[l] = n * inH + y - rows.first;
    owA[l] = Math.max(0, p0 - line * outW);
    owB[l] = Math.min(outW, p1 - line * outW);
  }
  return { count, row0, y0, owA, owB };
}

/** For kernel column kw: input column of ow is (ow + shift)*sW + phase; [lo, hi) of ow lie inside x. */
function tapOf(g: ConvGeometry, kw: number): { phase: number; shift: number; lo: number; hi: number } {
  const phase = (((kw - g.padLeft) % g.sW) + g.sW) % g.sW;
  return {
    phase,
    shift: (kw - g.padLeft - phase) / g.sW,
    lo: Math.ceil((g.padLeft - kw) / g.sW),
    hi: Math.floor((g.inW - 1 + g.padLeft - kw) / g.sW) + 1,
  };
}

/**
 * cols[(kh,kw,ci), p - p0] = x[...] for p in [p0, p1). cols holds Kc*(p1-p0)
 * floats, scratch scratchFloats(g, p0, p1). Filled row of colsT by row; when
 * scratch shares cols' buffer (the wasm heap) runs move with copyWithin,
 * ~4x faster than a JS loop. (The loop nest is written out here and in the
 * scatter, not shared through a callback: V8 does not inline it, 2x slower.)
 */
export function gatherColumnsT(x: F32, g: ConvGeometry, p0: number, p1: number, cols: F32, scratch: F32): void {
  if (p1 <= p0) return;
  const rows = rowsOf(g, p0, p1);
  regroup(x, g, rows, scratch);
  const L = linesOf(g, rows, p0, p1);
  const { inH, inC, kH, kW, sW } = g;
  const pc = p1 - p0;
  const cd = cols.data;
  const xr = scratch.data;
  const oneBuffer = cd.buffer === xr.buffer && cd.byteOffset === xr.byteOffset;
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const tap = tapOf(g, kw);
      for (let ci = 0; ci < inC; ci++) {
        let d = cols.offset + ((kh * kW + kw) * inC + ci) * pc;
        const plane = scratch.offset + (ci * sW + tap.phase) * rows.wp + tap.shift;
        for (let l = 0; l < L.count; l++) {
          const owA = L.owA[l]!;
          const owB = L.owB[l]!;
          const end = d + owB - owA;
          const y = L.y0[l]! + kh;
          if (y < 0 || y >= inH) {
            cd.fill(0, d, end);
            d = end;
            continue;
          }
          const lo = Math.min(owB, Math.max(owA, tap.lo));
          const hi = Math.max(lo, Math.min(owB, tap.hi));
          for (let e = d + lo - owA; d < e; d++) cd[d] = 0;
          const s = (L.row0[l]! + kh) * rows.rowLen + plane + lo;
          const len = hi - lo;
          if (oneBuffer && len >= 8) cd.copyWithin(d, s, s + len);
          else for (let k = 0; k < len; k++) cd[d + k] = xr[s + k]!;
          d += len;
          for (; d < end; d++) cd[d] = 0;
        }
      }
    }
  }
}

/** The adjoint of gatherColumnsT: dx[...] += cols[(kh,kw,ci), p - p0]; same scratch size. */
export function scatterAddColumnsT(cols: F32, g: ConvGeometry, p0: number, p1: number, dx: F32, scratch: F32): void {
  if (p1 <= p0) return;
  const rows = rowsOf(g, p0, p1);
  const L = linesOf(g, rows, p0, p1);
  const { inH, inC, kH, kW, sW } = g;
  const pc = p1 - p0;
  const cd = cols.data;
  const acc = scratch.data;
  acc.fill(0, scratch.offset, scratch.offset + rows.count * rows.rowLen);
  for (let kh = 0; kh < kH; kh++) {
    for (let kw = 0; kw < kW; kw++) {
      const tap = tapOf(g, kw);
      for (let ci = 0; ci < inC; ci++) {
        let d = cols.offset + ((kh * kW + kw) * inC + ci) * pc;
        const plane = scratch.offset + (ci * sW + tap.phase) * rows.wp + tap.shift;
        for (let l = 0; l < L.count; l++) {
          const owA = L.owA[l]!;
          const owB = L.owB[l]!;
          const y = L.y0[l]! + kh;
          if (y >= 0 && y < inH) {
            const lo = Math.min(owB, Math.max(owA, tap.lo));
            const hi = Math.max(lo, Math.min(owB, tap.hi));
            let s = (L.row0[l]! + kh) * rows.rowLen + plane + lo;
            for (let i = d + lo - owA, e = d + hi - owA; i < e; i++, s++) acc[s] = acc[s]! + cd[i]!;
          }
          d += owB - owA;
        }
      }
    }
  }
  ungroupAdd(scratch, g, rows, dx);
}

/** out[c, p - p0] = m[p, c] for rows [p0, p1) of a row-major [P, C] matrix. */
export function transposeRows(m: F32, cols: number, p0: number, p1: number, out: F32): void {
  const pc = p1 - p0;
  const md = m.data;
  const od = out.data;
  const B = 32; // tile edge: keeps both the read and the write side in cache
  for (let pb = p0; pb < p1; pb += B) {
    const pe = Math.min(p1, pb + B);
    for (let cb = 0; cb < cols; cb += B) {
      const ce = Math.min(cols, cb + B);
      for (let p = pb; p < pe; p++) {
        const src = m.offset + p * cols;
        let dst = out.offset + cb * pc + (p - p0);
        for (let c = cb; c < ce; c++) {
          od[dst] = md[src + c]!;
          dst += pc;
        }
      }
    }
  }
}
