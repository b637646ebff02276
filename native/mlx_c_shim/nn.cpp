// Matmul, quantization, the fused architecture-agnostic helpers and mlx::fast.
#include "internal.h"
#include "attention.h"
#include "fused.h"
#include "qlinear.h"
#include "swiglu.h"

using namespace mlxs;

namespace {

std::vector<mx::array> swiglu_fn(const std::vector<mx::array>& in) {
  return {mx::multiply(mx::multiply(in[0], mx::sigmoid(in[0])), in[1])};
}

// gelu_approx(gate) * up, with mlx.nn.gelu_approx's formula.
std::vector<mx::array> geglu_approx_fn(const std::vector<mx::array>& in) {
  const auto& x = in[0];
  auto dt = x.dtype();
  auto inner = mx::add(x, mx::multiply(mx::array(0.044715, dt), mx::power(x, mx::array(3.0, dt))));
  auto t = mx::tanh(mx::multiply(mx::array(0.7978845608028654, dt), inner));
  auto g = mx::multiply(mx::multiply(mx::array(0.5, dt), x), mx::add(mx::array(1.0, dt), t));
  return {mx::multiply(g, in[1])};
}

std::optional<mx::Dtype> opt_dtype(int32_t d) {
  return d < 0 ? std::nullopt : std::optional<mx::Dtype>(to_dtype(d));
}

} // namespace

extern "C" {

int32_t mlxs_matmul(int32_t a, int32_t b) {
  return make([&] { return mx::matmul(get(a), get(b)); });
}

int32_t mlxs_addmm(int32_t c, int32_t a, int32_t b, float alpha, float beta) {
  return make([&] { return mx::addmm(get(c), get(a), get(b), alpha, beta); });
}

int32_t mlxs_quantize(int32_t w, int32_t group_size, int32_t bits, int32_t mode, int32_t* out) {
  return guard<int32_t>(-1, [&] {
    auto parts = mx::quantize(get(w), opt_int(group_size), opt_int(bits), quant_mode(mode));
    int32_t n = static_cast<int32_t>(parts.size());
    out[2] = 0;
    for (int32_t i = 0; i < n && i < 3; i++) out[i] = put(parts[i]);
    return n;
  });
}

int32_t mlxs_dequantize(int32_t wq, int32_t scales, int32_t biases, int32_t group_size, int32_t bits, int32_t mode,
                        int32_t dtype) {
  return make([&] {
    return mx::dequantize(get(wq), get(scales), opt(biases), opt_int(group_size), opt_int(bits), quant_mode(mode),
                          std::nullopt, opt_dtype(dtype));
  });
}

int32_t mlxs_quantized_matmul(int32_t x, int32_t wq, int32_t scales, int32_t biases, int32_t transpose,
                              int32_t group_size, int32_t bits, int32_t mode) {
  return make([&] {
    if (transpose)
      if (auto y = qlinear(get(x), get(wq), get(scales), opt(biases), std::nullopt, group_size, bits, quant_mode(mode), mode == MLXS_AFFINE_Q8))
        return *y;
    return mx::quantized_matmul(get(x), get(wq), get(scales), opt(biases), transpose != 0, opt_int(group_size),
                                opt_int(bits), quant_mode(mode));
  });
}

int32_t mlxs_gather_qmm(int32_t x, int32_t wq, int32_t scales, int32_t biases, int32_t lhs_indices,
                        int32_t rhs_indices, int32_t transpose, int32_t group_size, int32_t bits, int32_t mode,
                        int32_t sorted_indices) {
  return make([&] {
    return mx::gather_qmm(get(x), get(wq), get(scales), opt(biases), opt(lhs_indices), opt(rhs_indices),
                          transpose != 0, opt_int(group_size), opt_int(bits), quant_mode(mode), std::nullopt,
                          sorted_indices != 0);
  });
}

int32_t mlxs_gather_mm(int32_t a, int32_t b, int32_t lhs_indices, int32_t rhs_indices, int32_t sorted_indices) {
  return make([&] {
    return mx::gather_mm(get(a), get(b), opt(lhs_indices), opt(rhs_indices), sorted_indices != 0);
  });
}

int32_t mlxs_linear(int32_t x, int32_t w, int32_t scales, int32_t biases, int32_t bias, int32_t group_size,
                    int32_t bits, int32_t mode) {
  return make([&] {
    if (scales == 0) {
      // As mlx.nn.Linear: addmm(bias, x, w.T) with a bias, x @ w.T without.
      auto wt = mx::swapaxes(get(w), -1, -2);
      return bias ? mx::addmm(get(bias), get(x), wt) : mx::matmul(get(x), wt);
    }
    if (auto y = qlinear(get(x), get(w), get(scales), opt(biases), opt(bias), group_size, bits, quant_mode(mode), mode == MLXS_AFFINE_Q8))
      return *y;
    auto y = mx::quantized_matmul(get(x), get(w), get(scales), opt(biases), true, opt_int(group_size),
                                  opt_int(bits), quant_mode(mode));
    return bias ? mx::add(y, get(bias)) : y;
  });
}

int32_t mlxs_embedding(int32_t ids, int32_t w, int32_t scales, int32_t biases, int32_t group_size, int32_t bits,
                       int32_t mode) {
  return make([&] {
    auto& i = get(ids);
    if (scales == 0) return mx::take(get(w), i, 0);
    std::optional<mx::array> b;
    if (biases) b = mx::take(get(biases), i, 0);
    return mx::dequantize(mx::take(get(w), i, 0), mx::take(get(scales), i, 0), b, opt_int(group_size),
                          opt_int(bits), quant_mode(mode));
  });
}

int32_t mlxs_swiglu(int32_t gate, int32_t up) {
  static const auto fn = mx::compile(swiglu_fn, /*shapeless=*/true);
  return make([&] {
    if (auto y = fused_swiglu(get(gate), get(up))) return *y;
    return fn({get(gate), get(up)})[0];
  });
}

int32_t mlxs_geglu_approx(int32_t gate, int32_t up) {
  static const auto fn = mx::compile(geglu_approx_fn, /*shapeless=*/true);
  return make([&] {
    if (auto y = fused_geglu_approx(get(gate), get(up))) return *y;
    return fn({get(gate), get(up)})[0];
  });
}

int32_t mlxs_conv1d(int32_t x, int32_t w, int32_t stride, int32_t padding, int32_t dilation, int32_t groups) {
  return make([&] { return mx::conv1d(get(x), get(w), stride, padding, dilation, groups); });
}

int32_t mlxs_rms_norm(int32_t x, int32_t weight, float eps) {
  return make([&] {
    if (auto y = fused_rms_norm(get(x), opt(weight), eps)) return *y;
    return mx::fast::rms_norm(get(x), opt(weight), eps);
  });
}

int32_t mlxs_layer_norm(int32_t x, int32_t weight, int32_t bias, float eps) {
  return make([&] { return mx::fast::layer_norm(get(x), opt(weight), opt(bias), eps); });
}

int32_t mlxs_rope(int32_t x, int32_t dims, int32_t traditional, float base, float scale, int32_t offset,
                  int32_t offset_array, int32_t freqs) {
  return make([&] {
    std::optional<float> b = std::isnan(base) ? std::nullopt : std::optional<float>(base);
    if (auto y = fused_rope(get(x), dims, traditional != 0, b, scale, offset, opt(offset_array), opt(freqs))) return *y;
    if (offset_array) return mx::fast::rope(get(x), dims, traditional != 0, b, scale, get(offset_array), opt(freqs));
    return mx::fast::rope(get(x), dims, traditional != 0, b, scale, offset, opt(freqs));
  });
}

int32_t mlxs_sdpa(int32_t q, int32_t k, int32_t v, float scale, int32_t mask_kind, int32_t mask, int32_t sinks) {
  return make([&] {
    std::string mode;
    std::optional<mx::array> m;
    switch (mask_kind) {
      case MLXS_MASK_NONE: break;
      case MLXS_MASK_CAUSAL: mode = "causal"; break;
      case MLXS_MASK_ARRAY: mode = "array"; m = get(mask); break;
      default: throw std::invalid_argument("[sdpa] invalid mask kind " + std::to_string(mask_kind));
    }
    if (mask_kind != MLXS_MASK_ARRAY && sinks == 0)
      if (auto y = mlxs::fused_attention(get(q), get(k), get(v), scale, mask_kind == MLXS_MASK_CAUSAL, std::nullopt))
        return *y;
    return mx::fast::scaled_dot_product_attention(get(q), get(k), get(v), scale, mode, m, opt(sinks));
  });
}

int32_t mlxs_sdpa_padded(int32_t q, int32_t k, int32_t v, float scale, int32_t starts) {
  return make([&] {
    const auto &qa = get(q), &ka = get(k), &va = get(v), &sa = get(starts);
    if (auto y = mlxs::fused_attention(qa, ka, va, scale, true, sa)) return *y;
    // MLX's own op with the same visibility as a mask: key j of row b is seen from starts[b] on (and causally).
    const int T = ka.shape(2), L = qa.shape(2);
    auto cols = mx::reshape(mx::arange(T, mx::int32), {1, 1, 1, T});
    auto rows = mx::reshape(mx::add(mx::arange(L, mx::int32), mx::array(T - L, mx::int32)), {1, 1, L, 1});
    auto mask = mx::logical_and(mx::greater_equal(cols, mx::reshape(sa, {-1, 1, 1, 1})), mx::less_equal(cols, rows));
    return mx::fast::scaled_dot_product_attention(qa, ka, va, scale, "array", mask);
  });
}

} // extern "C"
