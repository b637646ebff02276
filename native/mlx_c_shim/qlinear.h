// The CPU quantized-linear op of qlinear.cpp, for nn.cpp's linear and quantized_matmul.
#pragma once
#include "internal.h"

namespace mlxs {

// The default stream when the shim's CPU kernels are on and it is a CPU stream; else nullopt (MLX's ops run).
std::optional<mx::Stream> kernel_stream();

// The QLinear primitive for y = x · dequant(w)ᵀ (+ bias), or nullopt where it does not apply (disabled, a GPU
// stream, a mode or bit width other than affine 4/8, operands not yet evaluated or not float32): the caller
// then builds MLX's own op.
std::optional<mx::array> qlinear(const mx::array& x, const mx::array& w, const mx::array& scales,
                                 const std::optional<mx::array>& biases, const std::optional<mx::array>& bias,
                                 int group_size, int bits, const std::string& mode);

} // namespace mlxs
