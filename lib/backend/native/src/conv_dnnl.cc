// oneDNN (2.x) convolution primitives on tf.js's tensors.
//
// Activations are described as nhwc and filters as hwio, so oneDNN reads and
// writes the JavaScript arrays in place. The variants that let oneDNN choose
// a layout ('any') add a reorder per call for each argument whose chosen
// layout differs (weights change every training step, so nothing can be
// reordered once and kept). Primitives (and their reorders and buffers) are
// cached by op, variant and geometry; a geometry oneDNN rejects, or would
// only run with its slow reference implementation, is cached as unusable.
//
// Signals: oneDNN 2.x's jit sgemm (jit_avx512_common_gemm_f32, behind every
// "gemm:jit" convolution, which ENGINE_DNNL always is) points rsp into heap
// memory while it runs, so a signal delivered to a thread inside it writes
// its frame there and corrupts the heap (uxlfoundation/oneDNN#4845, fixed in
// 3.11.2; Debian ships 2.6). SIGINT/SIGTERM to stop a run, SIGCHLD from a
// sweep's workers and a profiler's SIGPROF all did ("corrupted size vs.
// prev_size"). So no signal reaches a thread running it: the OpenMP threads
// block every signal for good, the calling thread for the call (what arrives
// meanwhile is delivered when the call returns).
//
// Threads: the filter-gradient worker (conv_async.cc) runs primitives while
// the main thread runs others, so each thread has its own primitives,
// stream and buffers (thread_local), and every primitive takes its
// scratchpad from its thread's buffer (scratchpad_mode::user): in library
// mode oneDNN 2.x shares one scratchpad between primitives unless built with
// ONEDNN_ENABLE_CONCURRENT_EXEC.
#include "conv_engines.h"

#include <omp.h>
#include <pthread.h>
#include <signal.h>

#include <dnnl.hpp>

#include <array>
#include <cstdlib>
#include <map>
#include <memory>
#include <unordered_map>

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& eng() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}
dnnl::stream& strm() {
  thread_local dnnl::stream s(eng());
  return s;
}

struct Arg {
  int id = 0;           // DNNL_ARG_*
  int slot = 0;         // 0: a, 1: b, 2: out (the JS arguments)
  bool input = true;
  memory::desc user;    // the tf.js layout
  memory::desc chosen;  // the primitive's
  bool reordered = false;
  dnnl::reorder reorder;
};

// The reordered copies live only for one call: one grow-only buffer per
// argument slot, shared by all cached primitives (a buffer per primitive
// would keep a copy of every layer's weights).
struct Buffer {
  void* p = nullptr;
  size_t bytes = 0;
  void* get(size_t want) {
    if (want > bytes) {
      std::free(p);
      const size_t align = size_t(2) << 20;
      p = std::aligned_alloc(align, (want + align - 1) / align * align);
      bytes = p ? want : 0;
      if (p) advise_huge_pages(p, want);
    }
    return p;
  }
};
// Slots 0-2: the arguments' reordered copies; 3: the scratchpad.
thread_local Buffer buffers[4];

struct Entry {
  bool usable = false;
  std::string impl;
  dnnl::primitive prim;
  Arg args[3];
  memory::desc scratchpad;
};

// Primitives keep the thread count they were made with: it is in the key.
using Key = std::array<int64_t, 16>;
thread_local std::map<Key, std::unique_ptr<Entry>> cache;

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

Key key_of(ConvOp op, ConvEngine v, const ConvGeom& g) {
  return {op, v, g.n, g.h, g.w, g.ci, g.oh, g.ow, g.co, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, omp_get_max_threads()};
}

void set_arg(Arg& a, int id, int slot, bool input, const memory::desc& user, const memory::desc& chosen) {
  a.id = id;
  a.slot = slot;
  a.input = input;
  a.user = user;
  a.chosen = chosen;
  a.reordered = user != chosen;
  if (a.reordered) {
    const auto pd = input ? dnnl::reorder::primitive_desc(eng(), user, eng(), chosen, user_scratchpad())
                          : dnnl::reorder::primitive_desc(eng(), chosen, eng(), user, user_scratchpad());
    // Plain layout changes need none; one that did would need its own buffer.
    if (pd.scratchpad_desc().get_size() != 0) throw dnnl::error(dnnl_unimplemented, "reorder with a scratchpad");
    a.reorder = dnnl::reorder(pd);
  }
}

std::unique_ptr<Entry> build(ConvOp op, ConvEngine v, const ConvGeom& g) {
  auto e = std::make_unique<Entry>();
  const memory::dims S{g.n, g.ci, g.h, g.w}, W{g.co, g.ci, g.kh, g.kw}, D{g.n, g.co, g.oh, g.ow};
  const memory::dims strides{g.sh, g.sw}, padL{g.pt, g.pl};
  const memory::dims padR{(g.oh - 1) * g.sh + g.kh - g.h - g.pt, (g.ow - 1) * g.sw + g.kw - g.w - g.pl};
  const memory::desc srcU(S, dt::f32, tag::nhwc), wU(W, dt::f32, tag::hwio), dstU(D, dt::f32, tag::nhwc);
  const bool anyW = v == ENGINE_DNNL_WEIGHTS || v == ENGINE_DNNL_ANY, anyA = v == ENGINE_DNNL_ANY;
  const memory::desc srcP = anyA ? memory::desc(S, dt::f32, tag::any) : srcU;
  const memory::desc dstP = anyA ? memory::desc(D, dt::f32, tag::any) : dstU;
  const memory::desc wP = anyW ? memory::desc(W, dt::f32, tag::any) : wU;
  try {
    dnnl::convolution_forward::desc fd(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, srcP, wP,
                                       dstP, strides, padL, padR);
    const dnnl::primitive_attr attr = user_scratchpad();
    dnnl::convolution_forward::primitive_desc fpd(fd, attr, eng());
    if (op == OP_FORWARD) {
      e->impl = fpd.impl_info_str();
      e->prim = dnnl::convolution_forward(fpd);
      e->scratchpad = fpd.scratchpad_desc();
      set_arg(e->args[0], DNNL_ARG_SRC, 0, true, srcU, fpd.src_desc());
      set_arg(e->args[1], DNNL_ARG_WEIGHTS, 1, true, wU, fpd.weights_desc());
      set_arg(e->args[2], DNNL_ARG_DST, 2, false, dstU, fpd.dst_desc());
    } else if (op == OP_BACKWARD_INPUT) {
      dnnl::convolution_backward_data::desc bd(dnnl::algorithm::convolution_direct, srcP, wP, dstP, strides, padL, padR);
      dnnl::convolution_backward_data::primitive_desc bpd(bd, attr, eng(), fpd);
      e->impl = bpd.impl_info_str();
      e->prim = dnnl::convolution_backward_data(bpd);
      e->scratchpad = bpd.scratchpad_desc();
      set_arg(e->args[0], DNNL_ARG_DIFF_DST, 0, true, dstU, bpd.diff_dst_desc());
      set_arg(e->args[1], DNNL_ARG_WEIGHTS, 1, true, wU, bpd.weights_desc());
      set_arg(e->args[2], DNNL_ARG_DIFF_SRC, 2, false, srcU, bpd.diff_src_desc());
    } else {
      dnnl::convolution_backward_weights::desc bd(dnnl::algorithm::convolution_direct, srcP, wP, dstP, strides, padL,
                                                  padR);
      dnnl::convolution_backward_weights::primitive_desc bpd(bd, attr, eng(), fpd);
      e->impl = bpd.impl_info_str();
      e->prim = dnnl::convolution_backward_weights(bpd);
      e->scratchpad = bpd.scratchpad_desc();
      set_arg(e->args[0], DNNL_ARG_SRC, 0, true, srcU, bpd.src_desc());
      set_arg(e->args[1], DNNL_ARG_DIFF_DST, 1, true, dstU, bpd.diff_dst_desc());
      set_arg(e->args[2], DNNL_ARG_DIFF_WEIGHTS, 2, false, wU, bpd.diff_weights_desc());
    }
    // The reference implementations are orders of magnitude slower than sgemm.
    e->usable = e->impl.rfind("ref", 0) != 0;
  } catch (const dnnl::error&) {
    e->usable = false;
  }
  return e;
}

// Blocks every signal of the calling thread while it lives.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old_);
  }
  ~SignalsHeld() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t old_;
};

// Every thread of the OpenMP team oneDNN will use blocks all signals, for
// good (the calling thread's own mask is the caller's SignalsHeld to
// restore). Once per team size: one parallel region on the first call.
void hold_signals_in_team() {
  thread_local int held = 0;
  const int n = omp_get_max_threads();
  if (n <= held) return;
#pragma omp parallel num_threads(n)
  {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
  }
  held = n;
}

Entry& entry(ConvOp op, ConvEngine v, const ConvGeom& g) {
  auto& slot = cache[key_of(op, v, g)];
  if (!slot) slot = build(op, v, g);
  return *slot;
}

}  // namespace

bool dnnl_run(ConvOp op, ConvEngine variant, const ConvGeom& g, const float* a, const float* b, float* out) {
  const SignalsHeld held;
  hold_signals_in_team();
  try {
    Entry& e = entry(op, variant, g);
    if (!e.usable) return false;
    float* ptrs[3] = {const_cast<float*>(a), const_cast<float*>(b), out};
    std::unordered_map<int, memory> args;
    memory users[3], copies[3];
    for (int i = 0; i < 3; i++) {
      Arg& arg = e.args[i];
      users[i] = memory(arg.user, eng(), ptrs[arg.slot]);
      if (!arg.reordered) {
        args.insert({arg.id, users[i]});
      } else {
        void* p = buffers[i].get(arg.chosen.get_size());
        if (p == nullptr) return false;
        copies[i] = memory(arg.chosen, eng(), p);
        if (arg.input) arg.reorder.execute(strm(), users[i], copies[i]);
        args.insert({arg.id, copies[i]});
      }
    }
    memory scratchpad;
    if (e.scratchpad.get_size() > 0) {
      void* p = buffers[3].get(e.scratchpad.get_size());
      if (p == nullptr) return false;
      scratchpad = memory(e.scratchpad, eng(), p);
      args.insert({DNNL_ARG_SCRATCHPAD, scratchpad});
    }
    e.prim.execute(strm(), args);
    for (int i = 0; i < 3; i++) {
      Arg& arg = e.args[i];
      if (arg.reordered && !arg.input) arg.reorder.execute(strm(), copies[i], users[i]);
    }
    strm().wait();
    return true;
  } catch (const dnnl::error&) {
    return false;
  }
}

std::string dnnl_impl(ConvOp op, ConvEngine variant, const ConvGeom& g) {
  Entry& e = entry(op, variant, g);
  std::string s = e.usable ? e.impl : "unusable:" + e.impl;
  for (const Arg& a : e.args)
    if (a.reordered) s += a.input ? " +reorder-in" : " +reorder-out";
  return s;
}

bool dnnl_avx512() {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  const unsigned avx512 = static_cast<unsigned>(dnnl_cpu_isa_avx512_core);
  return (isa & avx512) == avx512;  // ISAs are bit sets, each containing the ones below it
}

void dnnl_release() {
  cache.clear();
  for (Buffer& b : buffers) {
    std::free(b.p);
    b = Buffer{};
  }
}
