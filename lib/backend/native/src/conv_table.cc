// Which engine 'auto' picks for a convolution: a fixed table per kind of
// machine (so results are reproducible), detected once per process.
#include <cblas.h>

#include <cctype>
#include <string>

#include "conv_engines.h"

// Three tables, measured per layer on the pix2pix steps at 64x64 (unet64
// ngf 32, ndf 32), 128x128 and 256x256 (ngf, ndf 64). P is the number of
// output positions. oneDNN's weight reorder (ENGINE_DNNL_WEIGHTS) costs
// ~ K*co per call and pays off with enough positions; the deep layers (1-64
// positions) are bound by streaming the weights. Differences under ~15% are
// within these machines' noise.
//
// Layers of up to this many output positions go to the stream engine (the
// tables below say which ops); 0 turns it off (tune(), for A/B runs).
int64_t stream_max_positions = 4;

namespace {

int64_t w_size(const ConvGeom& g) { return g.kh * g.kw * g.ci * g.co; }

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

}  // namespace

ConvTable conv_table() {
  if (table == TABLE_DETECT) table = detect_table();
  return table;
}

void set_conv_table(ConvTable t) { table = t; }

ConvEngine choose(ConvOp op, const ConvGeom& g) {
  const int64_t P = conv_positions(g);
  if (conv_tiny(g)) return ENGINE_GEMM;
  conv_table();
  if (table == TABLE_AVX2) return choose_avx2(op, P, g);
  return table == TABLE_DNNL ? choose_dnnl(op, P, g) : choose_blas(op, P, g);
}
