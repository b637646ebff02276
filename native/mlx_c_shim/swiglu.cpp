// The gated MLP's activation, silu(gate) · up = gate · sigmoid(gate) · up, as one CPU primitive over float32.
// MLX compiles it on the CPU into a JIT kernel built for the baseline x86-64 (its simd types are one lane wide
// there), which calls libm's fmaf for every step of exp's polynomial: about 5 % of a batched SmolLM2 decode step
// in a profile. Here the same arithmetic as MLX's CPU sigmoid (1/(1 + exp|x|), mirrored for x ≥ 0, with
// cpu/vexp.h's copy of MLX's exp) runs in vectors, compiled for AVX-512, AVX2 + FMA and the baseline
// (cpu/vexp.h): MLX's compiled op bit for bit (test/ffi/fused.test.ts).
#include "swiglu.h"

#include "cpu/pool.h"
#include "cpu/vexp.h"
#include "mlx/primitives.h"
#include "qlinear.h"

namespace {

using mlxs::cpu::exp_v;
using mlxs::cpu::select;
typedef mlxs::cpu::V16 V;
constexpr int N = 16;

__attribute__((always_inline)) inline V swiglu_v(V g, V u) {
  const V a = select(g < 0.0f, g, -g); // |g|
  const V y = 1.0f / (1.0f + exp_v(a));
  const V sig = select(g < 0.0f, 1.0f - y, y);
  return g * sig * u;
}

// f over the elementwise pairs of g and u, 16 lanes at a time, the tail in a zero-padded vector.
template <V (*f)(V, V)>
__attribute__((always_inline)) inline void gated_body(const float* g, const float* u, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    V a, b;
    __builtin_memcpy(&a, g + i, sizeof a);
    __builtin_memcpy(&b, u + i, sizeof b);
    const V r = f(a, b);
    __builtin_memcpy(y + i, &r, sizeof r);
  }
  if (i < n) {
    V a{}, b{};
    __builtin_memcpy(&a, g + i, (n - i) * sizeof(float));
    __builtin_memcpy(&b, u + i, (n - i) * sizeof(float));
    const V r = f(a, b);
    __builtin_memcpy(y + i, &r, (n - i) * sizeof(float));
  }
}
using SwigluFn = void(const float*, const float*, float*, int64_t);

// NAME_f32: gated_body<FN> compiled for AVX-512, AVX2 + FMA and the baseline, the CPU's best picked once.
#define ARGS const float *g, const float *u, float *y, int64_t n
#if defined(__x86_64__)
#define GATED_VARIANTS(NAME, FN)                                                                                  \
  void NAME##_baseline(ARGS) { gated_body<FN>(g, u, y, n); }                                                     \
  MLXS_TARGET_AVX512 void NAME##_avx512(ARGS) { gated_body<FN>(g, u, y, n); }                                    \
  MLXS_TARGET_AVX2 void NAME##_avx2(ARGS) { gated_body<FN>(g, u, y, n); }                                        \
  void NAME##_f32(ARGS) {                                                                                        \
    static SwigluFn* const fn = mlxs::cpu::pick_variant<SwigluFn>(NAME##_avx512, NAME##_avx2, NAME##_baseline); \
    fn(g, u, y, n);                                                                                              \
  }
#else
#define GATED_VARIANTS(NAME, FN)                                                                                  \
  void NAME##_baseline(ARGS) { gated_body<FN>(g, u, y, n); }                                                     \
  void NAME##_f32(ARGS) {                                                                                        \
    static SwigluFn* const fn = mlxs::cpu::pick_variant<SwigluFn>(nullptr, nullptr, NAME##_baseline);           \
    fn(g, u, y, n);                                                                                              \
  }
#endif

GATED_VARIANTS(swiglu, swiglu_v)

// Elements per unit of parallel work: below it, one thread (a decode step's 1,536-8,192 elements).
constexpr int64_t CHUNK = 1 << 15;


// gelu_approx(gate) · up (Gemma's GeGLU), mlx.nn.gelu_approx's formula 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
// with tanh(z) = sign(z)·(1 − 2/(exp(2|z|) + 1)) over the same vector exp. Not MLX's bits (its tanh is libm's, one
// element at a time: with powf and expm1f a third of a Gemma 3 prefill), within a few float32 ulps of them: 1 + t
// carries t's absolute error, which this form keeps at float32 rounding.
__attribute__((always_inline)) inline V geglu_v(V x, V u) {
  const V z = 0.7978845608028654f * (x + 0.044715f * (x * x * x));
  const V az = select(z < 0.0f, -z, z);
  const V e = exp_v(2.0f * az);
  const V ta = 1.0f - 2.0f / (e + 1.0f);
  const V t = select(z < 0.0f, -ta, ta);
  return 0.5f * x * (1.0f + t) * u;
}

GATED_VARIANTS(geglu, geglu_v)

// The two activations, one primitive class: which one is its only parameter.
class CpuGatedActivation : public mx::UnaryPrimitive {
 public:
  CpuGatedActivation(mx::Stream s, bool gelu) : mx::UnaryPrimitive(s), gelu_(gelu) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    mlxs::dispatch_cpu(stream(), in, out, [gelu = gelu_](const std::vector<mx::array>& a, mx::array& out) {
      SwigluFn* const f = gelu ? geglu_f32 : swiglu_f32;
      const float* g = a[0].data<float>();
      const float* u = a[1].data<float>();
      float* y = out.data<float>();
      const int64_t n = static_cast<int64_t>(out.size());
      const int parts = static_cast<int>((n + CHUNK - 1) / CHUNK);
      if (parts <= 1) return f(g, u, y, n);
      mlxs::cpu::parallel_for(parts, [&](int p) {
        const int64_t i0 = p * CHUNK;
        f(g + i0, u + i0, y + i0, std::min(CHUNK, n - i0));
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[CpuGatedActivation] is built for CPU streams only");
  }
  const char* name() const override { return gelu_ ? "CpuGeglu" : "CpuSwiglu"; }
  bool is_equivalent(const mx::Primitive& other) const override {
    return gelu_ == static_cast<const CpuGatedActivation&>(other).gelu_;
  }

 private:
  bool gelu_;
};

std::optional<mx::array> gated(const mx::array& gate, const mx::array& up, bool gelu) {
  const auto s = mlxs::kernel_stream();
  if (!s || gate.dtype() != mx::float32 || up.dtype() != mx::float32 || gate.shape() != up.shape()) return std::nullopt;
  // The kernel reads dense buffers: a view (the halves of a fused gate_up projection) is copied first.
  const mx::array g = mx::contiguous(gate, false, *s), u = mx::contiguous(up, false, *s);
  return mx::array(gate.shape(), mx::float32, std::make_shared<CpuGatedActivation>(*s, gelu), {g, u});
}

} // namespace

namespace mlxs {

std::optional<mx::array> fused_geglu_approx(const mx::array& gate, const mx::array& up) { return gated(gate, up, true); }

std::optional<mx::array> fused_swiglu(const mx::array& gate, const mx::array& up) { return gated(gate, up, false); }

} // namespace mlxs
