// The worker's JavaScript API besides conv2dBackpropFilterAsync (conv.cc):
//   addAsync(a, b, out) -> id          out = a + b, after the jobs before it
//   adamAsync(p, g, m, v, pOut, mOut, vOut, b1, c1, b2, c2, sb2, eps, step) -> id
//                                      one tensor's Adam update (ew_kernels.h), in
//                                      pieces: id is the last one's
//   wait(id)                           returns once job id and every one before it ran
//   jobSum(id)                         a finished filter-gradient or add job's sum of squares
//   sumOfSquares(x)                    x's sum of squares now, the same double a job reports
//   busySeconds()                      the worker's time in jobs so far (for profiles)
//   helpedJobs()                       shared jobs (Adam's pieces) waiting threads ran so far
// The arrays of a job must stay untouched (outputs unread, inputs unwritten)
// until wait(id) returns: lib/backend/native/pending.ts sees to it.
#include <omp.h>

#include <algorithm>

#include "common.h"
#include "conv_engines.h"
#include "ew_kernels.h"

// The elements of one piece of a queued Adam update (a multiple of 64); 0:
// one job per tensor that only the worker runs (tune, for A/B runs). In a
// 64x64 step of the examples' nets the next forward pass caught up with the
// worker's update of G (7.3M parameters, ~5 ms) and waited ~1.7 ms for it.
int64_t adam_piece = int64_t(1) << 17;

namespace {

napi_value job_id(napi_env env, int64_t id) {
  napi_value r;
  NAPI_CALL(env, napi_create_int64(env, id, &r));
  return r;
}

// A gradient summed over two uses of a filter, whose terms the worker is computing.
napi_value add_async(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  F32 a, b, out;
  if (argc < 3 || !get_f32(env, argv[0], &a) || !get_f32(env, argv[1], &b) || !get_f32(env, argv[2], &out) ||
      a.length != out.length || b.length != out.length) {
    napi_throw_type_error(env, nullptr, "pix2pix_conv.addAsync: expected three Float32Arrays of one length");
    return nullptr;
  }
  const int64_t id = async_submit_lowered([x = a.data, y = b.data, o = out.data, n = out.length](double* sum) {
    for (size_t i = 0; i < n; i++) o[i] = x[i] + y[i];
    *sum = sum_of_squares(o, int64_t(n));
    return true;
  });
  return job_id(env, id);
}

// The same kernel as the element-wise module's adam (ew_kernels.cc, built
// into both modules): each element computed alone, so the same bits on the
// worker's one thread as on the caller's team.
napi_value adam_async(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  F32 arrays[7];
  double k[7];
  bool ok = argc == 14;
  for (int i = 0; ok && i < 7; i++) ok = get_f32(env, argv[i], &arrays[i]) && arrays[i].length == arrays[0].length;
  for (int i = 0; ok && i < 7; i++) ok = get_f64(env, argv[7 + i], &k[i]);
  if (!ok) {
    napi_throw_type_error(env, nullptr, "pix2pix_conv.adamAsync: expected (p, g, m, v, pOut, mOut, vOut) Float32Arrays of one length and 7 numbers");
    return nullptr;
  }
  const ew::AdamConsts c{float(k[0]), float(k[1]), float(k[2]), float(k[3]), float(k[4]), float(k[5]), float(k[6])};
  // In pieces a waiting thread may take (async_wait; adam_piece is a whole
  // number of vectors, so every element meets the same arithmetic as in one
  // call), or whole and the worker's alone (adam_piece 0).
  const int64_t n = int64_t(arrays[0].length);
  const int64_t piece = adam_piece > 0 ? adam_piece : std::max<int64_t>(n, 1);
  int64_t id = 0;
  for (int64_t at = 0; at < n || at == 0; at += piece) {
    float* a[7];
    for (int i = 0; i < 7; i++) a[i] = arrays[i].data + at;
    const ew::AdamTensor t{a[0], a[1], a[2], a[3], a[4], a[5], a[6], std::min(piece, n - at)};
    id = async_submit_lowered(
        [c, t](double*) {
          ew::adam_f32(c, &t, 1);
          return true;
        },
        adam_piece > 0);
  }
  return job_id(env, id);
}

// jobSum(id): the sum of squares of what a finished filter-gradient or add
// job wrote, or undefined when it is not known (any more).
napi_value job_sum(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int64_t id = 0;
  double value = 0;
  if (argc < 1 || !get_i64(env, argv[0], &id) || !async_result(id, &value) || value != value) return undefined_value(env);
  napi_value r;
  NAPI_CALL(env, napi_create_double(env, value, &r));
  return r;
}

// sumOfSquares(x): what a job that wrote x would report as its sum (for a
// gradient computed in line, summed while it is still in cache).
napi_value sum_of_squares_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  F32 x;
  if (argc < 1 || !get_f32(env, argv[0], &x)) {
    napi_throw_type_error(env, nullptr, "pix2pix_conv.sumOfSquares: expected a Float32Array");
    return nullptr;
  }
  napi_value r;
  NAPI_CALL(env, napi_create_double(env, sum_of_squares(x.data, int64_t(x.length)), &r));
  return r;
}

napi_value wait(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int64_t id = 0;
  if (argc < 1 || !get_i64(env, argv[0], &id) || id < 0 || id > async_last_submitted()) {
    napi_throw_type_error(env, nullptr, "pix2pix_conv.wait: expected the id of a submitted job");
    return nullptr;
  }
  const bool ok = id == 0 || async_wait(id);
  async_settle();
  if (!ok) {
    napi_throw_error(env, nullptr, "pix2pix_conv: a job failed on the worker thread (out of memory?); its outputs are not valid");
    return nullptr;
  }
  return undefined_value(env);
}

napi_value busy_seconds(napi_env env, napi_callback_info) {
  napi_value r;
  NAPI_CALL(env, napi_create_double(env, async_busy_seconds(), &r));
  return r;
}

napi_value helped_jobs(napi_env env, napi_callback_info) {
  napi_value r;
  NAPI_CALL(env, napi_create_int64(env, async_helped(), &r));
  return r;
}

}  // namespace

void export_async_functions(napi_env env, napi_value exports) {
  export_function(env, exports, "addAsync", add_async);
  export_function(env, exports, "adamAsync", adam_async);
  export_function(env, exports, "jobSum", job_sum);
  export_function(env, exports, "sumOfSquares", sum_of_squares_now);
  export_function(env, exports, "wait", wait);
  export_function(env, exports, "busySeconds", busy_seconds);
  export_function(env, exports, "helpedJobs", helped_jobs);
}
