// logsumexp over the last axis as one CPU primitive over float32 (logsumexp.cpp), for elementwise.cpp's reduce:
// nullopt where it does not apply (kernels off, a GPU stream, another dtype or axis); the caller then builds MLX's op.
#pragma once
#include "internal.h"

namespace mlxs {

std::optional<mx::array> fused_logsumexp(const mx::array& a, const std::vector<int>& axes, bool keepdims);

} // namespace mlxs
