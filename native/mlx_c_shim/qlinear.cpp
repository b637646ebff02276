// QLinear: quantized_matmul(x, w, scales, biases, transpose=true) (+ bias) on a CPU stream, computed by the
// shim's own kernels (cpu/qmv_kernel.h) instead of MLX's scalar CPU loop. It is an MLX primitive like any other
// (MLX's extension mechanism): built into the graph, run by eval on the stream's thread. On a GPU stream, or
// for operands the kernels do not cover, the ops below build MLX's own quantized_matmul unchanged.
#include <dlfcn.h>

#include <algorithm>
#include <cmath>

#include <memory>
#include <utility>

#include "cpu/pool.h"
#include "cpu/qmv.h"
#include "internal.h"
#include "mlx/primitives.h"
#include "qlinear.h"

namespace {

using mlxs::cpu::QmvArgs;
using mlxs::cpu::ScaleType;

bool enabled = true;
// mlxs_cpu_activations: MLXS_ACT_PER_LAYER (layers made with MLXS_AFFINE_Q8 round x to int8), FLOAT or INT8.
int32_t activations = MLXS_ACT_FLOAT; // runners apply OLLMLX_CPU_ACTIVATIONS (float unless asked)

struct Kernel {
  mlxs::cpu::Kernels fn;
  int32_t isa;
  mlxs::cpu::QmvFn int8 = nullptr; // the int8-activation matrix-vector kernel, where this set has one
};

bool supports(int32_t isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (isa == MLXS_CPU_AVX512_VNNI) return supports(MLXS_CPU_AVX512) && __builtin_cpu_supports("avx512vnni");
  if (isa == MLXS_CPU_AVX512)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  if (isa == MLXS_CPU_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#endif
  return isa == MLXS_CPU_BASELINE;
}

// The int8 kernel beside the float ones: VNNI's where the set is AVX512_VNNI, else AVX2's (every AVX-512 CPU has it).
mlxs::cpu::QmvFn int8_for(int32_t isa) {
#if defined(__x86_64__)
  if (isa == MLXS_CPU_AVX512_VNNI) return mlxs::cpu::qmv_vnni();
  if (isa == MLXS_CPU_BASELINE || !__builtin_cpu_supports("f16c")) return nullptr;
  return mlxs::cpu::qmv_int8_avx2();
#else
  return nullptr;
#endif
}

Kernel build(int32_t isa) {
#if defined(__x86_64__)
  if (isa == MLXS_CPU_AVX512_VNNI || isa == MLXS_CPU_AVX512) return {mlxs::cpu::qmv_avx512(), isa, int8_for(isa)};
  if (isa == MLXS_CPU_AVX2) return {mlxs::cpu::qmv_avx2(), isa, int8_for(isa)};
#endif
  return {mlxs::cpu::qmv_generic(), MLXS_CPU_BASELINE};
}

// The best set this CPU has. Which layers use its int8 kernel is the activations policy's choice (below).
Kernel best() {
  for (int32_t isa : {MLXS_CPU_AVX512_VNNI, MLXS_CPU_AVX512, MLXS_CPU_AVX2})
    if (supports(isa)) return build(isa);
  return build(MLXS_CPU_BASELINE);
}

Kernel& kernel() {
  static Kernel k = best();
  return k;
}

// The process's float GEMM, found at run time: OpenBLAS when the runner preloads it (engine/cpu-backend.ts) or
// Accelerate on macOS. The reference BLAS the mlx-cpu wheel links is slower than our kernels: not used.
using Sgemm = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                       const float* b, int ldb, float beta, float* c, int ldc);
bool optimized_blas() {
#if defined(__APPLE__)
  return true;
#else
  static const bool openblas = dlsym(RTLD_DEFAULT, "openblas_get_config") != nullptr;
  return openblas;
#endif
}
int32_t gemm_mode = MLXS_GEMM_AUTO;
Sgemm sgemm() {
  static const Sgemm f = reinterpret_cast<Sgemm>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
  if (gemm_mode == MLXS_GEMM_NEVER || (gemm_mode == MLXS_GEMM_AUTO && !optimized_blas())) return nullptr;
  return f;
}
constexpr int CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112;

// From this many rows of x, W is expanded to floats a panel at a time and multiplied by the BLAS's GEMM, which
// is faster than the matrix-vector kernels once each weight serves enough rows (prompt processing).
constexpr int GEMM_ROWS = 32;
// Rows of W per panel: 256 × K=2048 floats are 2 MiB, about one core's L2; expanded in parallel, 64 rows a part.
constexpr int PANEL = 256;
constexpr int CHUNK_ROWS = 64;

void gemm_panels(const QmvArgs& a, const mlxs::cpu::Kernels& k, Sgemm gemm) {
  thread_local std::vector<float> scratch;
  scratch.resize(static_cast<size_t>(PANEL) * a.K);
  float* const panel = scratch.data(); // workers see their own thread_local, so they get the pointer
  for (int n0 = 0; n0 < a.N; n0 += PANEL) {
    const int n = std::min(PANEL, a.N - n0);
    const int parts = (n + CHUNK_ROWS - 1) / CHUNK_ROWS;
    mlxs::cpu::parallel_for(parts, [&](int p) {
      const int r0 = n0 + p * CHUNK_ROWS, r1 = std::min(n0 + n, r0 + CHUNK_ROWS);
      k.dequant(a, r0, r1, panel + static_cast<size_t>(r0 - n0) * a.K);
    });
    gemm(CBLAS_ROW_MAJOR, CBLAS_NO_TRANS, CBLAS_TRANS, a.M, n, a.K, 1.0f, a.x, a.K, panel, a.K, 0.0f, a.y + n0, a.N);
  }
  if (a.bias)
    for (int m = 0; m < a.M; m++)
      for (int j = 0; j < a.N; j++) a.y[static_cast<size_t>(m) * a.N + j] += a.bias[j];
}

// Columns per unit of parallel work: about eight units a thread, so that a thread the machine holds up costs the
// others little (the units are taken from a shared counter); a multiple of the kernel's 16-row cache block.
int chunk_columns(int N) {
  const int per = (N + mlxs::cpu::threads() * 8 - 1) / (mlxs::cpu::threads() * 8);
  return std::max(16, (per + 15) / 16 * 16);
}
// Below this many multiply-adds a call runs on the stream thread alone: waking a worker costs more. The workers
// spin a while after each call, so within a decode step's run of projections they are awake.
constexpr double PARALLEL_MACS = 1 << 16;

float value(const float* p, int64_t i) { return p[i]; }
float value(const mx::bfloat16_t* p, int64_t i) { return mlxs::cpu::bf16_to_float(reinterpret_cast<const uint16_t*>(p)[i]); }
float value(const mx::float16_t* p, int64_t i) { return static_cast<float>(p[i]); }

// Row r of x (any leading shape and strides) as floats.
template <class T>
void read_row(const mx::array& x, int r, int K, float* out) {
  const int nd = x.ndim();
  const int64_t sk = x.strides()[nd - 1];
  int64_t off = 0, rest = r;
  for (int d = nd - 2; d >= 0; d--) {
    off += (rest % x.shape(d)) * x.strides()[d];
    rest /= x.shape(d);
  }
  const T* src = x.data<T>() + off;
  for (int k = 0; k < K; k++) out[k] = value(src, k * sk);
}

void group_sums(const float* v, int K, int gs, float* xsum) {
  for (int g = 0; g < K / gs; g++) {
    float s = 0;
    for (int k = g * gs; k < (g + 1) * gs; k++) s += v[k];
    xsum[g] = s;
  }
}

// The int8 grid of the VNNI kernel: each 32-run of v rounded at the scale that maps its largest magnitude to 127
// (llama.cpp's q8 blocks). Writes the integers to q (when given) and the rounded values back to v; d: the scales.
void round_runs(float* v, int K, int8_t* q, float* d) {
  for (int run = 0; run < K / 32; run++) {
    float* r = v + run * 32;
    float amax = 0;
    for (int i = 0; i < 32; i++) amax = std::max(amax, std::fabs(r[i]));
    const float scale = amax / 127, inv = amax > 0 ? 127 / amax : 0;
    d[run] = scale;
    for (int i = 0; i < 32; i++) {
      // nearbyint (ties to even) for |v| <= 127, as plain additions the compiler vectorizes: 1.5 * 2^23 leaves no
      // fraction bits (a library call a value was a third of a prompt's preparation)
      const float n = (r[i] * inv + 12582912.0f) - 12582912.0f;
      if (q) q[run * 32 + i] = static_cast<int8_t>(n);
      r[i] = n * scale;
    }
  }
}

// fn(r) for every row r of x: across the kernel threads when there are enough rows to pay for waking them.
template <class Fn>
void each_row(int M, int K, Fn&& fn) {
  if (M < 8 || static_cast<double>(M) * K < (1 << 15)) {
    for (int r = 0; r < M; r++) fn(r);
    return;
  }
  constexpr int ROWS = 4;
  mlxs::cpu::parallel_for((M + ROWS - 1) / ROWS, [&](int c) {
    for (int r = c * ROWS; r < std::min(M, (c + 1) * ROWS); r++) fn(r);
  });
}

// x as the float kernel and the GEMM read it: float32 rows (4-bit: each 32-run de-interleaved), and the per-group
// sums. With int8 set, rounded to the int8 kernel's grid first, so that a prompt-sized batch computes what the
// int8 kernel computes for each of its rows alone (a sequence's tokens do not depend on what it is batched with).
template <class T>
void prepare(const mx::array& x, int M, int K, int gs, int bits, bool int8, std::vector<float>& xp,
             std::vector<float>& xsum) {
  const int groups = K / gs;
  xp.resize(static_cast<size_t>(M) * K);
  xsum.resize(static_cast<size_t>(M) * groups);
  each_row(M, K, [&](int r) {
    thread_local std::vector<float> src, d; // each thread its own
    src.resize(K);
    d.resize(K / 32);
    read_row<T>(x, r, K, src.data());
    if (int8) round_runs(src.data(), K, nullptr, d.data());
    group_sums(src.data(), K, gs, xsum.data() + static_cast<size_t>(r) * groups);
    float* dst = xp.data() + static_cast<size_t>(r) * K;
    if (bits == 4) {
      for (int k = 0; k < K; k += 32)
        for (int i = 0; i < 16; i++) {
          dst[k + i] = src[k + 2 * i];
          dst[k + 16 + i] = src[k + 2 * i + 1];
        }
    } else {
      std::copy(src.begin(), src.end(), dst);
    }
  });
}

// x as the int8 kernel reads it (qmv.h): the integers of round_runs in the weights' unpacked order, each block's
// two scales spread over its lanes, and the per-group sums of the rounded values (as llama.cpp's q8_1 keeps):
// then the rounding error meets the centred weights s·q + b, not s·q alone, which are all positive and up to
// twice as large (the exact sums of x measured 1.4x the error on SmolLM2's projections).
template <class T>
void prepare_int8(const mx::array& x, int M, int K, int gs, int bits, std::vector<int8_t>& xq, std::vector<float>& xd,
                  std::vector<float>& xsum) {
  const int groups = K / gs, blocks = K / 64;
  xq.resize(static_cast<size_t>(M) * K);
  xd.resize(static_cast<size_t>(M) * blocks * 16);
  xsum.resize(static_cast<size_t>(M) * groups);
  each_row(M, K, [&](int r) {
    thread_local std::vector<float> src, d; // each thread its own
    thread_local std::vector<int8_t> q;
    src.resize(K);
    d.resize(K / 32);
    q.resize(K);
    read_row<T>(x, r, K, src.data());
    round_runs(src.data(), K, q.data(), d.data());
    group_sums(src.data(), K, gs, xsum.data() + static_cast<size_t>(r) * groups);
    for (int b = 0; b < blocks; b++) {
      float* lanes = xd.data() + (static_cast<size_t>(r) * blocks + b) * 16;
      // lanes of the block's second run: 8-bit, the upper eight; 4-bit, 4-7 and 12-15 (its even positions, then
      // its odd)
      for (int l = 0; l < 16; l++) lanes[l] = d[2 * b + (bits == 4 ? (l >> 2) & 1 : l >> 3)];
      int8_t* dst = xq.data() + static_cast<size_t>(r) * K + b * 64;
      for (int j = 0; j < 64; j++) {
        // 4-bit: run 0's even positions, run 1's even, run 0's odd, run 1's odd
        dst[j] = q[b * 64 + (bits == 4 ? (j & 16) * 2 + (j >> 5) + (j & 15) * 2 : j)];
      }
    }
  });
}

ScaleType scale_type(mx::Dtype d) {
  return d == mx::bfloat16 ? ScaleType::BF16 : d == mx::float16 ? ScaleType::F16 : ScaleType::F32;
}

class QLinear : public mx::UnaryPrimitive {
 public:
  QLinear(mx::Stream s, int group_size, int bits, bool int8)
      : mx::UnaryPrimitive(s), group_size_(group_size), bits_(bits), int8_(int8) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    mlxs::dispatch_cpu(stream(), in, out, [gs = group_size_, bits = bits_, round = int8_](const std::vector<mx::array>& args, mx::array& out) {
      const auto& x = args[0];
      const auto& w = args[1];
      const int K = x.shape(-1);
      const int N = w.shape(0);
      const int M = static_cast<int>(x.size() / K);
      thread_local std::vector<float> xp, xsum, xd, y;
      thread_local std::vector<int8_t> xq;
      const auto& kern = kernel();
      const bool gemm = M >= GEMM_ROWS && sgemm();
      // A layer made to round x to int8 (qlinear() decided: 4-bit, K a multiple of 64, an int8 kernel) does so at
      // every batch size: a prompt-sized GEMM rounds x to the same grid, so that a row's bits never depend on
      // what it is batched with.
      const bool grid = round && kern.int8;
      const bool int8 = grid && !gemm;
      if (int8) {
        switch (x.dtype()) {
          case mx::bfloat16: prepare_int8<mx::bfloat16_t>(x, M, K, gs, bits, xq, xd, xsum); break;
          case mx::float16: prepare_int8<mx::float16_t>(x, M, K, gs, bits, xq, xd, xsum); break;
          default: prepare_int8<float>(x, M, K, gs, bits, xq, xd, xsum); break;
        }
      } else {
        switch (x.dtype()) {
          case mx::bfloat16: prepare<mx::bfloat16_t>(x, M, K, gs, bits, grid, xp, xsum); break;
          case mx::float16: prepare<mx::float16_t>(x, M, K, gs, bits, grid, xp, xsum); break;
          default: prepare<float>(x, M, K, gs, bits, grid, xp, xsum); break;
        }
      }
      const bool f32 = out.dtype() == mx::float32;
      if (!f32) y.resize(static_cast<size_t>(M) * N);
      const ScaleType st = scale_type(args[2].dtype());
      QmvArgs a{xp.data(), xsum.data(), w.data<uint8_t>(), args[2].data<void>(), args[3].data<void>(),
                args.size() > 4 ? args[4].data<float>() : nullptr, f32 ? out.data<float>() : y.data(), M, N, K, gs,
                bits, st, xq.data(), xd.data()};
      const auto& k = kern.fn;
      const mlxs::cpu::QmvFn qmv = int8 ? kern.int8 : k.qmv;
      const int chunk = chunk_columns(N), chunks = (N + chunk - 1) / chunk;
      if (gemm) gemm_panels(a, k, sgemm());
      else if (static_cast<double>(M) * N * K < PARALLEL_MACS || chunks == 1) qmv(a, 0, N);
      else mlxs::cpu::parallel_for(chunks, [&](int c) { qmv(a, c * chunk, std::min(N, (c + 1) * chunk)); });
      if (f32) return;
      if (out.dtype() == mx::bfloat16) {
        uint16_t* o = out.data<uint16_t>();
        for (size_t i = 0; i < y.size(); i++) o[i] = mlxs::cpu::float_to_bf16(y[i]);
      } else {
        mx::float16_t* o = out.data<mx::float16_t>();
        for (size_t i = 0; i < y.size(); i++) o[i] = static_cast<mx::float16_t>(y[i]);
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[QLinear] is built for CPU streams only");
  }

  const char* name() const override { return "QLinear"; }

  bool is_equivalent(const mx::Primitive& other) const override {
    auto& o = static_cast<const QLinear&>(other);
    return group_size_ == o.group_size_ && bits_ == o.bits_ && int8_ == o.int8_;
  }

 private:
  int group_size_;
  int bits_;
  bool int8_;
};

bool half_or_single(mx::Dtype d) { return d == mx::float32 || d == mx::bfloat16 || d == mx::float16; }

// An operand the kernel reads in place: already evaluated (weights are, at load), row-contiguous, float32.
bool ready(const mx::array& a, mx::Dtype dtype) {
  return a.dtype() == dtype && a.is_available() && a.flags().row_contiguous;
}

} // namespace

namespace mlxs {

std::optional<mx::Stream> kernel_stream() {
  auto s = mx::default_stream(mx::default_device());
  if (!enabled || s.device != mx::Device::cpu) return std::nullopt;
  return s;
}

std::optional<mx::array> qlinear(const mx::array& x, const mx::array& w, const mx::array& scales,
                                 const std::optional<mx::array>& biases, const std::optional<mx::array>& bias,
                                 int group_size, int bits, const std::string& mode, bool q8) {
  const auto stream = kernel_stream();
  if (group_size == 0) group_size = 64; // MLX's defaults for affine mode
  if (bits == 0) bits = 4;
  if (!stream || mode != "affine" || !biases) return std::nullopt;
  const mx::Stream s = *stream;
  if (bits != 4 && bits != 8) return std::nullopt;
  if (group_size % 32 != 0 || !half_or_single(x.dtype()) || x.ndim() < 1 || w.ndim() != 2) return std::nullopt;
  const int K = x.shape(-1), N = w.shape(0);
  if (K % group_size != 0 || static_cast<int64_t>(w.shape(1)) * 32 / bits != K) return std::nullopt;
  const mx::Shape sg{N, K / group_size};
  // Scales and biases in float32, bfloat16 or float16 (read as stored); x in any of the three, y in x's dtype.
  if (!half_or_single(scales.dtype()) || !ready(w, mx::uint32) || !ready(scales, scales.dtype()) ||
      !ready(*biases, scales.dtype()))
    return std::nullopt;
  if (scales.shape() != sg || biases->shape() != sg) return std::nullopt;
  if (bias && (bias->ndim() != 1 || bias->shape(0) != N)) return std::nullopt;
  // A float32 bias is added in the kernel; another dtype after it, by MLX (as mlx-lm adds it).
  const bool fused = bias && ready(*bias, mx::float32) && x.dtype() == mx::float32;
  std::vector<mx::array> inputs{x, w, scales, *biases};
  if (fused) inputs.push_back(*bias);
  auto shape = x.shape();
  shape.back() = N;
  // Per layer: what the layer was made with (GGUF's 4- and 8-bit layers; llama.cpp keeps MoE routers in float). All:
  // every 4-bit layer, not the 8-bit ones (mlx-community keeps its sensitive layers, MoE routers, at 8 bits: rounding
  // their input picks other experts).
  const bool int8 = kernel().int8 && K % 64 == 0 &&
                    ((activations == MLXS_ACT_INT8 && bits == 4) || (activations == MLXS_ACT_PER_LAYER && q8));
  mx::array y(std::move(shape), x.dtype(), std::make_shared<QLinear>(s, group_size, bits, int8), std::move(inputs));
  if (bias && !fused) return mx::add(y, *bias, s);
  return y;
}

} // namespace mlxs

extern "C" int32_t mlxs_cpu_kernels(int32_t isa, int32_t threads, int32_t gemm) {
  return mlxs::guard<int32_t>(-1, [&] {
    if (isa == MLXS_CPU_MLX) enabled = false;
    else if (isa == MLXS_CPU_BEST) {
      enabled = true;
      kernel() = best();
    } else if (isa > 0) {
      if (!supports(isa)) throw std::invalid_argument("[cpu_kernels] this CPU cannot run kernel set " + std::to_string(isa));
      enabled = true;
      kernel() = build(isa);
    } else if (isa != -1) {
      throw std::invalid_argument("[cpu_kernels] unknown kernel set " + std::to_string(isa));
    }
    if (threads > 0) mlxs::cpu::set_threads(threads);
    if (gemm >= MLXS_GEMM_NEVER && gemm <= MLXS_GEMM_ALWAYS) gemm_mode = gemm;
    else if (gemm != -1) throw std::invalid_argument("[cpu_kernels] unknown gemm mode " + std::to_string(gemm));
    return enabled ? kernel().isa : MLXS_CPU_MLX;
  });
}

extern "C" int32_t mlxs_cpu_activations(int32_t policy) {
  return mlxs::guard<int32_t>(-1, [&] {
    if (policy < MLXS_ACT_PER_LAYER || policy > MLXS_ACT_INT8)
      throw std::invalid_argument("[cpu_activations] unknown policy " + std::to_string(policy));
    return std::exchange(activations, policy);
  });
}

extern "C" int32_t mlxs_cpu_spin(int32_t microseconds) {
  return mlxs::guard<int32_t>(-1, [&] {
    if (microseconds < 0) throw std::invalid_argument("[cpu_spin] a negative time");
    mlxs::cpu::set_spin_us(microseconds);
    return 0;
  });
}
