// logsumexp over the last axis, what every sampled token starts from (log-probabilities = logits - logsumexp), as
// one CPU primitive over float32. MLX's CPU op runs its exp one element at a time on x86 (its simd types are one
// lane wide there) with a libm fmaf call per polynomial step: about 2.5 ms a token over Gemma 3's 262,144
// logits. Here the exponentials run in vectors (cpu/vexp.h: MLX's exp, its roundings) and everything else is MLX's
// own order: the maximum, the sum of exp(x - max) added first to last, log(sum) + max (or max where it is
// infinite). The result is MLX's bit for bit (test/ffi/fused.test.ts).
#include "logsumexp.h"

#include <cmath>

#include "cpu/pool.h"
#include "cpu/vexp.h"
#include "mlx/primitives.h"
#include "qlinear.h"

namespace {

using mlxs::cpu::V16;

// e[i] = exp(x[i] - max) for i in [0, n), 16 lanes at a time (e has room for n rounded up to 16).
__attribute__((always_inline)) inline void exps_body(const float* x, float* e, int64_t n, float max) {
  for (int64_t i = 0; i < n; i += 16) {
    V16 v{};
    __builtin_memcpy(&v, x + i, (n - i < 16 ? n - i : 16) * sizeof(float));
    v = mlxs::cpu::exp_v(v - max);
    __builtin_memcpy(e + i, &v, sizeof v);
  }
}
using ExpsFn = void(const float*, float*, int64_t, float);
void exps_baseline(const float* x, float* e, int64_t n, float max) { exps_body(x, e, n, max); }
#if defined(__x86_64__)
MLXS_TARGET_AVX512 void exps_avx512(const float* x, float* e, int64_t n, float max) { exps_body(x, e, n, max); }
MLXS_TARGET_AVX2 void exps_avx2(const float* x, float* e, int64_t n, float max) { exps_body(x, e, n, max); }
#else
ExpsFn *exps_avx512 = nullptr, *exps_avx2 = nullptr;
#endif
void exps(const float* x, float* e, int64_t n, float max) {
  static ExpsFn* const fn = mlxs::cpu::pick_variant<ExpsFn>(exps_avx512, exps_avx2, exps_baseline);
  fn(x, e, n, max);
}

// Elements per unit of parallel work for a long row's exponentials.
constexpr int64_t CHUNK = 1 << 14;

float row_logsumexp(const float* x, int64_t n) {
  float max = -INFINITY;
  for (int64_t i = 0; i < n; i++) max = std::max(max, x[i]);
  thread_local std::vector<float> e;
  e.resize(static_cast<size_t>(n + 16));
  float* ep = e.data();
  const int parts = static_cast<int>((n + CHUNK - 1) / CHUNK);
  if (parts <= 1) exps(x, ep, n, max);
  else
    mlxs::cpu::parallel_for(parts, [&](int p) {
      const int64_t i0 = p * CHUNK;
      exps(x + i0, ep + i0, std::min(CHUNK, n - i0), max);
    });
  float sum = 0;
  for (int64_t i = 0; i < n; i++) sum += ep[i];
  return std::isinf(max) ? max : std::log(sum) + max;
}

class CpuLogSumExp : public mx::UnaryPrimitive {
 public:
  explicit CpuLogSumExp(mx::Stream s) : mx::UnaryPrimitive(s) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    mlxs::dispatch_cpu(stream(), in, out, [](const std::vector<mx::array>& a, mx::array& out) {
      const float* x = a[0].data<float>();
      float* y = out.data<float>();
      const int64_t n = a[0].shape(-1);
      const int64_t rows = n == 0 ? 0 : static_cast<int64_t>(a[0].size()) / n;
      for (int64_t r = 0; r < rows; r++) y[r] = row_logsumexp(x + r * n, n);
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[CpuLogSumExp] is built for CPU streams only");
  }
  const char* name() const override { return "CpuLogSumExp"; }
  bool is_equivalent(const mx::Primitive&) const override { return true; }
};

} // namespace

namespace mlxs {

std::optional<mx::array> fused_logsumexp(const mx::array& a, const std::vector<int>& axes, bool keepdims) {
  const auto s = kernel_stream();
  if (!s || a.dtype() != mx::float32 || a.ndim() < 1 || axes.size() != 1) return std::nullopt;
  if (axes[0] != -1 && axes[0] != static_cast<int>(a.ndim()) - 1) return std::nullopt;
  if (a.shape(-1) == 0) return std::nullopt; // MLX's own answer for an empty axis
  auto shape = a.shape();
  if (keepdims) shape.back() = 1;
  else shape.pop_back();
  // The kernel reads rows of one dense buffer: a view is copied first.
  const mx::array dense = mx::contiguous(a, false, *s);
  return mx::array(std::move(shape), mx::float32, std::make_shared<CpuLogSumExp>(*s), {dense});
}

} // namespace mlxs
