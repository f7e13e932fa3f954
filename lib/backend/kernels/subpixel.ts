/**
 * Sub-pixel decomposition of the input gradient of a strided conv2d.
 *
 * For one spatial axis with kernel K, stride s, leading pad p: write h + p =
 * q*s + a (a = the output phase). Then
 *     dx[h] = sum_j dy[q - j] * w[a + j*s]      (j >= 0, terms with a+j*s >= K are 0)
 * so every phase is a stride-1 correlation of dy with the phase's taps of w,
 * flipped. Padding w with zeros to U*s taps (U = ceil(K/s)) gives every phase
 * the same U taps over the same window dy[q-U+1 .. q], so ALL phases are ONE
 * stride-1 conv2d of dy with a filter [U, U', Co, sH*sW*Ci] whose output
 * channels are (phase row, phase col, ci); dx is then read back by phase
 * (a depth-to-space with a crop of p mod s). Kernel < stride and
 * kernel % stride != 0 only add zero taps; stride 1 is the plain flipped conv.
 */
import type { ConvGeometry } from './columns.ts';
import { copyF32, type F32 } from './memory.ts';

interface AxisPlan {
  readonly taps: number; // U
  readonly padBefore: number; // zero rows of dy before the window of the first needed q
  readonly padAfter: number;
  readonly outSize: number; // rows of the phase conv's output
}

export interface SubpixelPlan {
  readonly h: AxisPlan;
  readonly w: AxisPlan;
  readonly phaseChannels: number; // sH*sW*Ci
  readonly filterShape: readonly [number, number, number, number];
  /** Explicit NHWC padding for the stride-1 conv2d over dy. */
  readonly pad: [[number, number], [number, number], [number, number], [number, number]];
}

function axisPlan(inSize: number, outSize: number, k: number, s: number, pad: number): AxisPlan {
  const taps = Math.ceil(k / s);
  const qMin = Math.floor(pad / s);
  const qMax = Math.floor((inSize - 1 + pad) / s);
  const padBefore = Math.max(0, taps - 1 - qMin);
  const padAfter = Math.max(0, qMax - (outSize - 1));
  return { taps, padBefore, padAfter, outSize: outSize + padBefore + padAfter - taps + 1 };
}

export function subpixelPlan(g: ConvGeometry): SubpixelPlan {
  const h = axisPlan(g.inH, g.outH, g.kH, g.sH, g.padTop);
  const w = axisPlan(g.inW, g.outW, g.kW, g.sW, g.padLeft);
  const phaseChannels = g.sH * g.sW * g.inC;
  return {
    h,
    w,
    phaseChannels,
    filterShape: [h.taps, w.taps, g.outC, phaseChannels],
    pad: [[0, 0], [h.padBefore, h.padAfter], [w.padBefore, w.padAfter], [0, 0]],
  };
}

/** F[t, t', co, (a, a', ci)] = W[a + (U-1-t)*sH, a' + (U'-1-t')*sW, ci, co], zero elsewhere. */
export function buildPhaseFilter(w: F32, g: ConvGeometry, plan: SubpixelPlan, f: F32): void {
  const { kH, kW, sH, sW, inC: ci, outC: co } = g;
  const sc = plan.phaseChannels;
  const wd = w.data;
  const fd = f.data;
  fd.fill(0, f.offset, f.offset + plan.h.taps * plan.w.taps * co * sc);
  const B = 32; // tile edge of the per-tap [Ci, Co] -> [Co, Ci] transpose
  for (let kh = 0; kh < kH; kh++) {
    const t = plan.h.taps - 1 - Math.floor(kh / sH);
    const a = kh % sH;
    for (let kw = 0; kw < kW; kw++) {
      const t2 = plan.w.taps - 1 - Math.floor(kw / sW);
      const a2 = kw % sW;
      const fBase = f.offset + (t * plan.w.taps + t2) * co * sc + (a * sW + a2) * ci;
      const wBase = w.offset + (kh * kW + kw) * ci * co;
      for (let i0 = 0; i0 < ci; i0 += B) {
        const i1 = Math.min(ci, i0 + B);
        for (let o0 = 0; o0 < co; o0 += B) {
          const o1 = Math.min(co, o0 + B);
          for (let i = i0; i < i1; i++) {
            const src = wBase + i * co;
            let dst = fBase + o0 * sc + i;
            for (let o = o0; o < o1; o++) {
              fd[dst] = wd[src + o]!;
              dst += sc;
            }
          }
        }
      }
    }
  }
}

/** dx[n, h, w, :] = R[n, row(h), col(w), phase(h, w)*Ci : +Ci], R being the phase conv's output. */
export function interleavePhases(r: F32, g: ConvGeometry, plan: SubpixelPlan, dx: F32): void {
  const { batch, inH, inW, inC, sH, sW, padTop, padLeft } = g;
  const sc = plan.phaseChannels;
  const rowLen = plan.w.outSize * sc;
  // Per output column: offset of its source inside an R row (column and phase-column part).
  const colSrc = new Int32Array(inW);
  for (let x = 0; x < inW; x++) {
    const gw = x + padLeft;
    const a2 = gw % sW;
    const col = (gw - a2) / sW + plan.w.padBefore - plan.w.taps + 1;
    colSrc[x] = col * sc + a2 * inC;
  }
  let dst = 0;
  for (let n = 0; n < batch; n++) {
    for (let y = 0; y < inH; y++) {
      const gh = y + padTop;
      const a = gh % sH;
      const row = (gh - a) / sH + plan.h.padBefore - plan.h.taps + 1;
      const rowBase = (n * plan.h.outSize + row) * rowLen + a * sW * inC;
      for (let x = 0; x < inW; x++) {
        copyF32(dx, dst, r, rowBase + colSrc[x]!, inC);
        dst += inC;
      }
    }
  }
}
