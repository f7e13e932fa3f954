// The element-wise module's loops, free of N-API: binary maps with
// broadcasting, unary maps, reductions, strided copies and the fused Adam.
//
// Arithmetic: float32 in, float32 out, each op rounded once, as tf.js's cpu
// backend does. Its kernels compute in double and round the result to
// float32; for +, -, *, /, sqrt that equals the float32 operation exactly
// (double has more than 2*24+2 bits), so those run in float here. Everything
// else (tanh, exp, sigmoid, the LeakyRelu product with a double alpha,
// squared difference) runs in double and rounds at the end, as stock does.
// Contraction into FMA would round twice less: it is off (see the pragma in
// each .cc file) and the build must not use -ffast-math.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace ew {

// Scalar maps shared by the unary kernels and the fused loss (ew_loss.cc),
// so that both round exactly alike: exp and log1p in double, rounded once.
inline float exp_f32(float v) { return static_cast<float>(std::exp(static_cast<double>(v))); }
inline float log1p_f32(float v) { return static_cast<float>(std::log1p(static_cast<double>(v))); }
// Math.max(0, x): NaN stays NaN, -0 becomes 0. (A select with no NaN test
// so that loops vectorise: NaN fails every comparison.)
inline float relu_f32(float v) { return v <= 0.f ? 0.f : v; }

// Binary ops (codes shared with kernels/elementwise.ts).
enum BinaryOp : int {
  kAdd = 0, kSub, kMul, kDiv, kSquaredDifference, kMaximum, kMinimum,
  // Comparisons write bool (uint8 0/1).
  kGreater = 100, kGreaterEqual, kLess, kLessEqual, kEqual, kNotEqual,
};

// Unary ops (codes shared with kernels/elementwise.ts).
enum UnaryOp : int {
  kSqrt = 0, kRsqrt, kSquare, kNeg, kAbs, kExp, kLog, kLog1p, kRelu, kLeakyRelu,
  kTanh, kSigmoid, kStep, kReciprocal, kRelu6,
};

// Up to three collapsed dimensions; strides in elements (0 = broadcast).
struct Dims3 {
  int64_t n[3];
  int64_t sa[3];
  int64_t sb[3];
};

// out[i0,i1,i2] = op(a[...], b[...]); false when `op` is unknown.
bool binary_f32(int op, float* out, const float* a, const float* b, const Dims3& d);
bool compare_f32(int op, uint8_t* out, const float* a, const float* b, const Dims3& d);
bool unary_f32(int op, float* out, const float* x, int64_t n, double alpha);
// Activation gradients, as tf.js's gradient functions compute them:
// op 0 (Relu): dy * step(x);  op 1 (LeakyRelu): x > 0 ? dy : dy * alpha.
bool activation_grad_f32(int op, float* out, const float* dy, const float* x, int64_t n, float alpha);
// out[i] = cond[i] ? t[i] : e[i] (cond is tf.js's bool: 1 is true).
void select_f32(float* out, const uint8_t* cond, const float* t, const float* e, int64_t n);

// x viewed as [A, R, B]; out[a, b] = sum over r, in double (op 0), or the
// sum of float32 x/R (op 1: tf.js's Mean divides first, then sums).
void reduce_f32(int op, float* out, const float* x, int64_t A, int64_t R, int64_t B);

// out[k] = the sum of xs[k][i]^2 over ns[k] floats, in double (NaN or Inf if
// an element is; it can exceed FLT_MAX: the caller decides what overflow
// means). An array's sum is the same double however many threads take it
// and whatever arrays come with it: fixed blocks of 2^16 floats, each summed
// in one pass, their sums added in order. So a gradient's sum is the same
// taken by a job on the worker, by a kernel in line or by the divergence
// check (whose total then depends only on the arrays' order).
void sum_squares_each(const float* const* xs, const int64_t* ns, int64_t count, double* out);
// The sum of the arrays' sums, in order.
double sum_squares_f32(const float* const* xs, const int64_t* ns, int64_t count);

// rows x width block: dst[r*dstStride + c] = src[r*srcStride + c].
void copy2d_f32(float* dst, int64_t dstStride, const float* src, int64_t srcStride, int64_t rows, int64_t width);

// Adam (PyTorch's arithmetic, float32 constants, one rounding per op as the
// tf-ops path in lib/optim/adam.ts):
//   m' = b1*m + c1*g;  v' = b2*v + c2*(g*g)
//   p' = p - (m' / (sqrt(v')/sb2 + eps)) * step
// In place when pOut/mOut/vOut are p/m/v themselves (a donated state): each
// element is read before it is written.
// Any number of tensors in one call (their blocks split between the team),
// each element computed as alone: the same bits however they are grouped.
struct AdamConsts {
  float b1, c1, b2, c2, sb2, eps, step;
};
struct AdamTensor {
  const float *p, *g, *m, *v;
  float *pOut, *mOut, *vOut;
  int64_t n;
};
void adam_f32(const AdamConsts& k, const AdamTensor* ts, int64_t count);

// Batch / instance norm over x viewed as [A, R, C]: statistics per (a, c)
// over R (A = 1: batch norm over N*H*W; A = N: instance norm over H*W).
// Forward: mean, invstd = 1/sqrt(biased var + eps) (both [A, C]), and
// y = (x - mean) * invstd * gamma + beta (gamma, beta: [C] or null).
void norm_forward(const float* x, float* y, float* mean, float* invstd, const float* gamma, const float* beta, int64_t A, int64_t R,
                  int64_t C, float eps);
// Backward: dx (the full gradient, through the statistics, which it
// recomputes from x), and dgamma = sum(dy * xhat), dbeta = sum(dy) over A
// and R where those are given.
void norm_backward(const float* dy, const float* x, const float* gamma, float* dx, float* dgamma, float* dbeta, int64_t A, int64_t R,
                   int64_t C, float eps);

// The mean sigmoid cross-entropy of logits against a constant target, 1
// (`real`) or 0, as lib/ops/cross-entropy.ts composes it from tf ops:
//   mean(relu(l) - t*l + log1p(exp(-|l|)))
// with every op rounded as its kernel here rounds it and the mean as
// reduce_f32 takes it: the same float as the composed ops on this backend.
float sigmoid_ce_mean(const float* logits, int64_t n, bool real);
// Its gradient for the loss's gradient dy, with tf.js's gradient of each
// composed op in float32 and their contributions to the logits added in the
// order tf.js's tape adds them: the same bits as the composed gradient.
void sigmoid_ce_grad(const float* logits, int64_t n, bool real, float dy, float* dlogits);

}  // namespace ew
