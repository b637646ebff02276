// The gated delta rule (Qwen3-Next, Qwen3.5 linear attention) as mlx-lm's ops-based path runs it on the CPU
// (mlx_lm/models/gated_delta.py: compute_g, _gated_delta_step_ops; activations.py: precise_swiglu): the same graphs
// under mx::compile, so that MLX fuses them into the same kernels and the results match mlx-lm's bit for bit.
#include "internal.h"
#include "mlxs.h"

namespace mx = mlx::core;
using namespace mlxs;

namespace {

mx::array silu(const mx::array& x) {
  return mx::multiply(x, mx::sigmoid(x));
}

// exp(-exp(A_log) * softplus(a + dt_bias)): each head's decay per token
std::vector<mx::array> decay_fn(const std::vector<mx::array>& in) {
  const auto& a_log = in[0];
  auto x = mx::add(in[1], in[2]);
  auto softplus = mx::logaddexp(x, mx::array(0.0f, x.dtype()));
  return {mx::exp(mx::multiply(mx::negative(mx::exp(mx::astype(a_log, mx::float32))), softplus))};
}

// one token: q, k (B, H, Dk), v (B, H, Dv), g, beta (B, H), state (B, H, Dv, Dk) -> y (B, H, Dv), state
std::vector<mx::array> step_fn(const std::vector<mx::array>& in) {
  const auto &q = in[0], &k = in[1], &v = in[2], &g = in[3], &beta = in[4];
  auto state = mx::multiply(in[5], mx::expand_dims(g, {-2, -1}));
  auto kr = mx::expand_dims(k, -2);
  auto kv_mem = mx::sum(mx::multiply(state, kr), -1);
  auto delta = mx::multiply(mx::subtract(v, kv_mem), mx::expand_dims(beta, -1));
  state = mx::add(state, mx::multiply(kr, mx::expand_dims(delta, -1)));
  auto y = mx::sum(mx::multiply(state, mx::expand_dims(q, -2)), -1);
  return {mx::astype(y, q.dtype()), state};
}

// silu(gate) * x in float32, cast back to h's dtype
std::vector<mx::array> precise_swiglu_fn(const std::vector<mx::array>& in) {
  auto gate = silu(mx::astype(in[1], mx::float32));
  return {mx::astype(mx::multiply(gate, mx::astype(in[2], mx::float32)), in[0].dtype())};
}

} // namespace

int32_t mlxs_gdn_decay(int32_t a_log, int32_t a, int32_t dt_bias) {
  static const auto fn = mx::compile(decay_fn, /*shapeless=*/true);
  return make([&] { return fn({get(a_log), get(a), get(dt_bias)})[0]; });
}

int32_t mlxs_gdn_step(int32_t q, int32_t k, int32_t v, int32_t g, int32_t beta, int32_t state, int32_t* out) {
  static const auto fn = mx::compile(step_fn);
  return guard<int32_t>(-1, [&] {
    auto r = fn({get(q), get(k), get(v), get(g), get(beta), get(state)});
    out[0] = put(r[0]);
    out[1] = put(r[1]);
    return 2;
  });
}

int32_t mlxs_precise_swiglu(int32_t h, int32_t gate, int32_t x) {
  static const auto fn = mx::compile(precise_swiglu_fn, /*shapeless=*/true);
  return make([&] { return fn({get(h), get(gate), get(x)})[0]; });
}
