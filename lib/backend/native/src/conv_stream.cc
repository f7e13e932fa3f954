// ENGINE_STREAM: convolutions with few output positions, the filter read
// once, front to back.
//
// A deep layer of a small step (1-4 output positions, where auto picks this
// engine; a 4x4 filter of 256 to 512 channels in and out, 1M-4M floats) is
// close to a matrix-vector product: a few
// multiply-adds per filter value, and its filter was last touched a whole
// network earlier, so it comes from memory. oneDNN's and OpenBLAS's kernels,
// built for reuse, read it at 6-11 GB/s there (test/bench/conv-engines.ts
// --cold); one pass over the filter rows in order lets the prefetchers
// stream it. Each tap (ky, kx) pairs output positions with the input
// positions it reads; a tap that reads only padding for every position (3
// of 4 rows and columns of a 4x4 kernel over a 1x1 output) is never read.
//
// Sums run over taps in order, then input channels in order, each in float:
// the same order on every run, not the order of the other engines.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "conv_engines.h"

namespace {

// The filter gradient is written once and read next by the optimiser, a
// whole filter later: streaming stores skip reading its lines first (half
// the memory traffic of a plain store). 16-byte aligned rows of whole
// vectors only (malloc'd arrays are); anything else is copied.
void put(float* dst, const float* src, int64_t n) {
  if ((reinterpret_cast<uintptr_t>(dst) & 15) != 0 || n % 4 != 0) {
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  for (int64_t k = 0; k < n; k += 4) _mm_stream_ps(dst + k, _mm_loadu_ps(src + k));
}

void put_zeros(float* dst, int64_t n) {
  if ((reinterpret_cast<uintptr_t>(dst) & 15) != 0 || n % 4 != 0) {
    std::memset(dst, 0, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const __m128 z = _mm_setzero_ps();
  for (int64_t k = 0; k < n; k += 4) _mm_stream_ps(dst + k, z);
}

// (output position, input position) pairs of one tap; positions are
// flattened over (n, y, x).
struct Pair {
  int64_t out, in;
};

std::vector<std::vector<Pair>> tap_pairs(const ConvGeom& g) {
  std::vector<std::vector<Pair>> taps(static_cast<size_t>(g.kh * g.kw));
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      std::vector<Pair>& list = taps[static_cast<size_t>(ky * g.kw + kx)];
      for (int64_t b = 0; b < g.n; ++b)
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t iy = oy * g.sh - g.pt + ky;
          if (iy < 0 || iy >= g.h) continue;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t ix = ox * g.sw - g.pl + kx;
            if (ix < 0 || ix >= g.w) continue;
            list.push_back({(b * g.oh + oy) * g.ow + ox, (b * g.h + iy) * g.w + ix});
          }
        }
    }
  return taps;
}

// Calls row_fn(row, c, pairs) for each row w[t, c, :] of each tap t that
// reads something, in filter order: the one pass over the filter.
template <class RowFn>
void each_live_row(const ConvGeom& g, const float* w, RowFn row_fn) {
  const auto taps = tap_pairs(g);
  for (size_t t = 0; t < taps.size(); ++t) {
    if (taps[t].empty()) continue;
    const float* wt = w + static_cast<int64_t>(t) * g.ci * g.co;
    for (int64_t c = 0; c < g.ci; ++c) row_fn(wt + c * g.co, c, taps[t]);
  }
}

}  // namespace

// y[p, :] = sum over taps t, channels c: x[in(p, t), c] * w[t, c, :]
void stream_forward(const ConvGeom& g, const float* x, const float* w, float* y) {
  const int64_t co = g.co, ci = g.ci;
  std::fill(y, y + conv_positions(g) * co, 0.f);
  each_live_row(g, w, [&](const float* __restrict row, int64_t c, const std::vector<Pair>& pairs) {
    for (const Pair& pr : pairs) {
      const float a = x[pr.in * ci + c];
      float* __restrict yo = y + pr.out * co;
#pragma omp simd
      for (int64_t k = 0; k < co; ++k) yo[k] += a * row[k];
    }
  });
}

// dx[q, c] = sum over taps t, positions p read at q through t: dy[p, :] . w[t, c, :]
void stream_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t co = g.co, ci = g.ci;
  std::fill(dx, dx + g.n * g.h * g.w * ci, 0.f);
  each_live_row(g, w, [&](const float* __restrict row, int64_t c, const std::vector<Pair>& pairs) {
    for (const Pair& pr : pairs) {
      const float* __restrict d = dy + pr.out * co;
      float s = 0.f;
#pragma omp simd reduction(+ : s)
      for (int64_t k = 0; k < co; ++k) s += d[k] * row[k];
      dx[pr.in * ci + c] += s;
    }
  });
}

// dw[t, c, :] = sum over the pairs (p, q) of tap t: x[q, c] * dy[p, :]
void stream_backward_filter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t co = g.co, ci = g.ci;
  const auto taps = tap_pairs(g);
  std::vector<float> acc(static_cast<size_t>(co));
  for (size_t t = 0; t < taps.size(); ++t) {
    const std::vector<Pair>& pairs = taps[t];
    float* dwt = dw + static_cast<int64_t>(t) * ci * co;
    if (pairs.empty()) {
      put_zeros(dwt, ci * co);
      continue;
    }
    for (int64_t c = 0; c < ci; ++c) {
      float* __restrict a = acc.data();
      std::fill(a, a + co, 0.f);
      for (const Pair& pr : pairs) {
        const float v = x[pr.in * ci + c];
        const float* __restrict d = dy + pr.out * co;
#pragma omp simd
        for (int64_t k = 0; k < co; ++k) a[k] += v * d[k];
      }
      put(dwt + c * co, a, co);
    }
  }
  _mm_sfence();  // the streamed stores are visible before the caller reads dw
}
