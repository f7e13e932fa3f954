// The element-wise module's loops (see ew_kernels.h for the arithmetic).
// No FMA contraction: each op rounds once, as in tf.js.
#pragma GCC optimize("fp-contract=off")
#include "ew_kernels.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace ew {
namespace {

// Below this many elements a map stays on the calling thread: with passive
// waiting (the default, see index.ts) waking the sleeping thread costs tens
// of microseconds, more than ~0.1 ms of loop shared. Measured: 1 << 15 ->
// 1 << 18 took a unet_128 step from 189 to 178 ms (no change at 256).
constexpr int64_t kParMin = 1 << 18;
// Sums of squares go by blocks of this many floats (see sum_squares_each).
constexpr int64_t kSqBlock = int64_t(1) << 16;
// Work unit of the parallel maps, in elements.
constexpr int64_t kBlock = 1 << 14;

inline int team() { return omp_get_max_threads(); }

// o[i] = sqrt(x[i]) (IEEE, correctly rounded). std::sqrt does not vectorise
// while it may set errno, and the optimize pragma cannot lift that. (256-bit:
// the rest of the module is vectorised at that width too.)
inline void sqrt_block(float* __restrict o, const float* __restrict x, int64_t n) {
  int64_t i = 0;
#if defined(__AVX__)
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#elif defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(o + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) o[i] = std::sqrt(x[i]);
}

// ---------------------------------------------------------------- binary --

struct Add { static float f(float a, float b) { return a + b; } };
struct Sub { static float f(float a, float b) { return a - b; } };
struct Mul { static float f(float a, float b) { return a * b; } };
struct Div { static float f(float a, float b) { return a / b; } };
struct SqDiff {
  static float f(float a, float b) {
    const double d = static_cast<double>(a) - static_cast<double>(b);
    return static_cast<float>(d * d);
  }
};
// Math.max / Math.min: NaN if either is NaN; +0 is above -0.
struct Max {
  static float f(float a, float b) {
    const float m = a > b ? a : (b > a ? b : (std::signbit(a) ? b : a));
    return (a != a || b != b) ? std::numeric_limits<float>::quiet_NaN() : m;
  }
};
struct Min {
  static float f(float a, float b) {
    const float m = a < b ? a : (b < a ? b : (std::signbit(a) ? a : b));
    return (a != a || b != b) ? std::numeric_limits<float>::quiet_NaN() : m;
  }
};
struct Gt { static uint8_t f(float a, float b) { return a > b; } };
struct Ge { static uint8_t f(float a, float b) { return a >= b; } };
struct Lt { static uint8_t f(float a, float b) { return a < b; } };
struct Le { static uint8_t f(float a, float b) { return a <= b; } };
struct Eq { static uint8_t f(float a, float b) { return a == b; } };
struct Ne { static uint8_t f(float a, float b) { return a != b; } };

template <class F, class O>
inline void row(O* __restrict o, const float* __restrict a, const float* __restrict b, int64_t n, int64_t sa, int64_t sb) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = F::f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = F::f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = F::f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i] = F::f(a[i * sa], b[i * sb]);
  }
}

template <class F, class O>
void run_binary(O* o, const float* a, const float* b, const Dims3& d) {
  const int64_t n1 = d.n[1], inner = d.n[2];
  const int64_t rows = d.n[0] * n1;
  const int64_t total = rows * inner;
  // Short rows are grouped so that a task is never tiny; long rows are cut.
  const int64_t nb = (inner + kBlock - 1) / kBlock;
  const int64_t rowsPerTask = inner >= kBlock ? 1 : std::max<int64_t>(1, kBlock / std::max<int64_t>(inner, 1));
  const int64_t tasks = inner >= kBlock ? rows * nb : (rows + rowsPerTask - 1) / rowsPerTask;
  const bool par = total >= kParMin && tasks > 1 && team() > 1;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t t = 0; t < tasks; ++t) {
    int64_t r0, r1, s, e;
    if (inner >= kBlock) {
      r0 = t / nb;
      r1 = r0 + 1;
      s = (t % nb) * kBlock;
      e = std::min(inner, s + kBlock);
    } else {
      r0 = t * rowsPerTask;
      r1 = std::min(rows, r0 + rowsPerTask);
      s = 0;
      e = inner;
    }
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t i0 = r / n1, i1 = r % n1;
      row<F>(o + r * inner + s, a + i0 * d.sa[0] + i1 * d.sa[1] + s * d.sa[2], b + i0 * d.sb[0] + i1 * d.sb[1] + s * d.sb[2], e - s,
             d.sa[2], d.sb[2]);
    }
  }
}

// ----------------------------------------------------------------- unary --

// LeakyRelu as tf.js computes it: x < 0 ? float(alpha * double(x)) : x,
// alpha a double. GCC does not vectorise the conversions by itself.
inline void leaky_block(float* __restrict o, const float* __restrict x, int64_t n, double alpha) {
  int64_t i = 0;
#if defined(__AVX__)
  const __m256d a = _mm256_set1_pd(alpha);
  const __m256 zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m128 lo = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), a));
    const __m128 hi = _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), a));
    const __m256 scaled = _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
    _mm256_storeu_ps(o + i, _mm256_blendv_ps(v, scaled, _mm256_cmp_ps(v, zero, _CMP_LT_OQ)));
  }
#endif
  for (; i < n; ++i) o[i] = x[i] < 0.f ? static_cast<float>(alpha * static_cast<double>(x[i])) : x[i];
}

// Step: NaN stays NaN, x > 0 gives 1, anything else alpha.
inline void step_block(float* __restrict o, const float* __restrict x, int64_t n, float alpha) {
  int64_t i = 0;
#if defined(__AVX__)
  const __m256 a = _mm256_set1_ps(alpha), one = _mm256_set1_ps(1.f), zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 r = _mm256_blendv_ps(a, one, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
    _mm256_storeu_ps(o + i, _mm256_blendv_ps(v, r, _mm256_cmp_ps(v, v, _CMP_ORD_Q)));
  }
#endif
  for (; i < n; ++i) o[i] = x[i] != x[i] ? x[i] : (x[i] > 0.f ? 1.f : alpha);
}

template <class F>
void run_unary(float* __restrict o, const float* __restrict x, int64_t n, const F& f) {
  const int64_t tasks = (n + kBlock - 1) / kBlock;
  const bool par = n >= kParMin && team() > 1;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t s = t * kBlock, e = std::min(n, s + kBlock);
    for (int64_t i = s; i < e; ++i) o[i] = f(x[i]);
  }
}

// ------------------------------------------------------------ reductions --

// Sum of n floats (each first divided by `div` when div != 0) in double,
// with 16 independent accumulators so that the loop vectorises.
inline double sum_contig(const float* __restrict x, int64_t n, float div) {
  double acc[16] = {0};
  int64_t i = 0;
  if (div == 0.f) {
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; ++j) acc[j] += static_cast<double>(x[i + j]);
    for (; i < n; ++i) acc[0] += static_cast<double>(x[i]);
  } else {
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; ++j) acc[j] += static_cast<double>(x[i + j] / div);
    for (; i < n; ++i) acc[0] += static_cast<double>(x[i] / div);
  }
  double s = 0;
  for (int j = 0; j < 16; ++j) s += acc[j];
  return s;
}

// Sum of x*x over n floats, in double, 16 accumulators as above.
inline double sum_squares_contig(const float* __restrict x, int64_t n) {
  double acc[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) {
      const double v = static_cast<double>(x[i + j]);
      acc[j] += v * v;
    }
  for (; i < n; ++i) acc[0] += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  double s = 0;
  for (int j = 0; j < 16; ++j) s += acc[j];
  return s;
}

// acc[b] += x[r, b] over rows [r0, r1) of a [*, B] block.
inline void sum_cols(double* __restrict acc, const float* __restrict x, int64_t r0, int64_t r1, int64_t B, float div) {
  if (div == 0.f) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * B;
      for (int64_t b = 0; b < B; ++b) acc[b] += static_cast<double>(xr[b]);
    }
  } else {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * B;
      for (int64_t b = 0; b < B; ++b) acc[b] += static_cast<double>(xr[b] / div);
    }
  }
}

}  // namespace

bool binary_f32(int op, float* out, const float* a, const float* b, const Dims3& d) {
  switch (op) {
    case kAdd: run_binary<Add>(out, a, b, d); return true;
    case kSub: run_binary<Sub>(out, a, b, d); return true;
    case kMul: run_binary<Mul>(out, a, b, d); return true;
    case kDiv: run_binary<Div>(out, a, b, d); return true;
    case kSquaredDifference: run_binary<SqDiff>(out, a, b, d); return true;
    case kMaximum: run_binary<Max>(out, a, b, d); return true;
    case kMinimum: run_binary<Min>(out, a, b, d); return true;
    default: return false;
  }
}

bool compare_f32(int op, uint8_t* out, const float* a, const float* b, const Dims3& d) {
  switch (op) {
    case kGreater: run_binary<Gt>(out, a, b, d); return true;
    case kGreaterEqual: run_binary<Ge>(out, a, b, d); return true;
    case kLess: run_binary<Lt>(out, a, b, d); return true;
    case kLessEqual: run_binary<Le>(out, a, b, d); return true;
    case kEqual: run_binary<Eq>(out, a, b, d); return true;
    case kNotEqual: run_binary<Ne>(out, a, b, d); return true;
    default: return false;
  }
}

bool unary_f32(int op, float* o, const float* x, int64_t n, double alpha) {
  switch (op) {
    case kSqrt: {
      const int64_t tasks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParMin && team() > 1)
      for (int64_t t = 0; t < tasks; ++t) sqrt_block(o + t * kBlock, x + t * kBlock, std::min(kBlock, n - t * kBlock));
      return true;
    }
    case kRsqrt: run_unary(o, x, n, [](float v) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v))); }); return true;
    case kSquare: run_unary(o, x, n, [](float v) { return v * v; }); return true;
    case kNeg: run_unary(o, x, n, [](float v) { return -v; }); return true;
    case kAbs: run_unary(o, x, n, [](float v) { return std::fabs(v); }); return true;
    case kExp: run_unary(o, x, n, [](float v) { return exp_f32(v); }); return true;
    case kLog: run_unary(o, x, n, [](float v) { return static_cast<float>(std::log(static_cast<double>(v))); }); return true;
    case kLog1p: run_unary(o, x, n, [](float v) { return log1p_f32(v); }); return true;
    case kRelu: run_unary(o, x, n, [](float v) { return relu_f32(v); }); return true;
    case kRelu6: run_unary(o, x, n, [](float v) { return v <= 0.f ? 0.f : (v > 6.f ? 6.f : v); }); return true;
    case kLeakyRelu: {
      const int64_t tasks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParMin && team() > 1)
      for (int64_t t = 0; t < tasks; ++t) leaky_block(o + t * kBlock, x + t * kBlock, std::min(kBlock, n - t * kBlock), alpha);
      return true;
    }
    case kTanh: run_unary(o, x, n, [](float v) { return static_cast<float>(std::tanh(static_cast<double>(v))); }); return true;
    case kSigmoid:
      run_unary(o, x, n, [](float v) { return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v)))); });
      return true;
    case kStep: {
      const int64_t tasks = (n + kBlock - 1) / kBlock;
      const float a = static_cast<float>(alpha);
#pragma omp parallel for schedule(static) if (n >= kParMin && team() > 1)
      for (int64_t t = 0; t < tasks; ++t) step_block(o + t * kBlock, x + t * kBlock, std::min(kBlock, n - t * kBlock), a);
      return true;
    }
    case kReciprocal: run_unary(o, x, n, [](float v) { return 1.f / v; }); return true;
    default: return false;
  }
}

namespace {

// The activation gradients, branch-free: a data-dependent branch per element
// mispredicts on real activations (half of them negative, in no pattern) and
// made these loops 5-10x slower than the same memory traffic as a blend.
// dy * step(x), step(NaN) = NaN: the product's NaN is x's.
inline void relu_grad_block(float* __restrict out, const float* __restrict dy, const float* __restrict x, int64_t n) {
  int64_t i = 0;
#if defined(__AVX__)
  const __m256 one = _mm256_set1_ps(1.f), zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 r = _mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_and_ps(_mm256_cmp_ps(v, zero, _CMP_GT_OQ), one));
    _mm256_storeu_ps(out + i, _mm256_blendv_ps(v, r, _mm256_cmp_ps(v, v, _CMP_ORD_Q)));
  }
#endif
  for (; i < n; ++i) {
    const float r = dy[i] * (x[i] > 0.f ? 1.f : 0.f);
    out[i] = x[i] == x[i] ? r : x[i];
  }
}

// x > 0 ? dy : dy * alpha (float32 product, as tf.js's where(x > 0, dy, dy * alpha)).
inline void leaky_grad_block(float* __restrict out, const float* __restrict dy, const float* __restrict x, int64_t n, float alpha) {
  int64_t i = 0;
#if defined(__AVX__)
  const __m256 a = _mm256_set1_ps(alpha), zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(dy + i);
    const __m256 gt = _mm256_cmp_ps(_mm256_loadu_ps(x + i), zero, _CMP_GT_OQ);
    _mm256_storeu_ps(out + i, _mm256_blendv_ps(_mm256_mul_ps(g, a), g, gt));
  }
#endif
  for (; i < n; ++i) {
    const float scaled = dy[i] * alpha;
    out[i] = x[i] > 0.f ? dy[i] : scaled;
  }
}

}  // namespace

bool activation_grad_f32(int op, float* __restrict out, const float* __restrict dy, const float* __restrict x, int64_t n, float alpha) {
  if (op != 0 && op != 1) return false;
  const int64_t tasks = (n + kBlock - 1) / kBlock;
  const bool par = n >= kParMin && team() > 1;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t s = t * kBlock, m = std::min(n - s, kBlock);
    if (op == 0)
      relu_grad_block(out + s, dy + s, x + s, m);
    else
      leaky_grad_block(out + s, dy + s, x + s, m, alpha);
  }
  return true;
}

void select_f32(float* __restrict out, const uint8_t* __restrict cond, const float* __restrict t, const float* __restrict e, int64_t n) {
  const int64_t tasks = (n + kBlock - 1) / kBlock;
  const bool par = n >= kParMin && team() > 1;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t k = 0; k < tasks; ++k) {
    const int64_t s = k * kBlock, end = std::min(n, s + kBlock);
    for (int64_t i = s; i < end; ++i) out[i] = cond[i] == 1 ? t[i] : e[i];
  }
}

void sum_squares_each(const float* const* xs, const int64_t* ns, int64_t count, double* out) {
  // Blocks of every array in order: array k owns blocks [first[k], first[k + 1]).
  std::vector<int64_t> first(count + 1, 0);
  int64_t total = 0;
  for (int64_t k = 0; k < count; ++k) {
    first[k + 1] = first[k] + (ns[k] + kSqBlock - 1) / kSqBlock;
    total += ns[k];
  }
  std::vector<double> part(first[count]);
  // One parallel region for all the arrays (a region per array would pay a
  // thread wake-up each); each block in one pass, whichever thread takes it.
#pragma omp parallel for schedule(static) if (total >= kParMin && team() > 1)
  for (int64_t b = 0; b < first[count]; ++b) {
    const int64_t k = std::upper_bound(first.begin(), first.end(), b) - first.begin() - 1;
    const int64_t i = (b - first[k]) * kSqBlock;
    part[b] = sum_squares_contig(xs[k] + i, std::min(kSqBlock, ns[k] - i));
  }
  for (int64_t k = 0; k < count; ++k) {
    double s = 0;
    for (int64_t b = first[k]; b < first[k + 1]; ++b) s += part[b];
    out[k] = s;
  }
}

double sum_squares_f32(const float* const* xs, const int64_t* ns, int64_t count) {
  std::vector<double> each(count);
  sum_squares_each(xs, ns, count, each.data());
  double s = 0;
  for (int64_t k = 0; k < count; ++k) s += each[k];
  return s;
}

void reduce_f32(int op, float* out, const float* x, int64_t A, int64_t R, int64_t B) {
  const float div = op == 1 ? static_cast<float>(R) : 0.f;
  const int nt = team();
  const bool big = A * R * B >= kParMin && nt > 1;
  if (B == 1) {
    if (!big) {
      for (int64_t a = 0; a < A; ++a) out[a] = static_cast<float>(sum_contig(x + a * R, R, div));
    } else if (A >= 4 * nt) {
#pragma omp parallel for schedule(static)
      for (int64_t a = 0; a < A; ++a) out[a] = static_cast<float>(sum_contig(x + a * R, R, div));
    } else {
      for (int64_t a = 0; a < A; ++a) {
        double s = 0;
        const float* xa = x + a * R;
#pragma omp parallel reduction(+ : s) if (R >= kParMin)
        {
          const int t = omp_get_thread_num(), T = omp_get_num_threads();
          const int64_t r0 = R * t / T, r1 = R * (t + 1) / T;
          s += sum_contig(xa + r0, r1 - r0, div);
        }
        out[a] = static_cast<float>(s);
      }
    }
    return;
  }
  if (!big || A >= 4 * nt) {
#pragma omp parallel if (big)
    {
      std::vector<double> acc(B);
#pragma omp for schedule(static)
      for (int64_t a = 0; a < A; ++a) {
        std::fill(acc.begin(), acc.end(), 0.0);
        sum_cols(acc.data(), x + a * R * B, 0, R, B, div);
        for (int64_t b = 0; b < B; ++b) out[a * B + b] = static_cast<float>(acc[b]);
      }
    }
    return;
  }
  // Few outputs rows, many reduced rows: each thread sums a slice of R.
  std::vector<double> part(static_cast<size_t>(nt) * B);
  for (int64_t a = 0; a < A; ++a) {
    std::fill(part.begin(), part.end(), 0.0);
    const float* xa = x + a * R * B;
    int used = 1;
#pragma omp parallel
    {
      const int t = omp_get_thread_num(), T = omp_get_num_threads();
#pragma omp single
      used = T;
      const int64_t r0 = R * t / T, r1 = R * (t + 1) / T;
      sum_cols(part.data() + t * B, xa, r0, r1, B, div);
    }
    for (int64_t b = 0; b < B; ++b) {
      double s = 0;
      for (int t = 0; t < used; ++t) s += part[t * B + b];
      out[a * B + b] = static_cast<float>(s);
    }
  }
}

void copy2d_f32(float* dst, int64_t dstStride, const float* src, int64_t srcStride, int64_t rows, int64_t width) {
  if (width == dstStride && width == srcStride) {
    // One contiguous block.
    const int64_t n = rows * width;
    const int64_t tasks = (n + kBlock - 1) / kBlock;
    const bool par = n >= kParMin && team() > 1;
#pragma omp parallel for schedule(static) if (par)
    for (int64_t k = 0; k < tasks; ++k) {
      const int64_t s = k * kBlock, e = std::min(n, s + kBlock);
      std::memcpy(dst + s, src + s, static_cast<size_t>(e - s) * sizeof(float));
    }
    return;
  }
  const bool par = rows * width >= kParMin && rows > 1 && team() > 1;
  if (width < 16) {
    // Narrow rows (the 3-channel images concatenated into D's input, and
    // split back in its gradient): a call to memcpy per row cost more than
    // the row (4096 rows of 3 floats: 22 us against 14; 16384: 64 against 29).
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < rows; ++r) {
      float* d = dst + r * dstStride;
      const float* s = src + r * srcStride;
      for (int64_t c = 0; c < width; ++c) d[c] = s[c];
    }
    return;
  }
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * dstStride, src + r * srcStride, static_cast<size_t>(width) * sizeof(float));
}

namespace {

// Adam on elements [s, e) of one tensor. No __restrict: the outputs may be
// the inputs (in place). Plain stores: streaming ones (which skip reading
// the output's lines first) made the update 1.4-2.2x slower on a 2-vCPU AMD
// EPYC under KVM, and far worse where the outputs were still in cache (a
// recycled buffer of a small tensor: 16 ns an element against 0.7) —
// D's update at 64x64 took 2-4 ms in a step instead of 0.9.
void adam_block(const AdamConsts& k, const AdamTensor& a, int64_t s, int64_t e) {
  const float b1 = k.b1, c1 = k.c1, b2 = k.b2, c2 = k.c2, sb2 = k.sb2, eps = k.eps, step = k.step;
  const float *p = a.p, *g = a.g, *m = a.m, *v = a.v;
  float *pOut = a.pOut, *mOut = a.mOut, *vOut = a.vOut;
  int64_t i = s;
#if defined(__AVX__)
  const __m256 vb1 = _mm256_set1_ps(b1), vc1 = _mm256_set1_ps(c1), vb2 = _mm256_set1_ps(b2), vc2 = _mm256_set1_ps(c2);
  const __m256 vsb2 = _mm256_set1_ps(sb2), veps = _mm256_set1_ps(eps), vstep = _mm256_set1_ps(step);
  for (; i + 8 <= e; i += 8) {
    const __m256 gi = _mm256_loadu_ps(g + i);
    const __m256 mi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(m + i), vb1), _mm256_mul_ps(gi, vc1));
    const __m256 vi = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(v + i), vb2), _mm256_mul_ps(_mm256_mul_ps(gi, gi), vc2));
    const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vsb2), veps);
    const __m256 pi = _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_mul_ps(_mm256_div_ps(mi, denom), vstep));
    _mm256_storeu_ps(mOut + i, mi);
    _mm256_storeu_ps(vOut + i, vi);
    _mm256_storeu_ps(pOut + i, pi);
  }
#endif
  for (; i < e; ++i) {
    const float gi = g[i], pi = p[i];
    const float mi = m[i] * b1 + gi * c1;
    const float vi = v[i] * b2 + (gi * gi) * c2;
    const float denom = std::sqrt(vi) / sb2 + eps;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = pi - (mi / denom) * step;
  }
}

}  // namespace

void adam_f32(const AdamConsts& k, const AdamTensor* ts, int64_t count) {
  // Blocks of kBlock elements of every tensor, split between the team in
  // one parallel region: one wake-up of the team for a whole network's
  // update (not one per tensor), and its small tensors on both cores too.
  std::vector<std::pair<int64_t, int64_t>> blocks;  // (tensor, first element)
  int64_t total = 0;
  for (int64_t t = 0; t < count; ++t) {
    for (int64_t s = 0; s < ts[t].n; s += kBlock) blocks.emplace_back(t, s);
    total += ts[t].n;
  }
  const int64_t nb = static_cast<int64_t>(blocks.size());
  const bool par = total >= kParMin && nb > 1 && team() > 1;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t b = 0; b < nb; ++b) {
    const auto [t, s] = blocks[b];
    adam_block(k, ts[t], s, std::min(ts[t].n, s + kBlock));
  }
}

namespace {

// Per-thread slices of R: thread t of T takes rows [R*t/T, R*(t+1)/T).
inline void slice(int64_t R, int t, int T, int64_t* r0, int64_t* r1) {
  *r0 = R * t / T;
  *r1 = R * (t + 1) / T;
}

// K per-channel sums in double over the R rows of an [R, C] slab, the rows
// split between threads: add_row(r, s) adds row r's terms into one thread's
// K x C sums s. The totals (the threads' partial sums added in thread order)
// go to out[j * C + c]. part is scratch for nt threads.
template <int K, typename AddRow>
void channel_sums(int64_t R, int64_t C, bool par, std::vector<double>& part, double* out, AddRow add_row) {
  std::fill(part.begin(), part.end(), 0.0);
  int used = 1;
#pragma omp parallel if (par)
  {
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
#pragma omp single
    used = T;
    int64_t r0, r1;
    slice(R, t, T, &r0, &r1);
    double* sums = part.data() + static_cast<size_t>(t) * K * C;
    for (int64_t r = r0; r < r1; ++r) add_row(r, sums);
  }
  for (int64_t i = 0; i < K * C; ++i) {
    double v = 0;
    for (int t = 0; t < used; ++t) v += part[static_cast<size_t>(t) * K * C + i];
    out[i] = v;
  }
}

}  // namespace

void norm_forward(const float* x, float* y, float* mean, float* invstd, const float* gamma, const float* beta, int64_t A, int64_t R,
                  int64_t C, float eps) {
  const int nt = team();
  const bool par = A * R * C >= kParMin && nt > 1;
  // Sums of x and x^2 per channel in double: exact enough that the one-pass
  // variance loses nothing a float32 result could show.
  std::vector<double> part(static_cast<size_t>(nt) * 2 * C), sums(2 * C);
  std::vector<float> scale(C), shift(C), mu(C);
  for (int64_t a = 0; a < A; ++a) {
    const float* xa = x + a * R * C;
    float* ya = y + a * R * C;
    channel_sums<2>(R, C, par, part, sums.data(), [&](int64_t r, double* s) {
      const float* xr = xa + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const double v = xr[c];
        s[c] += v;
        s[C + c] += v * v;
      }
    });
    for (int64_t c = 0; c < C; ++c) {
      const double s1 = sums[c], s2 = sums[C + c];
      const double m = s1 / static_cast<double>(R);
      const double var = std::max(0.0, s2 / static_cast<double>(R) - m * m);
      const double is = 1.0 / std::sqrt(var + static_cast<double>(eps));
      mean[a * C + c] = mu[c] = static_cast<float>(m);
      invstd[a * C + c] = static_cast<float>(is);
      scale[c] = static_cast<float>(is * (gamma ? gamma[c] : 1.0));
      shift[c] = beta ? beta[c] : 0.f;
    }
    const float* sc = scale.data();
    const float* sh = shift.data();
    const float* m = mu.data();
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < R; ++r) {
      const float* xr = xa + r * C;
      float* yr = ya + r * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = (xr[c] - m[c]) * sc[c] + sh[c];
    }
  }
}

void norm_backward(const float* dy, const float* x, const float* gamma, float* dx, float* dgamma, float* dbeta, int64_t A, int64_t R,
                   int64_t C, float eps) {
  const int nt = team();
  const bool par = A * R * C >= kParMin && nt > 1;
  // One pass for the sums the statistics and the gradient need, per channel:
  // sum x, sum x^2, sum dy, sum dy*x (double); the statistics come out exactly
  // as norm_forward's.
  std::vector<double> part(static_cast<size_t>(nt) * 4 * C), sums(4 * C);
  std::vector<double> sumDy(C, 0.0), sumDyXhat(C, 0.0);
  std::vector<float> k1(C), k2(C), k3(C), mu(C);
  for (int64_t a = 0; a < A; ++a) {
    const float* xa = x + a * R * C;
    const float* dya = dy + a * R * C;
    float* dxa = dx + a * R * C;
    channel_sums<4>(R, C, par, part, sums.data(), [&](int64_t r, double* s) {
      const float* xr = xa + r * C;
      const float* gr = dya + r * C;
      for (int64_t c = 0; c < C; ++c) {
        const double v = xr[c], g = gr[c];
        s[c] += v;
        s[C + c] += v * v;
        s[2 * C + c] += g;
        s[3 * C + c] += g * v;
      }
    });
    // xhat = (x - mean) * invstd;  dxhat = dy * gamma
    // dx = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))
    //    = k1 * (dy - k2) - k3 * (x - mean)
    const double n = static_cast<double>(R);
    for (int64_t c = 0; c < C; ++c) {
      const double s[4] = {sums[c], sums[C + c], sums[2 * C + c], sums[3 * C + c]};
      const double m = s[0] / n;
      const double var = std::max(0.0, s[1] / n - m * m);
      const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
      const double s1 = s[2];
      const double s2hat = (s[3] - m * s[2]) * inv;  // sum(dy * xhat)
      sumDy[c] += s1;
      sumDyXhat[c] += s2hat;
      const double g = (gamma ? gamma[c] : 1.0) * inv;
      mu[c] = static_cast<float>(m);
      k1[c] = static_cast<float>(g);
      k2[c] = static_cast<float>(s1 / n);
      k3[c] = static_cast<float>(g * inv * s2hat / n);
    }
    const float* c1 = k1.data();
    const float* c2 = k2.data();
    const float* c3 = k3.data();
    const float* mm = mu.data();
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < R; ++r) {
      const float* xr = xa + r * C;
      const float* gr = dya + r * C;
      float* o = dxa + r * C;
      for (int64_t c = 0; c < C; ++c) o[c] = c1[c] * (gr[c] - c2[c]) - c3[c] * (xr[c] - mm[c]);
    }
  }
  if (dgamma)
    for (int64_t c = 0; c < C; ++c) dgamma[c] = static_cast<float>(sumDyXhat[c]);
  if (dbeta)
    for (int64_t c = 0; c < C; ++c) dbeta[c] = static_cast<float>(sumDy[c]);
}

}  // namespace ew
