// The CPU quantized-linear op of qlinear.cpp, for nn.cpp's linear and quantized_matmul.
#pragma once
#include "internal.h"
#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"

namespace mlxs {

// What every eval_cpu of the shim's primitives does: allocate the output, then run body(inputs, output) on the
// stream's thread, holding weak copies of the arrays as MLX's own CPU primitives do.
template <class Body>
void dispatch_cpu(mx::Stream s, const std::vector<mx::array>& in, mx::array& out, Body body) {
  out.set_data(mx::allocator::malloc(out.nbytes()));
  auto& enc = mx::cpu::get_command_encoder(s);
  std::vector<mx::array> args;
  for (auto& a : in) {
    enc.set_input_array(a);
    args.push_back(mx::array::unsafe_weak_copy(a));
  }
  enc.set_output_array(out);
  enc.dispatch([args = std::move(args), out = mx::array::unsafe_weak_copy(out), body = std::move(body)]() mutable {
    body(args, out);
  });
}

// The default stream when the shim's CPU kernels are on and it is a CPU stream; else nullopt (MLX's ops run).
std::optional<mx::Stream> kernel_stream();

// The QLinear primitive for y = x · dequant(w)ᵀ (+ bias), or nullopt where it does not apply (disabled, a GPU
// stream, a mode or bit width other than affine 4/8, operands not yet evaluated or not float32): the caller
// then builds MLX's own op.
std::optional<mx::array> qlinear(const mx::array& x, const mx::array& w, const mx::array& scales,
                                 const std::optional<mx::array>& biases, const std::optional<mx::array>& bias,
                                 int group_size, int bits, const std::string& mode, bool q8 = false);

} // namespace mlxs
