// mlx.nn.gelu as one CPU primitive over float32 (gelu.cpp), for elementwise.cpp's unary: nullopt where it does not
// apply (kernels off, a GPU stream, another dtype); the caller then builds MLX's compiled op.
#pragma once
#include "internal.h"

namespace mlxs {

std::optional<mx::array> fused_gelu(const mx::array& x);

} // namespace mlxs
