// The fused sigmoid cross-entropy (see ew_kernels.h): the composed ops of
// lib/ops/cross-entropy.ts, forward and backward, as one loop each. What the
// composed form spends is dispatch, not arithmetic: about 40 kernels and a
// dozen tape entries for a 6x6 patch of logits, where this is two.
// No FMA contraction: each op rounds once, as in the composed kernels.
#pragma GCC optimize("fp-contract=off")
#include <cmath>
#include <vector>

#include "ew_kernels.h"

namespace ew {

float sigmoid_ce_mean(const float* logits, int64_t n, bool real) {
  // relu(l) - (real ? l : zerosLike(l)) + log1p(exp(neg(abs(l)))), each op
  // rounded to float32; then Mean's reduction (it divides each element by n
  // first, then sums in double) on the same view as the Mean kernel's.
  std::vector<float> ce(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float v = logits[i];
    const float r = relu_f32(v);
    const float s = real ? r - v : r - 0.f;
    ce[i] = s + log1p_f32(exp_f32(-std::fabs(v)));
  }
  float out;
  reduce_f32(1, &out, ce.data(), 1, n, 1);
  return out;
}

void sigmoid_ce_grad(const float* logits, int64_t n, bool real, float dy, float* dlogits) {
  // Mean's gradient: dy * ones / n, the same for every element; Add's passes
  // it to both of its inputs.
  const float m = (dy * 1.f) / static_cast<float>(n);
  for (int64_t i = 0; i < n; ++i) {
    const float v = logits[i];
    const float e = exp_f32(-std::fabs(v));
    // log1p(e): dy / (e + 1);  exp: dy * exp(x);  neg: -dy
    const float dn = -((m / (e + 1.f)) * e);
    // abs: dy * step(x, -1) (NaN stays NaN, x > 0 gives 1, else -1)
    const float da = dn * (v != v ? v : (v > 0.f ? 1.f : -1.f));
    // The tape visits abs first, then sub (real: -dy reaches the logits;
    // fake: zerosLike's zeros do, which makes -0 into +0), then relu
    // (dy * step(x), NaN for NaN x).
    const float acc = real ? da + -m : da + 0.f;
    const float rg = m * (v > 0.f ? 1.f : 0.f);
    dlogits[i] = acc + (v == v ? rg : v);
  }
}

}  // namespace ew
