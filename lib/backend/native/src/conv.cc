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
// release(), blas().
#include <cblas.h>
#include <omp.h>

#include <cctype>
#include <cstring>
#include <string>

#include "common.h"
#include "conv_engines.h"

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

// The engine auto picks: two tables, measured per layer on the pix2pix
// steps at 64x64 (unet64 ngf 32, ndf 32), 128x128 and 256x256 (ngf, ndf 64).
// P is the number of output positions. oneDNN's weight reorder
// (ENGINE_DNNL_WEIGHTS) costs ~ K*co per call and pays off with enough
// positions; the deep layers (1-64 positions) are bound by streaming the
// weights. Differences under ~15% are within these machines' noise.
//
// Layers of up to this many output positions go to the stream engine (the
// tables below say which ops); 0 turns it off (tune(), for A/B runs).
int64_t stream_max_positions = 4;

// TABLE_BLAS: where OpenBLAS runs AVX-512 kernels as well as oneDNN (an
// Intel Xeon, 256x256 step; numbers in kernels/conv.ts): the sgemm engines
// win the mid-sized layers.
ConvEngine choose_blas(ConvOp op, int64_t P, const ConvGeom& g) {
  // One position: read the filter once, skipping the taps that only see
  // padding (measured on the AMD table below, where it wins every op; here
  // it reads 4 to 16x fewer filter bytes than the engines it replaces).
  if (P == 1 && stream_max_positions >= 1) return ENGINE_STREAM;
  switch (op) {
    case OP_FORWARD:
      if (P < 256) return ENGINE_DNNL;
      return P < 900 ? ENGINE_GEMM : ENGINE_DNNL_WEIGHTS;
    case OP_BACKWARD_INPUT:
      if (P <= 4) return ENGINE_DNNL;
      // Blocked layouts pad channels to 16: not for 1-3 channel images.
      if (P >= 1024 && g.ci >= 4 && g.ci <= 128) return ENGINE_DNNL_WEIGHTS;
      return ENGINE_GEMM;
    case OP_BACKWARD_FILTER:
    default:
      return P <= 1024 ? ENGINE_DNNL : ENGINE_GEMM_SPLIT;
  }
}

// TABLE_DNNL: where oneDNN runs AVX-512 kernels and OpenBLAS does not (an
// AMD EPYC Zen 5, whose core OpenBLAS 0.3.21 does not know: it runs its
// Haswell AVX2 kernels, at half oneDNN's width). oneDNN wins nearly every
// layer there; the sgemm engines keep the single-position layers (a GEMV)
// and the input gradient of the deep 16-64-position layers. Per-op sums
// over the 256x256 step's convolutions (warm, ms; test/bench/conv-engines.ts):
// forward 104 -> 95, input gradient 152 -> 110, filter gradient 109 -> 96.
// The stream engine takes the 1-4 position layers, whose filters come from
// memory in a step (conv-engines.ts --cold, ms, auto before -> stream):
// 128x128's innermost 2x2 -> 1x1 (512 channels) forward 0.71 -> 0.12, input
// gradient 0.53 -> 0.14, filter gradient 1.87 -> 0.70; its 4x4 -> 2x2
// forward 2.78 -> 2.02, input gradient 1.91 -> 1.44. oneDNN keeps the 4x4
// -> 2x2 filter gradients (0.83-0.97 and 2.30-2.40 against stream's 1.02
// and 3.06).
ConvEngine choose_dnnl(ConvOp op, int64_t P, const ConvGeom& g) {
  if (P == 1) return stream_max_positions >= 1 ? ENGINE_STREAM : ENGINE_GEMM;
  switch (op) {
    case OP_FORWARD:
      if (P >= 256 || (P >= 32 && g.ci <= 256)) return ENGINE_DNNL_WEIGHTS;
      return P <= stream_max_positions ? ENGINE_STREAM : ENGINE_DNNL;
    case OP_BACKWARD_INPUT:
      if (P <= stream_max_positions) return ENGINE_STREAM;
      if (P <= 4 || P >= 196 || g.ci <= 128) return ENGINE_DNNL;
      return ENGINE_GEMM;
    case OP_BACKWARD_FILTER:
    default:
      if (P > 1024 || (P >= 32 && g.ci <= 64)) return ENGINE_DNNL_WEIGHTS;
      return ENGINE_DNNL;
  }
}

// TABLE_AVX2: where neither library has AVX-512 (an AMD EPYC Zen 3: oneDNN
// runs its AVX2 kernels, OpenBLAS its Zen = Haswell ones). Measured cold, as
// in a step (conv-engines.ts --cold; per-op sums of the step's convolutions,
// ms, TABLE_BLAS's picks -> this table's, from the same run): 64x64 (ngf,
// ndf 32) forward 9.9 -> 8.2, input gradient 9.5 -> 9.5, filter gradient
// 9.0 -> 7.4; 128x128 75.4 -> 61.4, 61.7 -> 58.6, 54.3 -> 50.1; 256x256
// 220.5 -> 200.6, 223.1 -> 199.9, 179.1 -> 164.5. Steps (ab-step.ts --switch
// table --settings 1,3): 64x64 49.0 -> 43.6 ms, 128x128 312 -> 300, 256x256
// within the noise (871 -> 888, 983 -> 931). oneDNN's direct forward is slow
// here (up to 3x sgemm on the deep 128x128 and 256x256 layers); the stream
// engine wins the 1-4 position layers but the biggest filter's gradient;
// oneDNN keeps the input and filter gradients of the deep 16-64 position
// layers, where sgemm's packing does not pay.
ConvEngine choose_avx2(ConvOp op, int64_t P, const ConvGeom& g) {
  const bool stream = P <= stream_max_positions;
  switch (op) {
    case OP_FORWARD:
      if (g.ci <= 8 || P >= 4096) return ENGINE_DNNL_WEIGHTS;
      return stream ? ENGINE_STREAM : ENGINE_GEMM;
    case OP_BACKWARD_INPUT:
      if (stream) return ENGINE_STREAM;
      return P <= 64 && g.ci > 8 ? ENGINE_DNNL : ENGINE_GEMM;
    case OP_BACKWARD_FILTER:
    default:
      if (stream && (P == 1 || w_size(g) <= (int64_t(4) << 20))) return ENGINE_STREAM;
      if (P <= 16 || (P <= 64 && g.ci >= 128)) return ENGINE_DNNL;
      return P > 1024 ? ENGINE_GEMM_SPLIT : ENGINE_GEMM;
  }
}

enum ConvTable { TABLE_DETECT = 0, TABLE_BLAS = 1, TABLE_DNNL = 2, TABLE_AVX2 = 3 };

// TABLE_DNNL where oneDNN is AVX-512 and OpenBLAS's core is not (the
// OPENBLAS_CORETYPE environment variable, or OpenBLAS's own detection);
// TABLE_AVX2 where oneDNN is not AVX-512 either.
ConvTable detect_table() {
  if (!dnnl_avx512()) return TABLE_AVX2;
  std::string core = openblas_get_corename();
  for (char& c : core) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const bool blas512 = core == "skylakex" || core == "cooperlake" || core == "sapphirerapids";
  return blas512 ? TABLE_BLAS : TABLE_DNNL;
}

ConvTable table = TABLE_DETECT;

ConvEngine choose(ConvOp op, const ConvGeom& g) {
  const int64_t P = conv_positions(g);
  if (g.co == 1) return ENGINE_GEMM;                      // direct loops
  if (2 * P * conv_kc(g) * g.co < (1 << 21)) return ENGINE_GEMM;  // tiny: mostly serial, no primitive to create
  if (table == TABLE_DETECT) table = detect_table();
  if (table == TABLE_AVX2) return choose_avx2(op, P, g);
  return table == TABLE_DNNL ? choose_dnnl(op, P, g) : choose_blas(op, P, g);
}

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

int run(ConvOp op, ConvEngine engine, const ConvGeom& g, const float* a, const float* b, float* out) {
  const double flops = 2.0 * conv_positions(g) * conv_kc(g) * g.co;
  const Threads threads(flops < double(single_thread_below) ? 1 : omp_get_max_threads());
  if (engine == ENGINE_AUTO) engine = choose(op, g);
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

napi_value call(napi_env env, napi_callback_info info, ConvOp op) {
  size_t argc = 5;
  napi_value argv[5];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  F32 a, b, out;
  ConvGeom g;
  int64_t engine = 0;
  if (argc < 4 || !get_f32(env, argv[0], &a) || !get_f32(env, argv[1], &b) || !get_f32(env, argv[2], &out) ||
      !get_geom(env, argv[3], &g) || (argc > 4 && !get_i64(env, argv[4], &engine)) || engine < 0 ||
      engine > ENGINE_STREAM) {
    napi_throw_type_error(env, nullptr, "pix2pix_conv: expected (Float32Array, Float32Array, Float32Array, Int32Array(13) geometry, engine 0-6)");
    return nullptr;
  }
  const int64_t sizes[3][3] = {{x_size(g), w_size(g), y_size(g)},
                               {y_size(g), w_size(g), x_size(g)},
                               {x_size(g), y_size(g), w_size(g)}};
  const int64_t* want = sizes[op];
  if (int64_t(a.length) != want[0] || int64_t(b.length) != want[1] || int64_t(out.length) != want[2]) {
    napi_throw_range_error(env, nullptr, "pix2pix_conv: array sizes do not match the geometry");
    return nullptr;
  }
  if (out.length * sizeof(float) >= (size_t(4) << 20)) advise_huge_pages(out.data, out.length * sizeof(float));
  const int used = run(op, static_cast<ConvEngine>(engine), g, a.data, b.data, out.data);
  napi_value r;
  NAPI_CALL(env, napi_create_int32(env, used, &r));
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
  size_t argc = 6;
  napi_value argv[6];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr));
  int64_t v[6] = {0, 0, 0, 0, 0, 0};
  for (size_t i = 0; i < argc && i < 3; i++) get_i64(env, argv[i], &v[i]);
  int64_t previous[6];
  gemm_tune(v[0], v[1], v[2], previous);
  previous[3] = single_thread_below;
  if (argc > 3 && get_i64(env, argv[3], &v[3]) && v[3] > 0) single_thread_below = v[3];
  if (table == TABLE_DETECT) table = detect_table();
  previous[4] = table;
  if (argc > 4 && get_i64(env, argv[4], &v[4]) && (v[4] >= TABLE_BLAS && v[4] <= TABLE_AVX2)) table = static_cast<ConvTable>(v[4]);
  previous[5] = stream_max_positions;
  if (argc > 5 && get_i64(env, argv[5], &v[5]) && v[5] != 0) stream_max_positions = v[5] < 0 ? 0 : v[5];
  napi_value r;
  NAPI_CALL(env, napi_create_array_with_length(env, 6, &r));
  for (uint32_t i = 0; i < 6; i++) {
    napi_value e;
    NAPI_CALL(env, napi_create_int64(env, previous[i], &e));
    NAPI_CALL(env, napi_set_element(env, r, i, e));
  }
  return r;
}

napi_value release(napi_env env, napi_callback_info) {
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
  export_function(env, exports, "threads", threads);
  export_function(env, exports, "conv2d", conv2d);
  export_function(env, exports, "conv2dBackpropInput", conv2d_backprop_input);
  export_function(env, exports, "conv2dBackpropFilter", conv2d_backprop_filter);
  export_function(env, exports, "impl", impl);
  export_function(env, exports, "tune", tune);
  export_function(env, exports, "release", release);
  export_function(env, exports, "blas", blas);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
