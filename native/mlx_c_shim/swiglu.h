// silu(gate) · up as one CPU primitive over float32 (swiglu.cpp), for nn.cpp's swiglu: nullopt where it does not
// apply (kernels off, a GPU stream, another dtype, operands of different shapes); the caller then builds MLX's
// compiled op.
#pragma once
#include "internal.h"

namespace mlxs {

std::optional<mx::array> fused_swiglu(const mx::array& gate, const mx::array& up);
// gelu_approx(gate) · up likewise (within float32 rounding of MLX's compiled op, not its bits)
std::optional<mx::array> fused_geglu_approx(const mx::array& gate, const mx::array& up);

} // namespace mlxs
