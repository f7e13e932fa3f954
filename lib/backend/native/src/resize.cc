// The data pipeline's bicubic resize (lib/data/preprocess.ts, resizeImage)
// in C++: the same double arithmetic in the same order, so the same bits
// (test/data.test.ts compares the two), at a fraction of the time. The data
// worker resizes every pair of a run's first epoch, on the core the
// training step's worker thread also wants.
//   resizeBicubic(src, height, width, channels, outHeight, outWidth, out)
// src may also be a Uint8Array of decoded pixels: each byte b is read as the
// float32 nearest b / 127.5 - 1 (lib/data/pixels.ts, bytesToFloat), so
// resizing the bytes gives the bits of resizing their floats, without the
// full-size float copy.
//
// No fused multiply-adds here: JavaScript rounds every product and every
// sum, so must this file (it has nothing else).
#pragma GCC optimize("fp-contract=off")

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <vector>

#include "common.h"

namespace {

double cubic(double x) {
  const double a = -0.5;
  x = std::fabs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

// Per output index: first input index, tap count, normalised weights (PIL's precompute_coeffs).
struct Coefficients {
  int64_t taps = 0;
  std::vector<int64_t> starts, counts;
  std::vector<double> weights;
};

Coefficients coefficients(int64_t in, int64_t out) {
  const double scale = double(in) / double(out);
  const double filter_scale = std::max(scale, 1.0);
  const double support = 2 * filter_scale;
  Coefficients c;
  c.taps = int64_t(std::ceil(support)) * 2 + 1;
  c.starts.resize(out);
  c.counts.resize(out);
  c.weights.assign(out * c.taps, 0.0);
  for (int64_t i = 0; i < out; i++) {
    const double center = (double(i) + 0.5) * scale;
    const int64_t lo = std::max(int64_t(std::trunc(center - support + 0.5)), int64_t(0));
    const int64_t hi = std::min(int64_t(std::trunc(center + support + 0.5)), in);
    double total = 0;
    double* w = &c.weights[i * c.taps];
    for (int64_t j = lo; j < hi; j++) {
      w[j - lo] = cubic((double(j) - center + 0.5) / filter_scale);
      total += w[j - lo];
    }
    if (total != 0)
      for (int64_t j = 0; j < hi - lo; j++) w[j] /= total;
    c.starts[i] = lo;
    c.counts[i] = hi - lo;
  }
  return c;
}

// A source pixel value as the float JavaScript would hold for it.
struct FromFloat {
  const float* p;
  double operator[](int64_t i) const { return double(p[i]); }
};
struct FromByte {
  const uint8_t* p;
  const float* table;  // byte -> float32(b / 127.5 - 1)
  double operator[](int64_t i) const { return double(table[p[i]]); }
};

const float* byte_table() {
  static const auto* table = [] {
    auto* t = new float[256];
    for (int b = 0; b < 256; b++) t[b] = float(double(b) / 127.5 - 1.0);
    return t;
  }();
  return table;
}

// Each output value is the sum over its taps in tap order, from 0, as in
// JavaScript; the loops run over outputs innermost (independent sums, which
// the compiler may compute side by side without reordering any one).
template <class Src>
void resize(Src src, int64_t height, int64_t width, int64_t ch, int64_t out_h, int64_t out_w, float* out) {
  // Horizontal pass: height x out_w.
  const Coefficients h = coefficients(width, out_w);
  std::vector<double> tmp(height * out_w * ch, 0.0);
  for (int64_t y = 0; y < height; y++) {
    for (int64_t x = 0; x < out_w; x++) {
      const int64_t at = (y * width + h.starts[x]) * ch;
      const double* w = &h.weights[x * h.taps];
      double* o = &tmp[(y * out_w + x) * ch];
      if (ch == 3) {  // RGB in three registers: the same additions
        double r = 0, g = 0, b = 0;
        for (int64_t t = 0; t < h.counts[x]; t++) {
          r += w[t] * src[at + 3 * t];
          g += w[t] * src[at + 3 * t + 1];
          b += w[t] * src[at + 3 * t + 2];
        }
        o[0] = r, o[1] = g, o[2] = b;
        continue;
      }
      for (int64_t t = 0; t < h.counts[x]; t++)
        for (int64_t k = 0; k < ch; k++) o[k] += w[t] * src[at + t * ch + k];
    }
  }
  // Vertical pass: out_h x out_w, then clamped to [-1, 1] and rounded to float32.
  const Coefficients v = coefficients(height, out_h);
  const int64_t stride = out_w * ch;
  std::vector<double> sum(stride);
  for (int64_t y = 0; y < out_h; y++) {
    const double* from = &tmp[v.starts[y] * stride];
    const double* w = &v.weights[y * v.taps];
    std::fill(sum.begin(), sum.end(), 0.0);
    for (int64_t t = 0; t < v.counts[y]; t++)
      for (int64_t i = 0; i < stride; i++) sum[i] += w[t] * from[t * stride + i];
    float* o = out + y * stride;
    for (int64_t i = 0; i < stride; i++) o[i] = float(sum[i] < -1 ? -1 : sum[i] > 1 ? 1 : sum[i]);
  }
}

napi_value resize_bicubic(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  F32 src, out;
  const uint8_t* bytes = nullptr;
  size_t length = 0;
  bool ok = argc == 7 && get_f32(env, argv[6], &out);
  if (ok && get_f32(env, argv[0], &src)) {
    length = src.length;
  } else if (ok) {
    napi_typedarray_type type;
    void* data = nullptr;
    ok = napi_get_typedarray_info(env, argv[0], &type, &length, &data, nullptr, nullptr) == napi_ok && type == napi_uint8_array;
    bytes = static_cast<const uint8_t*>(data);
  }
  int64_t dims[5] = {0, 0, 0, 0, 0};
  for (int i = 0; ok && i < 5; i++) ok = get_i64(env, argv[1 + i], &dims[i]) && dims[i] > 0 && dims[i] < (int64_t(1) << 20);
  const auto [height, width, ch, out_h, out_w] = dims;
  if (!ok || length != size_t(height * width * ch) || out.length != size_t(out_h * out_w * ch)) {
    napi_throw_type_error(env, nullptr,
                          "pix2pix_elementwise.resizeBicubic: expected (src Float32Array or Uint8Array of height*width*channels, "
                          "height, width, channels, outHeight, outWidth, out Float32Array of outHeight*outWidth*channels)");
    return nullptr;
  }
  if (bytes != nullptr) resize(FromByte{bytes, byte_table()}, height, width, ch, out_h, out_w, out.data);
  else resize(FromFloat{src.data}, height, width, ch, out_h, out_w, out.data);
  return undefined_value(env);
}

}  // namespace

void export_resize_functions(napi_env env, napi_value exports) { export_function(env, exports, "resizeBicubic", resize_bicubic); }
