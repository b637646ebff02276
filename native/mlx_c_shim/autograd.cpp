// Reverse-mode gradients of a function written in TypeScript (a model's loss). MLX traces the function by calling it
// once, synchronously, on this thread (mlx/transforms.h: the trace state is thread-local), so the function is a
// bun:ffi callback called right here: it gets the traced inputs as handles and hands back its outputs' handles. Its
// own errors stay on the TS side (a negative return); here they only end the trace.
#include <stdexcept>

#include "internal.h"

using namespace mlxs;

namespace {

// fn as an MLX function: it gets its inputs as new handles (which it frees) and hands back its outputs' handles.
std::function<std::vector<mx::array>(const std::vector<mx::array>&)> as_function(mlxs_fn fn, void* payload, const char* what) {
  return [fn, payload, what](const std::vector<mx::array>& xs) -> std::vector<mx::array> {
    std::vector<int32_t> in;
    in.reserve(xs.size());
    for (const auto& x : xs) in.push_back(put(x));
    std::vector<int32_t> res(MLXS_MAX_OUTPUTS, 0);
    // the callback frees its inputs' handles itself, whatever happens
    int32_t k = fn(in.data(), static_cast<int32_t>(in.size()), res.data(), MLXS_MAX_OUTPUTS, payload);
    if (k <= 0 || k > MLXS_MAX_OUTPUTS) throw std::runtime_error(std::string(what) + ": the traced function failed");
    std::vector<mx::array> outs;
    outs.reserve(k);
    for (int32_t i = 0; i < k; i++) {
      outs.push_back(get(res[i]));
      mlxs_free(res[i]);
    }
    return outs;
  };
}

}  // namespace

extern "C" int32_t mlxs_value_and_grad(mlxs_fn fn, void* payload, const int32_t* primals, int32_t n, const int32_t* argnums,
                                       int32_t nargs, int32_t* out, int32_t cap, int32_t* nvalues) {
  return guard<int32_t>(-1, [&]() -> int32_t {
    if (!fn) throw std::invalid_argument("value_and_grad: no function");
    auto inputs = to_arrays(primals, n);
    auto traced = as_function(fn, payload, "value_and_grad");
    auto [values, grads] = mx::value_and_grad(traced, to_ints(argnums, nargs))(inputs);
    const auto total = static_cast<int32_t>(values.size() + grads.size());
    if (total > cap) throw std::invalid_argument("value_and_grad: " + std::to_string(total) + " results for " + std::to_string(cap) + " slots");
    int32_t i = 0;
    for (auto& v : values) out[i++] = put(v);
    for (auto& g : grads) out[i++] = put(g);
    *nvalues = static_cast<int32_t>(values.size());
    return total;
  });
}

// mx::checkpoint: fn's outputs now, and under a gradient its activations recomputed in the backward pass (fn is
// called again then, with the same payload: the caller keeps it callable until the gradient is taken).
extern "C" int32_t mlxs_checkpoint(mlxs_fn fn, void* payload, const int32_t* inputs, int32_t n, int32_t* out, int32_t cap) {
  return guard<int32_t>(-1, [&]() -> int32_t {
    if (!fn) throw std::invalid_argument("checkpoint: no function");
    auto outs = mx::checkpoint(as_function(fn, payload, "checkpoint"))(to_arrays(inputs, n));
    const auto total = static_cast<int32_t>(outs.size());
    if (total > cap) throw std::invalid_argument("checkpoint: " + std::to_string(total) + " outputs for " + std::to_string(cap) + " slots");
    for (int32_t i = 0; i < total; i++) out[i] = put(outs[i]);
    return total;
  });
}
