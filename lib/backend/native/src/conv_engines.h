// The convolution engines behind the conv module (conv.cc): im2col + OpenBLAS
// sgemm (conv_gemm.cc), oneDNN primitives (conv_dnnl.cc) and one pass over
// the filter for layers of few positions (conv_stream.cc).
//
// Layouts are tf.js's: activations NHWC, filters [kh, kw, inC, outC] (HWIO).
// Every function gets the geometry of the *forward* convolution x -> y
// (dilation 1): the input gradient has x's shape, the filter gradient the
// filter's. Paddings are the top/left ones; bottom/right follow from oh/ow.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

struct ConvGeom {
  int64_t n, h, w, ci;   // input x
  int64_t oh, ow, co;    // output y
  int64_t kh, kw;        // filter
  int64_t sh, sw;        // strides
  int64_t pt, pl;        // top and left padding
};

enum ConvOp { OP_FORWARD = 0, OP_BACKWARD_INPUT = 1, OP_BACKWARD_FILTER = 2 };

// Engines (the numbers are the JS API's).
enum ConvEngine {
  ENGINE_AUTO = 0,
  ENGINE_GEMM = 1,          // im2col/col2im in chunks over all threads, one threaded sgemm per chunk
  ENGINE_GEMM_SPLIT = 2,    // positions split between threads, each with cache-sized tiles and serial sgemm
  ENGINE_DNNL = 3,          // oneDNN on the tensors as they are (nhwc, hwio)
  ENGINE_DNNL_WEIGHTS = 4,  // oneDNN choosing its weights layout (weights reordered every call)
  ENGINE_DNNL_ANY = 5,      // oneDNN choosing every layout (everything reordered every call)
  ENGINE_STREAM = 6,        // the filter read once, in order (few output positions)
};

inline bool is_dnnl(int64_t engine) { return engine >= ENGINE_DNNL && engine <= ENGINE_DNNL_ANY; }

// Asks for transparent huge pages on the 2 MiB-aligned part of [p, p+bytes)
// (with THP in 'madvise' mode, fresh big arrays otherwise take one page
// fault per 4 KiB on first write). No-op for small ranges.
void advise_huge_pages(void* p, size_t bytes);

inline int64_t conv_kc(const ConvGeom& g) { return g.kh * g.kw * g.ci; }
inline int64_t conv_positions(const ConvGeom& g) { return g.n * g.oh * g.ow; }
// Where auto always takes sgemm's engine: its direct loops (one output
// channel), or too few FLOPs (~2M) to be worth a primitive.
inline bool conv_tiny(const ConvGeom& g) { return g.co == 1 || 2 * conv_positions(g) * conv_kc(g) * g.co < (1 << 21); }

// im2col + sgemm: always succeeds. split selects ENGINE_GEMM_SPLIT.
void gemm_forward(const ConvGeom& g, const float* x, const float* w, float* y, bool split);
void gemm_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
void gemm_backward_filter(const ConvGeom& g, const float* x, const float* dy, float* dw, bool split);
// Tunables (floats): the column buffer of one chunk (ENGINE_GEMM) and of one
// thread's tile (ENGINE_GEMM_SPLIT), and the fewest positions of a tile.
// 0 leaves a value as it is. previous receives the values before.
void gemm_tune(int64_t chunk_floats, int64_t tile_floats, int64_t tile_min_positions, int64_t previous[3]);
void gemm_release();

// One pass over the filter rows (every geometry; fast where positions are few).
void stream_forward(const ConvGeom& g, const float* x, const float* w, float* y);
void stream_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx);
void stream_backward_filter(const ConvGeom& g, const float* x, const float* dy, float* dw);

// oneDNN: false when oneDNN cannot do this geometry (or would only run its
// slow reference implementation); nothing is written then.
bool dnnl_run(ConvOp op, ConvEngine variant, const ConvGeom& g, const float* a, const float* b, float* out);
// The implementation oneDNN picks ("" when none / unusable).
std::string dnnl_impl(ConvOp op, ConvEngine variant, const ConvGeom& g);
void dnnl_release();
// Whether oneDNN runs AVX-512 kernels on this CPU.
bool dnnl_avx512();

// The engine table of 'auto' (conv_table.cc): detected at first use.
enum ConvTable { TABLE_DETECT = 0, TABLE_BLAS = 1, TABLE_DNNL = 2, TABLE_AVX2 = 3 };
ConvEngine choose(ConvOp op, const ConvGeom& g);
ConvTable conv_table();
void set_conv_table(ConvTable t);
// The most output positions auto sends to the stream engine (0: none).
extern int64_t stream_max_positions;

// The worker (conv_async.cc): jobs run in order on one thread of their own.
// A job returns false if it failed and may report a number (NaN if it does
// not). submit returns the job's id (1, 2, ...); wait blocks until that job
// and every one before it ran (running shared ones itself), and is false
// once any job has failed (it stays false); result gives a finished job's
// number while the last 4096 jobs include it.
int64_t async_submit(std::function<bool(double*)> job);
bool async_wait(int64_t id);
bool async_result(int64_t id, double* value);
bool async_idle();
int64_t async_backlog();  // jobs submitted and not started
double async_busy_seconds();  // the worker's time in jobs so far
int64_t async_helped();  // shared jobs waiting threads ran so far
// From a JavaScript thread: submit with that thread's OpenMP regions on one
// thread until async_settle finds the worker idle (or async_drain waits for
// it), and the id of its last job. A shared job is one a thread waiting for
// it may run itself, before jobs queued ahead of it: its arithmetic must not
// depend on the thread, and it must read nothing a job ahead writes and
// write nothing a job ahead reads (Adam's pieces: kernels/adam.ts reads its
// inputs once their writers are done and updates in place only arrays no
// queued job touches).
int64_t async_submit_lowered(std::function<bool(double*)> job, bool shared = false);
int64_t async_last_submitted();
void async_settle();
bool async_drain();
// Elements per piece of a queued Adam update (conv_async_api.cc; 0: whole).
extern int64_t adam_piece;
// In double, on the calling thread's team (a job's report of what it wrote).
double sum_of_squares(const float* x, int64_t n);
