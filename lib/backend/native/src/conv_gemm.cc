// im2col + OpenBLAS sgemm convolutions for NHWC activations and HWIO filters.
//
// With NHWC, the columns of the positions p = (n, oh, ow) form a row-major
// matrix cols[P, K] with K = kh*kw*ci, row p holding x[n, oh*sh-pt+kh,
// ow*sw-pl+kw, ci] in (kh, kw, ci) order, which is exactly the row order of
// the HWIO filter seen as W[K, co]. So:
//
//   forward          y[P, co]  = cols[P, K] . W[K, co]
//   input gradient   dcols[P, K] = dy[P, co] . W^T, then the col2im adjoint
//   filter gradient  dW[K, co] = cols^T . dy[P, co]
//
// For one position and one filter row kh, the kw taps read adjacent pixels,
// i.e. one contiguous run of kw*ci floats of x (clipped at the borders): the
// columns are built (and scattered back) with one copy / add per (p, kh).
//
// Two ways to use the threads:
//   - "global": the columns of a chunk of positions are built by all threads,
//     then one sgemm that OpenBLAS spreads over all threads.
//   - "split": the positions are split between the threads; each builds the
//     columns of a cache-sized tile and multiplies it with a serial sgemm
//     (OpenBLAS runs single-threaded inside an OpenMP parallel region).
//     For the filter gradient each thread accumulates a partial dW, summed at
//     the end in a fixed order (deterministic for a given thread count).
#include "conv_engines.h"

#include <cblas.h>
#include <omp.h>

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

int64_t chunk_floats = int64_t(8) << 20;  // 32 MiB of columns per chunk (global)
int64_t tile_floats = int64_t(192) << 10; // 768 KiB per thread tile (split): stays in L2
int64_t tile_min_positions = 256;           // but not fewer positions (each tile repacks W)
// PIX2PIX_NATIVE_THP=0 turns the huge-page advice off (to measure it).
const bool huge_pages_enabled = [] {
  const char* v = std::getenv("PIX2PIX_NATIVE_THP");
  return v == nullptr || std::strcmp(v, "0") != 0;
}();

// A grow-only, 64-byte aligned buffer.
struct Scratch {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t want) {
    if (want > n) {
      std::free(p);
      const size_t align = want * sizeof(float) >= (size_t(2) << 20) ? size_t(2) << 20 : 64;
      size_t bytes = ((want * sizeof(float)) + align - 1) / align * align;
      p = static_cast<float*>(std::aligned_alloc(align, bytes));
      n = p ? want : 0;
      if (p) advise_huge_pages(p, bytes);
    }
    return p;
  }
  void release() {
    std::free(p);
    p = nullptr;
    n = 0;
  }
};

// Per calling thread (the main thread and the filter-gradient worker of
// conv_async.cc each have their own); [t] is for thread t of its team.
thread_local Scratch global_scratch;
thread_local std::vector<Scratch> thread_scratch(256);
thread_local std::vector<Scratch> thread_partial(256);

// Threads for a loop: all of them, or one when the work is too small.
int team(bool parallel) { return parallel ? std::min(omp_get_max_threads(), 256) : 1; }

// Per-thread buffers for a team of T (allocated before the parallel region,
// so that a failed allocation can fall back): cols[t] of colsFloats, and
// parts[t] of partFloats for t > 0 (parts[0] = nullptr: thread 0 writes the
// output itself).
bool thread_buffers(int T, size_t colsFloats, size_t partFloats, float** cols, float** parts) {
  for (int t = 0; t < T; t++) {
    if (cols) {
      cols[t] = colsFloats > 0 ? thread_scratch[t].get(colsFloats) : nullptr;
      if (colsFloats > 0 && cols[t] == nullptr) return false;
    }
    if (parts) {
      parts[t] = t > 0 ? thread_partial[t].get(partFloats) : nullptr;
      if (t > 0 && parts[t] == nullptr) return false;
    }
  }
  return true;
}

bool pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.oh == g.h && g.ow == g.w;
}

inline void add_into(float* __restrict d, const float* __restrict s, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) d[i] += s[i];
}

// C[M,N] = op(A)[M,K] . op(B)[K,N] + beta C (row-major), with the one-row and
// one-column products sent to sgemv (OpenBLAS's sgemm is slow on them).
void mm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
        float beta, float* C, int64_t ldc) {
  if ((N == 1 || M == 1) && beta == 0.f) {
    // Outputs may hold garbage (even NaN): newer OpenBLAS versions scale y by
    // beta = 0 instead of zeroing it.
    if (N == 1)
      for (int64_t i = 0; i < M; i++) C[i * ldc] = 0.f;
    else
      std::memset(C, 0, N * sizeof(float));
  }
  if (N == 1) {
    // C column = op(A) . b, b = column 0 of op(B).
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, ta ? K : M, ta ? M : K, 1.f, A, lda, B, tb ? 1 : ldb,
                beta, C, ldc);
  } else if (M == 1) {
    // C row = op(B)^T . a, a = row 0 of op(A).
    cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? N : K, tb ? K : N, 1.f, B, ldb, A, ta ? lda : 1,
                beta, C, 1);
  } else {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f, A, lda, B,
                ldb, beta, C, ldc);
  }
}

// Columns of positions [p0, p1) into cols (row stride K), serially.
void im2col(const ConvGeom& g, const float* x, int64_t p0, int64_t p1, float* cols) {
  const int64_t K = conv_kc(g), run = g.kw * g.ci;
  int64_t ow = p0 % g.ow, t = p0 / g.ow, oh = t % g.oh, n = t / g.oh;
  for (int64_t p = p0; p < p1; p++) {
    float* dst = cols + (p - p0) * K;
    const int64_t iw0 = ow * g.sw - g.pl;
    const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min<int64_t>(g.kw, g.w - iw0);
    for (int64_t kh = 0; kh < g.kh; kh++) {
      const int64_t ih = oh * g.sh - g.pt + kh;
      float* d = dst + kh * run;
      if (ih < 0 || ih >= g.h || kw0 >= kw1) {
        std::memset(d, 0, run * sizeof(float));
        continue;
      }
      if (kw0 > 0) std::memset(d, 0, kw0 * g.ci * sizeof(float));
      std::memcpy(d + kw0 * g.ci, x + ((n * g.h + ih) * g.w + iw0 + kw0) * g.ci, (kw1 - kw0) * g.ci * sizeof(float));
      if (kw1 < g.kw) std::memset(d + kw1 * g.ci, 0, (g.kw - kw1) * g.ci * sizeof(float));
    }
    if (++ow == g.ow) {
      ow = 0;
      if (++oh == g.oh) {
        oh = 0;
        n++;
      }
    }
  }
}

// Below this many floats (or multiply-adds) a loop runs on one thread: waking
// the other costs more than it saves.
constexpr int64_t kSerialBelow = 1 << 15;

// im2col of [p0, p1) by all threads.
void im2col_parallel(const ConvGeom& g, const float* x, int64_t p0, int64_t p1, float* cols) {
  const int64_t K = conv_kc(g);
#pragma omp parallel if ((p1 - p0) * K >= kSerialBelow)
  {
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num(), span = p1 - p0;
    const int64_t a = p0 + span * t / T, b = p0 + span * (t + 1) / T;
    if (a < b) im2col(g, x, a, b, cols + (a - p0) * K);
  }
}

// The split of [0, total) that thread t of T takes.
inline void share(int64_t total, int64_t t, int64_t T, int64_t* a, int64_t* b) {
  *a = total * t / T;
  *b = total * (t + 1) / T;
}

inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

inline void axpy(float* __restrict d, float a, const float* __restrict s, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) d[i] += a * s[i];
}

// One output channel (the PatchGAN's last layer): direct loops. As a GEMM it
// would be a matrix-vector product over columns kh*kw times bigger than x.
void single_forward(const ConvGeom& g, const float* x, const float* w, float* y) {
  const int64_t P = conv_positions(g), run = g.kw * g.ci;
#pragma omp parallel for schedule(static) if (P * conv_kc(g) >= kSerialBelow)
  for (int64_t p = 0; p < P; p++) {
    const int64_t ow = p % g.ow, t = p / g.ow, oh = t % g.oh, n = t / g.oh;
    const int64_t iw0 = ow * g.sw - g.pl;
    const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min<int64_t>(g.kw, g.w - iw0);
    float s = 0.f;
    for (int64_t kh = 0; kh < g.kh && kw0 < kw1; kh++) {
      const int64_t ih = oh * g.sh - g.pt + kh;
      if (ih < 0 || ih >= g.h) continue;
      s += dot(x + ((n * g.h + ih) * g.w + iw0 + kw0) * g.ci, w + kh * run + kw0 * g.ci, (kw1 - kw0) * g.ci);
    }
    y[p] = s;
  }
}

void single_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t run = g.kw * g.ci, rowFloats = g.w * g.ci;
#pragma omp parallel for schedule(static) if (conv_positions(g) * conv_kc(g) >= kSerialBelow)
  for (int64_t r = 0; r < g.n * g.h; r++) {
    const int64_t n = r / g.h, ih = r % g.h;
    float* drow = dx + r * rowFloats;
    std::memset(drow, 0, rowFloats * sizeof(float));
    for (int64_t kh = 0; kh < g.kh; kh++) {
      const int64_t t = ih + g.pt - kh;
      if (t < 0 || t % g.sh != 0 || t / g.sh >= g.oh) continue;
      const float* dyrow = dy + (n * g.oh + t / g.sh) * g.ow;
      for (int64_t ow = 0; ow < g.ow; ow++) {
        const int64_t iw0 = ow * g.sw - g.pl;
        const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min<int64_t>(g.kw, g.w - iw0);
        if (kw0 < kw1) axpy(drow + (iw0 + kw0) * g.ci, dyrow[ow], w + kh * run + kw0 * g.ci, (kw1 - kw0) * g.ci);
      }
    }
  }
}

void single_backward_filter(const ConvGeom& g, const float* x, const float* dy, float* dw) {
  const int64_t P = conv_positions(g), run = g.kw * g.ci, K = conv_kc(g);
  int T = team(P * K >= kSerialBelow);
  std::vector<float*> parts(T);
  if (!thread_buffers(T, 0, K, nullptr, parts.data())) T = 1;
#pragma omp parallel num_threads(T)
  {
    const int TT = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t a, b;
    share(P, t, TT, &a, &b);
    float* acc = t == 0 ? dw : parts[t];
    std::memset(acc, 0, K * sizeof(float));
    for (int64_t p = a; p < b; p++) {
      const int64_t ow = p % g.ow, q = p / g.ow, oh = q % g.oh, n = q / g.oh;
      const int64_t iw0 = ow * g.sw - g.pl;
      const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min<int64_t>(g.kw, g.w - iw0);
      for (int64_t kh = 0; kh < g.kh && kw0 < kw1; kh++) {
        const int64_t ih = oh * g.sh - g.pt + kh;
        if (ih < 0 || ih >= g.h) continue;
        axpy(acc + kh * run + kw0 * g.ci, dy[p], x + ((n * g.h + ih) * g.w + iw0 + kw0) * g.ci, (kw1 - kw0) * g.ci);
      }
    }
#pragma omp barrier
#pragma omp single
    for (int u = 1; u < TT; u++) add_into(dw, parts[u], K);
  }
}

}  // namespace

void advise_huge_pages(void* p, size_t bytes) {
  const uintptr_t huge = uintptr_t(2) << 20;
  const uintptr_t a = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
  const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(huge - 1);
  if (b > a && huge_pages_enabled) madvise(reinterpret_cast<void*>(a), b - a, MADV_HUGEPAGE);
}

void gemm_tune(int64_t chunk, int64_t tile, int64_t tile_min, int64_t previous[3]) {
  previous[0] = chunk_floats;
  previous[1] = tile_floats;
  previous[2] = tile_min_positions;
  if (chunk > 0) chunk_floats = chunk;
  if (tile > 0) tile_floats = tile;
  if (tile_min > 0) tile_min_positions = tile_min;
}

void gemm_release() {
  global_scratch.release();
  for (auto& s : thread_scratch) s.release();
  for (auto& s : thread_partial) s.release();
}

void gemm_forward(const ConvGeom& g, const float* x, const float* w, float* y, bool split) {
  const int64_t P = conv_positions(g), K = conv_kc(g), Co = g.co;
  if (Co == 1) return single_forward(g, x, w, y);
  if (pointwise(g)) {
    mm(false, false, P, Co, K, x, K, w, Co, 0.f, y, Co);
    return;
  }
  if (split) {
    const int64_t tile = std::max<int64_t>(tile_min_positions, tile_floats / K);
    const int T = team(P * K * Co >= 32 * kSerialBelow);
    std::vector<float*> cols(T);
    if (!thread_buffers(T, std::min(tile, P) * K, 0, cols.data(), nullptr)) return gemm_forward(g, x, w, y, false);
#pragma omp parallel num_threads(T)
    {
      const int t = omp_get_thread_num();
      int64_t a, b;
      share(P, t, omp_get_num_threads(), &a, &b);
      for (int64_t p0 = a; p0 < b; p0 += tile) {
        const int64_t p1 = std::min(b, p0 + tile);
        im2col(g, x, p0, p1, cols[t]);
        mm(false, false, p1 - p0, Co, K, cols[t], K, w, Co, 0.f, y + p0 * Co, Co);
      }
    }
    return;
  }
  const int64_t chunk = std::min(P, std::max<int64_t>(1, chunk_floats / K));
  float* cols = global_scratch.get(chunk * K);
  for (int64_t p0 = 0; p0 < P; p0 += chunk) {
    const int64_t p1 = std::min(P, p0 + chunk);
    im2col_parallel(g, x, p0, p1, cols);
    mm(false, false, p1 - p0, Co, K, cols, K, w, Co, 0.f, y + p0 * Co, Co);
  }
}

void gemm_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t P = conv_positions(g), K = conv_kc(g), Co = g.co;
  if (Co == 1) return single_backward_input(g, dy, w, dx);
  if (pointwise(g)) {
    mm(false, true, P, g.ci, Co, dy, Co, w, Co, 0.f, dx, g.ci);
    return;
  }
  const int64_t rowFloats = g.w * g.ci;
  const int64_t dxFloats = g.n * g.h * rowFloats;
#pragma omp parallel for schedule(static) if (dxFloats >= 4 * kSerialBelow)
  for (int64_t r = 0; r < g.n * g.h; r++) std::memset(dx + r * rowFloats, 0, rowFloats * sizeof(float));

  // Chunks of whole output rows r = n*oh + oh.
  const int64_t rows = g.n * g.oh;
  const int64_t chunkRows = std::min(rows, std::max<int64_t>(1, chunk_floats / (g.ow * K)));
  float* dcols = global_scratch.get(chunkRows * g.ow * K);
  struct Task {
    int64_t n, ih, ohA, ohB;
  };
  std::vector<Task> tasks;
  for (int64_t r0 = 0; r0 < rows; r0 += chunkRows) {
    const int64_t r1 = std::min(rows, r0 + chunkRows);
    const int64_t p0 = r0 * g.ow, p1 = r1 * g.ow;
    mm(false, true, p1 - p0, K, Co, dy + p0 * Co, Co, w, Co, 0.f, dcols, K);
    // Gather: each task owns one row of dx, so threads never write the same floats.
    tasks.clear();
    for (int64_t n = r0 / g.oh; n * g.oh < r1; n++) {
      const int64_t ohA = std::max(r0, n * g.oh) - n * g.oh, ohB = std::min(r1, (n + 1) * g.oh) - n * g.oh;
      const int64_t ih0 = std::max<int64_t>(0, ohA * g.sh - g.pt), ih1 = std::min<int64_t>(g.h, (ohB - 1) * g.sh - g.pt + g.kh);
      for (int64_t ih = ih0; ih < ih1; ih++) tasks.push_back({n, ih, ohA, ohB});
    }
    const int64_t nt = static_cast<int64_t>(tasks.size());
#pragma omp parallel for schedule(static) if ((p1 - p0) * K >= kSerialBelow)
    for (int64_t i = 0; i < nt; i++) {
      const Task tk = tasks[i];
      float* drow = dx + (tk.n * g.h + tk.ih) * rowFloats;
      for (int64_t kh = 0; kh < g.kh; kh++) {
        const int64_t t = tk.ih + g.pt - kh;
        if (t < 0 || t % g.sh != 0) continue;
        const int64_t oh = t / g.sh;
        if (oh < tk.ohA || oh >= tk.ohB) continue;
        const float* crow = dcols + ((tk.n * g.oh + oh) * g.ow - p0) * K + kh * g.kw * g.ci;
        for (int64_t ow = 0; ow < g.ow; ow++) {
          const int64_t iw0 = ow * g.sw - g.pl;
          const int64_t kw0 = std::max<int64_t>(0, -iw0), kw1 = std::min<int64_t>(g.kw, g.w - iw0);
          if (kw0 < kw1) add_into(drow + (iw0 + kw0) * g.ci, crow + ow * K + kw0 * g.ci, (kw1 - kw0) * g.ci);
        }
      }
    }
  }
}

void gemm_backward_filter(const ConvGeom& g, const float* x, const float* dy, float* dw, bool split) {
  const int64_t P = conv_positions(g), K = conv_kc(g), Co = g.co;
  if (Co == 1) return single_backward_filter(g, x, dy, dw);
  const bool pw = pointwise(g);
  if (!split) {
    if (pw) {
      mm(true, false, K, Co, P, x, K, dy, Co, 0.f, dw, Co);
      return;
    }
    const int64_t chunk = std::min(P, std::max<int64_t>(1, chunk_floats / K));
    float* cols = global_scratch.get(chunk * K);
    for (int64_t p0 = 0; p0 < P; p0 += chunk) {
      const int64_t p1 = std::min(P, p0 + chunk);
      im2col_parallel(g, x, p0, p1, cols);
      mm(true, false, K, Co, p1 - p0, cols, K, dy + p0 * Co, Co, p0 == 0 ? 0.f : 1.f, dw, Co);
    }
    return;
  }
  // Split: thread 0 accumulates into dw, thread t > 0 into its partial; then dw += partials.
  const int64_t tile = std::max<int64_t>(tile_min_positions, tile_floats / K);
  const int64_t KC = K * Co;
  const int T = team(P * K * Co >= 32 * kSerialBelow);
  std::vector<float*> cols(T), parts(T);
  if (!thread_buffers(T, pw ? 0 : std::min(tile, P) * K, KC, cols.data(), parts.data()))
    return gemm_backward_filter(g, x, dy, dw, false);
#pragma omp parallel num_threads(T)
  {
    const int TT = omp_get_num_threads(), t = omp_get_thread_num();
    int64_t a, b;
    share(P, t, TT, &a, &b);
    float* acc = t == 0 ? dw : parts[t];
    if (a >= b) {
      std::memset(acc, 0, KC * sizeof(float));
    } else if (pw) {
      mm(true, false, K, Co, b - a, x + a * K, K, dy + a * Co, Co, 0.f, acc, Co);
    } else {
      for (int64_t p0 = a; p0 < b; p0 += tile) {
        const int64_t p1 = std::min(b, p0 + tile);
        im2col(g, x, p0, p1, cols[t]);
        mm(true, false, K, Co, p1 - p0, cols[t], K, dy + p0 * Co, Co, p0 == a ? 0.f : 1.f, acc, Co);
      }
    }
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t i0 = 0; i0 < KC; i0 += 4096) {
      const int64_t len = std::min<int64_t>(4096, KC - i0);
      for (int u = 1; u < TT; u++) add_into(dw + i0, parts[u] + i0, len);
    }
  }
}
