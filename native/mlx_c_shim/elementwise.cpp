// Elementwise ops, reductions, sorting. The activations (silu, gelu, gelu_approx) follow mlx.nn's
// definitions exactly and are compiled shapeless, as mlx.nn compiles them.
#include "internal.h"
#include "gelu.h"
#include "logsumexp.h"

using namespace mlxs;

namespace {

// sqrt(2/pi), as Python computes math.sqrt(2 / math.pi) before it becomes a weak float32 scalar.
constexpr double kSqrt2OverPi = 0.7978845608028654;

std::vector<mx::array> silu_fn(const std::vector<mx::array>& in) {
  return {mx::multiply(in[0], mx::sigmoid(in[0]))};
}

// mlx.nn.gelu: x * (1 + erf(x / sqrt(2))) / 2
std::vector<mx::array> gelu_fn(const std::vector<mx::array>& in) {
  const auto& x = in[0];
  auto dt = x.dtype();
  auto e = mx::erf(mx::divide(x, mx::array(std::sqrt(2.0), dt)));
  return {mx::divide(mx::multiply(x, mx::add(mx::array(1.0, dt), e)), mx::array(2.0, dt))};
}

// mlx.nn.gelu_approx: 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x**3)))
std::vector<mx::array> gelu_approx_fn(const std::vector<mx::array>& in) {
  const auto& x = in[0];
  auto dt = x.dtype();
  auto inner = mx::add(x, mx::multiply(mx::array(0.044715, dt), mx::power(x, mx::array(3.0, dt))));
  auto t = mx::tanh(mx::multiply(mx::array(kSqrt2OverPi, dt), inner));
  return {mx::multiply(mx::multiply(mx::array(0.5, dt), x), mx::add(mx::array(1.0, dt), t))};
}

mx::array unary(int32_t op, const mx::array& a) {
  static const auto silu = mx::compile(silu_fn, /*shapeless=*/true);
  static const auto gelu = mx::compile(gelu_fn, /*shapeless=*/true);
  static const auto gelu_approx = mx::compile(gelu_approx_fn, /*shapeless=*/true);
  switch (op) {
    case MLXS_NEG: return mx::negative(a);
    case MLXS_ABS: return mx::abs(a);
    case MLXS_EXP: return mx::exp(a);
    case MLXS_LOG: return mx::log(a);
    case MLXS_LOG1P: return mx::log1p(a);
    case MLXS_SQRT: return mx::sqrt(a);
    case MLXS_RSQRT: return mx::rsqrt(a);
    case MLXS_SQUARE: return mx::square(a);
    case MLXS_SIN: return mx::sin(a);
    case MLXS_COS: return mx::cos(a);
    case MLXS_TANH: return mx::tanh(a);
    case MLXS_SIGMOID: return mx::sigmoid(a);
    case MLXS_ERF: return mx::erf(a);
    case MLXS_FLOOR: return mx::floor(a);
    case MLXS_CEIL: return mx::ceil(a);
    case MLXS_ROUND: return mx::round(a);
    case MLXS_SIGN: return mx::sign(a);
    case MLXS_LOGICAL_NOT: return mx::logical_not(a);
    case MLXS_RECIPROCAL: return mx::reciprocal(a);
    case MLXS_STOP_GRADIENT: return mx::stop_gradient(a);
    case MLXS_COPY: return mx::copy(a);
    case MLXS_CONTIGUOUS: return mx::contiguous(a);
    case MLXS_SILU: return silu({a})[0];
    case MLXS_GELU:
      if (auto y = mlxs::fused_gelu(a)) return *y;
      return gelu({a})[0];
    case MLXS_GELU_APPROX: return gelu_approx({a})[0];
    case MLXS_RELU: return mx::maximum(a, mx::array(0, a.dtype()));
    case MLXS_ISNAN: return mx::isnan(a);
    case MLXS_ISINF: return mx::isinf(a);
    case MLXS_EXPM1: return mx::expm1(a);
  }
  throw std::invalid_argument("invalid unary op " + std::to_string(op));
}

mx::array binary(int32_t op, const mx::array& a, const mx::array& b) {
  switch (op) {
    case MLXS_ADD: return mx::add(a, b);
    case MLXS_SUBTRACT: return mx::subtract(a, b);
    case MLXS_MULTIPLY: return mx::multiply(a, b);
    case MLXS_DIVIDE: return mx::divide(a, b);
    case MLXS_MAXIMUM: return mx::maximum(a, b);
    case MLXS_MINIMUM: return mx::minimum(a, b);
    case MLXS_POWER: return mx::power(a, b);
    case MLXS_EQUAL: return mx::equal(a, b);
    case MLXS_NOT_EQUAL: return mx::not_equal(a, b);
    case MLXS_LESS: return mx::less(a, b);
    case MLXS_LESS_EQUAL: return mx::less_equal(a, b);
    case MLXS_GREATER: return mx::greater(a, b);
    case MLXS_GREATER_EQUAL: return mx::greater_equal(a, b);
    case MLXS_LOGICAL_AND: return mx::logical_and(a, b);
    case MLXS_LOGICAL_OR: return mx::logical_or(a, b);
    case MLXS_FLOOR_DIVIDE: return mx::floor_divide(a, b);
    case MLXS_REMAINDER: return mx::remainder(a, b);
    case MLXS_ARCTAN2: return mx::arctan2(a, b);
    case MLXS_LOGADDEXP: return mx::logaddexp(a, b);
  }
  throw std::invalid_argument("invalid binary op " + std::to_string(op));
}

mx::array reduce(int32_t op, const mx::array& a, const std::vector<int>& axes, bool keepdims) {
  bool all = axes.empty();
  switch (op) {
    case MLXS_SUM: return all ? mx::sum(a, keepdims) : mx::sum(a, axes, keepdims);
    case MLXS_MEAN: return all ? mx::mean(a, keepdims) : mx::mean(a, axes, keepdims);
    case MLXS_MAX: return all ? mx::max(a, keepdims) : mx::max(a, axes, keepdims);
    case MLXS_MIN: return all ? mx::min(a, keepdims) : mx::min(a, axes, keepdims);
    case MLXS_PROD: return all ? mx::prod(a, keepdims) : mx::prod(a, axes, keepdims);
    case MLXS_ALL: return all ? mx::all(a, keepdims) : mx::all(a, axes, keepdims);
    case MLXS_ANY: return all ? mx::any(a, keepdims) : mx::any(a, axes, keepdims);
    case MLXS_LOGSUMEXP:
      if (all) return mx::logsumexp(a, keepdims);
      if (auto y = mlxs::fused_logsumexp(a, axes, keepdims)) return *y;
      return mx::logsumexp(a, axes, keepdims);
    case MLXS_VAR: return all ? mx::var(a, keepdims) : mx::var(a, axes, keepdims);
  }
  throw std::invalid_argument("invalid reduce op " + std::to_string(op));
}

} // namespace

extern "C" {

int32_t mlxs_unary(int32_t op, int32_t a) {
  return make([&] { return unary(op, get(a)); });
}

int32_t mlxs_binary(int32_t op, int32_t a, int32_t b) {
  return make([&] { return binary(op, get(a), get(b)); });
}

int32_t mlxs_binary_scalar(int32_t op, int32_t a, double s, int32_t scalar_first) {
  return make([&] {
    auto& x = get(a);
    mx::array sc(s, scalar_dtype(x.dtype(), s));
    return scalar_first ? binary(op, sc, x) : binary(op, x, sc);
  });
}

int32_t mlxs_reduce(int32_t op, int32_t a, const int32_t* axes, int32_t naxes, int32_t keepdims) {
  return make([&] { return reduce(op, get(a), to_ints(axes, naxes), keepdims != 0); });
}

int32_t mlxs_argmax(int32_t a, int32_t axis, int32_t keepdims) {
  return make([&] { return mx::argmax(get(a), axis, keepdims != 0); });
}

int32_t mlxs_argmin(int32_t a, int32_t axis, int32_t keepdims) {
  return make([&] { return mx::argmin(get(a), axis, keepdims != 0); });
}

int32_t mlxs_clip(int32_t a, double lo, double hi) {
  return make([&] {
    auto& x = get(a);
    std::optional<mx::array> l, h;
    if (!std::isnan(lo)) l = mx::array(lo, scalar_dtype(x.dtype(), lo));
    if (!std::isnan(hi)) h = mx::array(hi, scalar_dtype(x.dtype(), hi));
    return mx::clip(x, l, h);
  });
}

int32_t mlxs_where(int32_t cond, int32_t x, int32_t y) {
  return make([&] { return mx::where(get(cond), get(x), get(y)); });
}

int32_t mlxs_softmax(int32_t a, const int32_t* axes, int32_t naxes, int32_t precise) {
  return make([&] {
    if (naxes == 0) return mx::softmax(get(a), precise != 0);
    return mx::softmax(get(a), to_ints(axes, naxes), precise != 0);
  });
}

int32_t mlxs_cumsum(int32_t a, int32_t axis, int32_t reverse, int32_t inclusive) {
  return make([&] { return mx::cumsum(get(a), axis, reverse != 0, inclusive != 0); });
}

int32_t mlxs_sort(int32_t a, int32_t axis) {
  return make([&] { return mx::sort(get(a), axis); });
}

int32_t mlxs_argsort(int32_t a, int32_t axis) {
  return make([&] { return mx::argsort(get(a), axis); });
}

int32_t mlxs_argpartition(int32_t a, int32_t kth, int32_t axis) {
  return make([&] { return mx::argpartition(get(a), kth, axis); });
}

int32_t mlxs_topk(int32_t a, int32_t k, int32_t axis) {
  return make([&] { return mx::topk(get(a), k, axis); });
}

} // extern "C"
