// mlx.nn.gelu, x·(1 + erf(x/√2))/2, as one CPU primitive over float32. MLX's CPU build on x86 Linux computes erf
// one element at a time (its simd types are one lane wide there): 27 ns an element measured, about 40 % of a BERT
// encoder's pass. Here erf is a rational approximation in vector arithmetic (odd numerator, even denominator in x²,
// clamped to ±4 beyond which erf is ±1 in float32; the classic single-precision form Eigen and TensorFlow use),
// compiled for AVX-512, AVX2 and the baseline with function multiversioning on x86-64 Linux.
#include "gelu.h"
#include "mlx/primitives.h"
#include "cpu/pool.h"
#include "qlinear.h"

namespace {

typedef float V __attribute__((vector_size(64)));
typedef int32_t I __attribute__((vector_size(64)));
constexpr int N = 16;

// Where `mask` (all ones or zeros per lane) is set, b; elsewhere a (bitwise, which GCC and Clang both take).
inline V select(I mask, V a, V b) { return (V)(((I)a & ~mask) | ((I)b & mask)); }

// Always inlined: each clone of gelu_f32 then computes it at its own vector width.
__attribute__((always_inline)) inline V erf_v(V a) {
  const V x = select(a < -4.0f, select(a > 4.0f, a, V{} + 4.0f), V{} - 4.0f);
  const V x2 = x * x;
  V p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  p = x * p;
  V q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return p / q;
}

// x86-64 Linux (ELF's ifuncs): one clone per instruction set, picked at load; elsewhere the compiler's own width.
#if defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CLONES
#endif

CLONES void gelu_f32(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + N <= n; i += N) {
    V v;
    __builtin_memcpy(&v, x + i, sizeof v);
    const V r = v * 0.5f * (1.0f + erf_v(v * 0.70710678118654752f));
    __builtin_memcpy(y + i, &r, sizeof r);
  }
  if (i < n) {
    V v{};
    __builtin_memcpy(&v, x + i, (n - i) * sizeof(float));
    const V r = v * 0.5f * (1.0f + erf_v(v * 0.70710678118654752f));
    __builtin_memcpy(y + i, &r, (n - i) * sizeof(float));
  }
}

// Elements per unit of parallel work.
constexpr int64_t CHUNK = 1 << 16;

class CpuGelu : public mx::UnaryPrimitive {
 public:
  explicit CpuGelu(mx::Stream s) : mx::UnaryPrimitive(s) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    mlxs::dispatch_cpu(stream(), in, out, [](const std::vector<mx::array>& a, mx::array& out) {
      const float* x = a[0].data<float>();
      float* y = out.data<float>();
      const int64_t n = static_cast<int64_t>(out.size());
      const int parts = static_cast<int>((n + CHUNK - 1) / CHUNK);
      if (parts <= 1) return gelu_f32(x, y, n);
      mlxs::cpu::parallel_for(parts, [&](int p) {
        const int64_t i0 = p * CHUNK;
        gelu_f32(x + i0, y + i0, std::min(CHUNK, n - i0));
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[CpuGelu] is built for CPU streams only");
  }
  const char* name() const override { return "CpuGelu"; }
  bool is_equivalent(const mx::Primitive&) const override { return true; }
};

} // namespace

namespace mlxs {

std::optional<mx::array> fused_gelu(const mx::array& x) {
  const auto s = kernel_stream();
  if (!s || x.dtype() != mx::float32) return std::nullopt;
  // The kernel reads x as one dense buffer: a view (a transpose, a slice) is copied first.
  const mx::array dense = mx::contiguous(x, false, *s);
  return mx::array(x.shape(), mx::float32, std::make_shared<CpuGelu>(*s), {dense});
}

} // namespace mlxs
