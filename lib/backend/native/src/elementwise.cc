// The element-wise module: binary/unary maps, reductions, copies, the fused optimiser
// (and the data pipeline's bicubic resize, resize.cc).
//
// N-API glue only; the loops are in ew_kernels.cc. Every function takes its
// outputs as typed arrays allocated in JavaScript (tf.js's cpu backend owns
// its tensors' memory), checks every index it will touch against the arrays'
// lengths, and throws a TypeError/RangeError instead of touching memory it
// was not given.
#include <cstring>
#include <vector>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "common.h"

#include "ew_kernels.h"

namespace {

struct Args {
  static constexpr size_t kMax = 16;
  napi_value v[kMax];
  size_t n = kMax;
};

bool get_args(napi_env env, napi_callback_info info, Args* args, size_t want) {
  if (napi_get_cb_info(env, info, &args->n, args->v, nullptr, nullptr) != napi_ok) return false;
  if (args->n < want) {
    napi_throw_type_error(env, nullptr, "pix2pix_elementwise: too few arguments");
    return false;
  }
  return true;
}

// A typed array of the given element type, as a raw pointer (no copy).
template <class T>
bool get_typed(napi_env env, napi_value value, napi_typedarray_type want, T** data, size_t* length) {
  napi_typedarray_type type;
  void* raw;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, &buffer, &offset) != napi_ok || type != want) {
    napi_throw_type_error(env, nullptr, want == napi_uint8_array ? "pix2pix_elementwise: expected a Uint8Array"
                                                                 : "pix2pix_elementwise: expected a Float32Array");
    return false;
  }
  *data = static_cast<T*>(raw);
  return true;
}

bool f32(napi_env env, napi_value v, float** p, size_t* n) { return get_typed(env, v, napi_float32_array, p, n); }
bool u8(napi_env env, napi_value v, uint8_t** p, size_t* n) { return get_typed(env, v, napi_uint8_array, p, n); }

bool i64(napi_env env, napi_value v, int64_t* out) {
  if (get_i64(env, v, out)) return true;
  napi_throw_type_error(env, nullptr, "pix2pix_elementwise: expected an integer");
  return false;
}

bool f64(napi_env env, napi_value v, double* out) {
  if (get_f64(env, v, out)) return true;
  napi_throw_type_error(env, nullptr, "pix2pix_elementwise: expected a number");
  return false;
}

napi_value range_error(napi_env env, const char* what) {
  napi_throw_range_error(env, nullptr, what);
  return nullptr;
}

// Largest index a strided view touches (+1), or 0 for an empty one.
int64_t extent(const int64_t* n, const int64_t* s, int k) {
  int64_t last = 0;
  for (int i = 0; i < k; ++i) {
    if (n[i] <= 0) return 0;
    last += (n[i] - 1) * s[i];
  }
  return last + 1;
}

// binary(op, out, a, b, n0, n1, n2, sa0, sa1, sa2, sb0, sb1, sb2)
// out is Float32Array for arithmetic ops, Uint8Array for comparisons.
napi_value binary(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 13)) return nullptr;
  int64_t op;
  ew::Dims3 d;
  if (!i64(env, args.v[0], &op)) return nullptr;
  const bool compare = op >= ew::kGreater && op <= ew::kNotEqual;
  if (!compare && !(op >= ew::kAdd && op <= ew::kMinimum)) return range_error(env, "pix2pix_elementwise.binary: unknown op");
  for (int i = 0; i < 3; ++i) {
    if (!i64(env, args.v[4 + i], &d.n[i]) || !i64(env, args.v[7 + i], &d.sa[i]) || !i64(env, args.v[10 + i], &d.sb[i])) return nullptr;
    if (d.n[i] < 0 || d.sa[i] < 0 || d.sb[i] < 0) return range_error(env, "pix2pix_elementwise.binary: negative size or stride");
  }
  float *a, *b;
  size_t na, nb, no;
  if (!f32(env, args.v[2], &a, &na) || !f32(env, args.v[3], &b, &nb)) return nullptr;
  const int64_t total = d.n[0] * d.n[1] * d.n[2];
  if (static_cast<int64_t>(na) < extent(d.n, d.sa, 3) || static_cast<int64_t>(nb) < extent(d.n, d.sb, 3))
    return range_error(env, "pix2pix_elementwise.binary: input too short for its strides");
  if (compare) {
    uint8_t* o;
    if (!u8(env, args.v[1], &o, &no)) return nullptr;
    if (static_cast<int64_t>(no) != total) return range_error(env, "pix2pix_elementwise.binary: output size");
    if (total > 0 && !ew::compare_f32(static_cast<int>(op), o, a, b, d)) return range_error(env, "pix2pix_elementwise.binary: unknown op");
  } else {
    float* o;
    if (!f32(env, args.v[1], &o, &no)) return nullptr;
    if (static_cast<int64_t>(no) != total) return range_error(env, "pix2pix_elementwise.binary: output size");
    if (total > 0 && !ew::binary_f32(static_cast<int>(op), o, a, b, d)) return range_error(env, "pix2pix_elementwise.binary: unknown op");
  }
  return undefined_value(env);
}

// unary(op, out, x, alpha)
napi_value unary(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 4)) return nullptr;
  int64_t op;
  double alpha;
  float *o, *x;
  size_t no, nx;
  if (!i64(env, args.v[0], &op) || !f32(env, args.v[1], &o, &no) || !f32(env, args.v[2], &x, &nx) || !f64(env, args.v[3], &alpha))
    return nullptr;
  if (no != nx) return range_error(env, "pix2pix_elementwise.unary: output size");
  if (!ew::unary_f32(static_cast<int>(op), o, x, static_cast<int64_t>(nx), alpha))
    return range_error(env, "pix2pix_elementwise.unary: unknown op");
  return undefined_value(env);
}

// activationGrad(op, out, dy, x, alpha), all the same size.
napi_value activation_grad(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 5)) return nullptr;
  int64_t op;
  double alpha;
  float *o, *dy, *x;
  size_t no, ndy, nx;
  if (!i64(env, args.v[0], &op) || !f32(env, args.v[1], &o, &no) || !f32(env, args.v[2], &dy, &ndy) || !f32(env, args.v[3], &x, &nx) ||
      !f64(env, args.v[4], &alpha))
    return nullptr;
  if (ndy != no || nx != no) return range_error(env, "pix2pix_elementwise.activationGrad: sizes differ");
  if (!ew::activation_grad_f32(static_cast<int>(op), o, dy, x, static_cast<int64_t>(no), static_cast<float>(alpha)))
    return range_error(env, "pix2pix_elementwise.activationGrad: unknown op");
  return undefined_value(env);
}

// select(out, cond, t, e), all the same size.
napi_value select(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 4)) return nullptr;
  float *o, *t, *e;
  uint8_t* c;
  size_t no, nc, nt, ne;
  if (!f32(env, args.v[0], &o, &no) || !u8(env, args.v[1], &c, &nc) || !f32(env, args.v[2], &t, &nt) || !f32(env, args.v[3], &e, &ne))
    return nullptr;
  if (nc != no || nt != no || ne != no) return range_error(env, "pix2pix_elementwise.select: sizes differ");
  ew::select_f32(o, c, t, e, static_cast<int64_t>(no));
  return undefined_value(env);
}

// reduce(op, out, x, A, R, B): x is [A, R, B], out [A, B]; op 0 sum, 1 mean.
napi_value reduce(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 6)) return nullptr;
  int64_t op, A, R, B;
  float *o, *x;
  size_t no, nx;
  if (!i64(env, args.v[0], &op) || !f32(env, args.v[1], &o, &no) || !f32(env, args.v[2], &x, &nx) || !i64(env, args.v[3], &A) ||
      !i64(env, args.v[4], &R) || !i64(env, args.v[5], &B))
    return nullptr;
  if (op != 0 && op != 1) return range_error(env, "pix2pix_elementwise.reduce: unknown op");
  if (A < 1 || R < 1 || B < 1 || static_cast<int64_t>(nx) != A * R * B || static_cast<int64_t>(no) != A * B)
    return range_error(env, "pix2pix_elementwise.reduce: sizes");
  ew::reduce_f32(static_cast<int>(op), o, x, A, R, B);
  return undefined_value(env);
}

// copy2d(dst, dstOffset, dstStride, src, srcOffset, srcStride, rows, width)
napi_value copy2d(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 8)) return nullptr;
  float *dst, *src;
  size_t nd, ns;
  int64_t dOff, dStride, sOff, sStride, rows, width;
  if (!f32(env, args.v[0], &dst, &nd) || !i64(env, args.v[1], &dOff) || !i64(env, args.v[2], &dStride) || !f32(env, args.v[3], &src, &ns) ||
      !i64(env, args.v[4], &sOff) || !i64(env, args.v[5], &sStride) || !i64(env, args.v[6], &rows) || !i64(env, args.v[7], &width))
    return nullptr;
  if (rows < 0 || width < 0 || dOff < 0 || sOff < 0 || dStride < width || sStride < width)
    return range_error(env, "pix2pix_elementwise.copy2d: bad geometry");
  if (rows == 0 || width == 0) return undefined_value(env);
  if (dOff + (rows - 1) * dStride + width > static_cast<int64_t>(nd) || sOff + (rows - 1) * sStride + width > static_cast<int64_t>(ns))
    return range_error(env, "pix2pix_elementwise.copy2d: out of bounds");
  ew::copy2d_f32(dst + dOff, dStride, src + sOff, sStride, rows, width);
  return undefined_value(env);
}

// sumSquares([x0, x1, ...], each?) -> the sum of every element's square, in
// double; each (a Float64Array of at least as many elements) gets each
// array's own sum (ew::sum_squares_each: the same double wherever taken).
napi_value sum_squares(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 1)) return nullptr;
  uint32_t count = 0;
  bool is_array = false;
  if (napi_is_array(env, args.v[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, args.v[0], &count) != napi_ok) {
    napi_throw_type_error(env, nullptr, "pix2pix_elementwise.sumSquares: expected an array of Float32Arrays");
    return nullptr;
  }
  std::vector<const float*> xs(count);
  std::vector<int64_t> ns(count);
  for (uint32_t k = 0; k < count; ++k) {
    napi_value item;
    float* x;
    size_t n;
    if (napi_get_element(env, args.v[0], k, &item) != napi_ok || !f32(env, item, &x, &n)) return nullptr;
    xs[k] = x;
    ns[k] = static_cast<int64_t>(n);
  }
  std::vector<double> own(count);
  double* each = own.data();
  napi_valuetype kind = napi_undefined;
  if (args.n > 1 && napi_typeof(env, args.v[1], &kind) == napi_ok && kind != napi_undefined) {
    napi_typedarray_type type = napi_int8_array;
    size_t room = 0;
    void* raw = nullptr;
    if (napi_get_typedarray_info(env, args.v[1], &type, &room, &raw, nullptr, nullptr) != napi_ok || type != napi_float64_array || room < count) {
      napi_throw_type_error(env, nullptr, "pix2pix_elementwise.sumSquares: the second argument must be a Float64Array with room for every array's sum");
      return nullptr;
    }
    each = static_cast<double*>(raw);
  }
  ew::sum_squares_each(xs.data(), ns.data(), static_cast<int64_t>(count), each);
  double total = 0;
  for (uint32_t k = 0; k < count; ++k) total += each[k];
  napi_value r;
  napi_create_double(env, total, &r);
  return r;
}

// adam([p0, g0, m0, v0, pOut0, mOut0, vOut0, p1, ...], b1, c1, b2, c2, sb2, eps, step):
// any number of tensors, 7 Float32Arrays each, updated in one parallel
// region. The constants arrive as doubles holding float32 values (Math.fround).
napi_value adam(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 8)) return nullptr;
  uint32_t count = 0;
  bool is_array = false;
  if (napi_is_array(env, args.v[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, args.v[0], &count) != napi_ok ||
      count % 7 != 0) {
    napi_throw_type_error(env, nullptr, "pix2pix_elementwise.adam: expected an array of 7 Float32Arrays per tensor (p, g, m, v, pOut, mOut, vOut)");
    return nullptr;
  }
  std::vector<ew::AdamTensor> ts(count / 7);
  for (uint32_t t = 0; t < count / 7; ++t) {
    float* arr[7];
    size_t len[7];
    for (uint32_t i = 0; i < 7; ++i) {
      napi_value item;
      if (napi_get_element(env, args.v[0], 7 * t + i, &item) != napi_ok || !f32(env, item, &arr[i], &len[i])) return nullptr;
    }
    for (int i = 1; i < 7; ++i)
      if (len[i] != len[0]) return range_error(env, "pix2pix_elementwise.adam: sizes differ");
    ts[t] = {arr[0], arr[1], arr[2], arr[3], arr[4], arr[5], arr[6], static_cast<int64_t>(len[0])};
  }
  double c[7];
  for (int i = 0; i < 7; ++i)
    if (!f64(env, args.v[1 + i], &c[i])) return nullptr;
  const ew::AdamConsts k{static_cast<float>(c[0]), static_cast<float>(c[1]), static_cast<float>(c[2]), static_cast<float>(c[3]),
                         static_cast<float>(c[4]), static_cast<float>(c[5]), static_cast<float>(c[6])};
  ew::adam_f32(k, ts.data(), static_cast<int64_t>(ts.size()));
  return undefined_value(env);
}

// A Float32Array of length `want`, or of length 0 for "none" (-> nullptr).
bool f32_opt(napi_env env, napi_value v, int64_t want, float** p, const char* what) {
  size_t n;
  if (!f32(env, v, p, &n)) return false;
  if (n == 0) {
    *p = nullptr;
    return true;
  }
  if (static_cast<int64_t>(n) == want) return true;
  napi_throw_range_error(env, nullptr, what);
  return false;
}

// normForward(x, y, mean, invstd, gamma, beta, A, R, C, eps); gamma/beta may be empty (none).
napi_value norm_forward(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 10)) return nullptr;
  int64_t A, R, C;
  double eps;
  if (!i64(env, args.v[6], &A) || !i64(env, args.v[7], &R) || !i64(env, args.v[8], &C) || !f64(env, args.v[9], &eps)) return nullptr;
  if (A < 1 || R < 1 || C < 1) return range_error(env, "pix2pix_elementwise.normForward: sizes");
  float *x, *y, *mean, *invstd, *gamma, *beta;
  size_t nx, ny, nm, ni;
  if (!f32(env, args.v[0], &x, &nx) || !f32(env, args.v[1], &y, &ny) || !f32(env, args.v[2], &mean, &nm) || !f32(env, args.v[3], &invstd, &ni))
    return nullptr;
  if (static_cast<int64_t>(nx) != A * R * C || ny != nx || static_cast<int64_t>(nm) != A * C || ni != nm)
    return range_error(env, "pix2pix_elementwise.normForward: sizes");
  if (!f32_opt(env, args.v[4], C, &gamma, "pix2pix_elementwise.normForward: gamma size") ||
      !f32_opt(env, args.v[5], C, &beta, "pix2pix_elementwise.normForward: beta size"))
    return nullptr;
  ew::norm_forward(x, y, mean, invstd, gamma, beta, A, R, C, static_cast<float>(eps));
  return undefined_value(env);
}

// normBackward(dy, x, gamma, dx, dgamma, dbeta, A, R, C, eps); gamma, dgamma, dbeta may be empty (none).
napi_value norm_backward(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 10)) return nullptr;
  int64_t A, R, C;
  double eps;
  if (!i64(env, args.v[6], &A) || !i64(env, args.v[7], &R) || !i64(env, args.v[8], &C) || !f64(env, args.v[9], &eps)) return nullptr;
  if (A < 1 || R < 1 || C < 1) return range_error(env, "pix2pix_elementwise.normBackward: sizes");
  float *dy, *x, *gamma, *dx, *dgamma, *dbeta;
  size_t ndy, nx, ndx;
  if (!f32(env, args.v[0], &dy, &ndy) || !f32(env, args.v[1], &x, &nx) || !f32(env, args.v[3], &dx, &ndx)) return nullptr;
  if (static_cast<int64_t>(nx) != A * R * C || ndy != nx || ndx != nx) return range_error(env, "pix2pix_elementwise.normBackward: sizes");
  if (!f32_opt(env, args.v[2], C, &gamma, "pix2pix_elementwise.normBackward: gamma size") ||
      !f32_opt(env, args.v[4], C, &dgamma, "pix2pix_elementwise.normBackward: dgamma size") ||
      !f32_opt(env, args.v[5], C, &dbeta, "pix2pix_elementwise.normBackward: dbeta size"))
    return nullptr;
  ew::norm_backward(dy, x, gamma, dx, dgamma, dbeta, A, R, C, static_cast<float>(eps));
  return undefined_value(env);
}

// sigmoidCrossEntropy(logits, real) -> the mean loss (a number).
napi_value sigmoid_ce(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 2)) return nullptr;
  float* l;
  size_t n;
  bool real;
  if (!f32(env, args.v[0], &l, &n)) return nullptr;
  if (napi_get_value_bool(env, args.v[1], &real) != napi_ok) return range_error(env, "pix2pix_elementwise.sigmoidCrossEntropy: real must be a boolean");
  if (n == 0) return range_error(env, "pix2pix_elementwise.sigmoidCrossEntropy: no logits");
  napi_value r;
  napi_create_double(env, ew::sigmoid_ce_mean(l, static_cast<int64_t>(n), real), &r);
  return r;
}

// sigmoidCrossEntropyGrad(logits, real, dy, dlogits)
napi_value sigmoid_ce_grad(napi_env env, napi_callback_info info) {
  Args args;
  if (!get_args(env, info, &args, 4)) return nullptr;
  float *l, *dl;
  size_t n, nd;
  bool real;
  double dy;
  if (!f32(env, args.v[0], &l, &n) || !f64(env, args.v[2], &dy) || !f32(env, args.v[3], &dl, &nd)) return nullptr;
  if (napi_get_value_bool(env, args.v[1], &real) != napi_ok) return range_error(env, "pix2pix_elementwise.sigmoidCrossEntropyGrad: real must be a boolean");
  if (n == 0 || nd != n) return range_error(env, "pix2pix_elementwise.sigmoidCrossEntropyGrad: sizes");
  ew::sigmoid_ce_grad(l, static_cast<int64_t>(n), real, static_cast<float>(dy), dl);
  return undefined_value(env);
}

// tuneMalloc() -> whether it applied. Keeps freed memory in glibc's heap for
// reuse instead of handing it back to the kernel: no mmap for big blocks, no
// trimming. A training step allocates and frees the same ~1 GB every step
// (fresh tensors for every output, Adam's included); returned to the kernel
// and mapped again, each page of it costs a fault and a zeroing — measured
// ~150k faults and 0.1-0.5 s of system time per 256x256 step, against
// almost none with this. The price: the process keeps its peak heap.
napi_value tune_malloc(napi_env env, napi_callback_info) {
  bool ok = false;
#if defined(__GLIBC__)
  ok = mallopt(M_MMAP_MAX, 0) == 1;
  ok = mallopt(M_TRIM_THRESHOLD, -1) == 1 && ok;
#endif
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}

}  // namespace

void export_resize_functions(napi_env env, napi_value exports);  // resize.cc
void export_jpeg_functions(napi_env env, napi_value exports);    // jpeg.cc

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "threads", threads);
  export_function(env, exports, "binary", binary);
  export_function(env, exports, "unary", unary);
  export_function(env, exports, "select", select);
  export_function(env, exports, "activationGrad", activation_grad);
  export_function(env, exports, "reduce", reduce);
  export_function(env, exports, "copy2d", copy2d);
  export_function(env, exports, "adam", adam);
  export_function(env, exports, "sumSquares", sum_squares);
  export_function(env, exports, "normForward", norm_forward);
  export_function(env, exports, "normBackward", norm_backward);
  export_function(env, exports, "sigmoidCrossEntropy", sigmoid_ce);
  export_function(env, exports, "sigmoidCrossEntropyGrad", sigmoid_ce_grad);
  export_function(env, exports, "tuneMalloc", tune_malloc);
  export_resize_functions(env, exports);
  export_jpeg_functions(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
