// The convolution module: forward, input gradient and filter gradient of an
// NHWC conv2d with an HWIO filter (tf.js's layouts), multi-threaded.
//
// JS API (all arrays are used in place, no copies):
//   conv2d(x, w, y, geom, engine)                  y  = conv(x, w)
//   conv2dBackpropInput(dy, w, dx, geom, engine)   dx = conv^T(dy, w)
//   conv2dBackpropFilter(x, dy, dw, geom, engine)  dw = x (*) dy
// geom: Int32Array [n, h, w, ci, oh, ow, co, kh, kw, sh, sw, padTop, padLeft]
// of the forward convolution; engine: a ConvEngine (0 = auto). Each returns
// the engine that ran. Also: impl(op, geom, engine) -> oneDNN's
// implementation name, tune(chunk, tile, tileMin, singleThreadBelow, table,
// streamPositions) -> the previous values (table: 1 = TABLE_BLAS, 2 =
// TABLE_DNNL, 3 = TABLE_AVX2; streamPositions: -1 turns the stream engine off in auto),
// release(), blas(). The worker thread (conv_async.cc):
//   conv2dBackpropFilterAsync(x, dy, dw, geom, engine) -> a job id, or 0 if done in line
// and, in conv_async_api.cc, addAsync, adamAsync, jobSum, wait.
#include <cblas.h>
#include <omp.h>

#include <cstring>
#include <string>

#include "common.h"
#include "conv_engines.h"

// conv_async_api.cc: addAsync, adamAsync, wait.
void export_async_functions(napi_env env, napi_value exports);

namespace {

bool get_geom(napi_env env, napi_value v, ConvGeom* g) {
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset) != napi_ok) return false;
  if (type != napi_int32_array || length != 13) return false;
  const int32_t* d = static_cast<const int32_t*>(data);
  *g = {d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12]};
  const bool positive = g->n > 0 && g->h > 0 && g->w > 0 && g->ci > 0 && g->oh > 0 && g->ow > 0 && g->co > 0 &&
                        g->kh > 0 && g->kw > 0 && g->sh > 0 && g->sw > 0;
  return positive && g->pt >= 0 && g->pl >= 0;
}

int64_t x_size(const ConvGeom& g) { return g.n * g.h * g.w * g.ci; }
int64_t y_size(const ConvGeom& g) { return g.n * g.oh * g.ow * g.co; }
int64_t w_size(const ConvGeom& g) { return g.kh * g.kw * g.ci * g.co; }

// Convolutions of fewer FLOPs than this (~134M) run on the calling thread
// alone. Waking and joining a second OpenMP thread costs more than it saves
// below it: under KVM a sleeping vCPU takes ~0.1 ms to wake, and at 64x64
// every layer of the paper's step was faster on one thread than on two, even
// with the second one spinning. Steps of the paper's nets on 2 cores, in
// one process, settings interleaved (test/bench/ab-step.ts,
// docs/performance.md): 64x64 52.6 -> 43.9 ms; at 128x128 and 256x256
// within noise (706 -> 634 ms on one run, 497 -> 518 and 503 -> 502 later).
int64_t single_thread_below = int64_t(1) << 27;

// Sets OpenMP's thread count for the scope (OpenBLAS and oneDNN read it per
// call; oneDNN primitives created inside keep it, and they are cached per
// geometry, which decides the count).
class Threads {
 public:
  explicit Threads(int n) : previous_(omp_get_max_threads()) {
    if (n != previous_) omp_set_num_threads(n);
  }
  ~Threads() {
    if (omp_get_max_threads() != previous_) omp_set_num_threads(previous_);
  }
  Threads(const Threads&) = delete;
  Threads& operator=(const Threads&) = delete;

 private:
  int previous_;
};

double flops_of(const ConvGeom& g) { return 2.0 * conv_positions(g) * conv_kc(g) * g.co; }

// Runs an engine on the calling thread with its OpenMP thread count.
int execute(ConvOp op, ConvEngine engine, const ConvGeom& g, const float* a, const float* b, float* out) {
  if (engine == ENGINE_STREAM) {
    if (op == OP_FORWARD) stream_forward(g, a, b, out);
    else if (op == OP_BACKWARD_INPUT) stream_backward_input(g, a, b, out);
    else stream_backward_filter(g, a, b, out);
    return engine;
  }
  if (is_dnnl(engine)) {
    if (dnnl_run(op, engine, g, a, b, out)) return engine;
    engine = ENGINE_GEMM;
  }
  const bool split = engine == ENGINE_GEMM_SPLIT;
  if (op == OP_FORWARD) gemm_forward(g, a, b, out, split);
  else if (op == OP_BACKWARD_INPUT) gemm_backward_input(g, a, b, out);
  else gemm_backward_filter(g, a, b, out, split);
  return op == OP_BACKWARD_INPUT ? ENGINE_GEMM : engine;
}

int run(ConvOp op, ConvEngine engine, const ConvGeom& g, const float* a, const float* b, float* out) {
  const bool big = flops_of(g) >= double(single_thread_below);
  if (big) async_drain();
  else async_settle();
  const Threads threads(big ? omp_get_max_threads() : 1);
  return execute(op, engine == ENGINE_AUTO ? choose(op, g) : engine, g, a, b, out);
}

// A filter gradient as the worker computes it: engine e on one thread (a
// geometry oneDNN turns down still gets its gradient: the stream engine does
// every one). The calling thread runs the same where the worker is behind,
// so a gradient's bits do not depend on which thread computed it.
void worker_filter_gradient(ConvEngine e, const ConvGeom& g, const float* x, const float* dy, float* dw) {
  if (e == ENGINE_STREAM || !dnnl_run(OP_BACKWARD_FILTER, e, g, x, dy, dw)) stream_backward_filter(g, x, dy, dw);
}

// How many waiting jobs make the calling thread compute a filter gradient
// itself (tune: -1 never, -2 always). At 64x64 the worker falls behind in
// the backward pass (a filter gradient costs about what the input gradient
// does, and it also has the sums); with one waiting, the gradient that would
// queue behind it is done here, and the wait for the worker's last ones at
// the end of the pass shrinks: 44.3 -> 42.0 ms a step (test/bench/ab-step.ts
// --switch backlog).
constexpr int64_t kNever = int64_t(1) << 40;
int64_t backlog_max = 1;

// Hands a filter gradient to the worker: its id; -1 where the calling thread
// computed it the worker's way (the worker has jobs waiting: the gradient
// would come later from there than from here); 0 where it is for the calling
// thread (two threads' worth of work, or an engine the worker does not run).
// The worker never calls OpenBLAS: its OpenMP build resizes buffers it shares
// between callers when their thread counts differ, so auto's sgemm picks
// become oneDNN's there (tiny and one-channel convolutions, sgemm's direct
// loops, stay on the calling thread).
int64_t submit_filter_gradient(ConvEngine engine, const ConvGeom& g, const float* x, const float* dy, float* dw) {
  if (flops_of(g) >= double(single_thread_below)) return 0;
  ConvEngine e = engine == ENGINE_AUTO ? choose(OP_BACKWARD_FILTER, g) : engine;
  if (e == ENGINE_GEMM || e == ENGINE_GEMM_SPLIT) {
    if (engine != ENGINE_AUTO || conv_tiny(g)) return 0;
    e = ENGINE_DNNL;
  }
  if (async_backlog() >= backlog_max) {
    const Threads one(1);
    worker_filter_gradient(e, g, x, dy, dw);
    return -1;
  }
  return async_submit_lowered([g, e, x, dy, dw](double* sum) {
    worker_filter_gradient(e, g, x, dy, dw);
    // Its sum of squares while it is in cache (the step's divergence check sums every gradient's).
    *sum = sum_of_squares(dw, w_size(g));
    return true;
  });
}

// The arguments of a convolution call (a, b, out, geometry, engine), checked.
bool parse(napi_env env, napi_callback_info info, ConvOp op, F32* a, F32* b, F32* out, ConvGeom* g, ConvEngine* engine) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok) return false;
  int64_t e = 0;
  if (argc < 4 || !get_f32(env, argv[0], a) || !get_f32(env, argv[1], b) || !get_f32(env, argv[2], out) ||
      !get_geom(env, argv[3], g) || (argc > 4 && !get_i64(env, argv[4], &e)) || e < 0 || e > ENGINE_STREAM) {
    napi_throw_type_error(env, nullptr, "pix2pix_conv: expected (Float32Array, Float32Array, Float32Array, Int32Array(13) geometry, engine 0-6)");
    return false;
  }
  *engine = static_cast<ConvEngine>(e);
  const int64_t sizes[3][3] = {{x_size(*g), w_size(*g), y_size(*g)},
                               {y_size(*g), w_size(*g), x_size(*g)},
                               {x_size(*g), y_size(*g), w_size(*g)}};
  const int64_t* want = sizes[op];
  if (int64_t(a->length) != want[0] || int64_t(b->length) != want[1] || int64_t(out->length) != want[2]) {
    napi_throw_range_error(env, nullptr, "pix2pix_conv: array sizes do not match the geometry");
    return false;
  }
  if (out->length * sizeof(float) >= (size_t(4) << 20)) advise_huge_pages(out->data, out->length * sizeof(float));
  return true;
}

napi_value call(napi_env env, napi_callback_info info, ConvOp op) {
  F32 a, b, out;
  ConvGeom g;
  ConvEngine engine;
  if (!parse(env, info, op, &a, &b, &out, &g, &engine)) return nullptr;
  const int used = run(op, engine, g, a.data, b.data, out.data);
  napi_value r;
  NAPI_CALL(env, napi_create_int32(env, used, &r));
  return r;
}

// conv2dBackpropFilterAsync(x, dy, dw, geom, engine) -> a job id for wait(),
// or 0 when the gradient was computed before returning. The arrays must stay
// untouched (dw unread, x and dy unwritten) until wait(id) returns.
napi_value conv2d_backprop_filter_async(napi_env env, napi_callback_info info) {
  F32 a, b, out;
  ConvGeom g;
  ConvEngine engine;
  if (!parse(env, info, OP_BACKWARD_FILTER, &a, &b, &out, &g, &engine)) return nullptr;
  int64_t id = submit_filter_gradient(engine, g, a.data, b.data, out.data);
  if (id == 0) run(OP_BACKWARD_FILTER, engine, g, a.data, b.data, out.data);
  if (id < 0) id = 0;
  napi_value r;
  NAPI_CALL(env, napi_create_int64(env, id, &r));
  return r;
}

napi_value conv2d(napi_env env, napi_callback_info info) { return call(env, info, OP_FORWARD); }
napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) { return call(env, info, OP_BACKWARD_INPUT); }
napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) { return call(env, info, OP_BACKWARD_FILTER); }

napi_value impl(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int64_t op = 0, engine = 0;
  ConvGeom g;
  if (argc < 3 || !get_i64(env, argv[0], &op) || op < 0 || op > 2 || !get_geom(env, argv[1], &g) ||
      !get_i64(env, argv[2], &engine) || engine < 0 || engine > ENGINE_STREAM) {
    napi_throw_type_error(env, nullptr, "pix2pix_conv.impl: expected (op 0-2, Int32Array(13) geometry, engine 0-6)");
    return nullptr;
  }
  ConvEngine e = static_cast<ConvEngine>(engine);
  if (e == ENGINE_AUTO) e = choose(static_cast<ConvOp>(op), g);
  std::string s = is_dnnl(e) ? "dnnl:" + dnnl_impl(static_cast<ConvOp>(op), e, g)
                             : (e == ENGINE_STREAM ? "stream" : e == ENGINE_GEMM_SPLIT ? "gemm-split" : "gemm");
  napi_value r;
  NAPI_CALL(env, napi_create_string_utf8(env, s.c_str(), s.size(), &r));
  return r;
}

napi_value tune(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int64_t v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < argc && i < 3; i++) get_i64(env, argv[i], &v[i]);
  int64_t previous[8];
  gemm_tune(v[0], v[1], v[2], previous);
  previous[3] = single_thread_below;
  if (argc > 3 && get_i64(env, argv[3], &v[3]) && v[3] > 0) single_thread_below = v[3];
  previous[4] = conv_table();
  if (argc > 4 && get_i64(env, argv[4], &v[4]) && (v[4] >= TABLE_BLAS && v[4] <= TABLE_AVX2)) set_conv_table(static_cast<ConvTable>(v[4]));
  previous[5] = stream_max_positions;
  if (argc > 5 && get_i64(env, argv[5], &v[5]) && v[5] != 0) stream_max_positions = v[5] < 0 ? 0 : v[5];
  previous[6] = backlog_max >= kNever ? -1 : backlog_max == 0 ? -2 : backlog_max;
  if (argc > 6 && get_i64(env, argv[6], &v[6]) && v[6] != 0) backlog_max = v[6] == -1 ? kNever : v[6] < 0 ? 0 : v[6];
  previous[7] = adam_piece > 0 ? adam_piece : -1;
  if (argc > 7 && get_i64(env, argv[7], &v[7]) && v[7] != 0) adam_piece = v[7] < 0 ? 0 : (v[7] + 63) / 64 * 64;
  napi_value r;
  NAPI_CALL(env, napi_create_array_with_length(env, 8, &r));
  for (uint32_t i = 0; i < 8; i++) {
    napi_value e;
    NAPI_CALL(env, napi_create_int64(env, previous[i], &e));
    NAPI_CALL(env, napi_set_element(env, r, i, e));
  }
  return r;
}

napi_value release(napi_env env, napi_callback_info) {
  async_drain();
  gemm_release();
  dnnl_release();
  return undefined_value(env);
}

napi_value blas(napi_env env, napi_callback_info) {
  std::string s = std::string(openblas_get_corename()) + " | " + openblas_get_config();
  napi_value r;
  NAPI_CALL(env, napi_create_string_utf8(env, s.c_str(), s.size(), &r));
  return r;
}

}  // namespace

static napi_value init(napi_env env, napi_value exports) {
  // An environment torn down with jobs queued: they write into its arrays.
  napi_add_env_cleanup_hook(env, [](void*) { async_drain(); }, nullptr);
  export_function(env, exports, "threads", threads);
  export_function(env, exports, "conv2d", conv2d);
  export_function(env, exports, "conv2dBackpropInput", conv2d_backprop_input);
  export_function(env, exports, "conv2dBackpropFilter", conv2d_backprop_filter);
  export_function(env, exports, "conv2dBackpropFilterAsync", conv2d_backprop_filter_async);
  export_async_functions(env, exports);
  export_function(env, exports, "impl", impl);
  export_function(env, exports, "tune", tune);
  export_function(env, exports, "release", release);
  export_function(env, exports, "blas", blas);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
