// CPU primitives for the ops MLX composes from basic ops on the CPU (fused.cpp): one graph node where MLX's
// fallback builds 11 (rms_norm) or 29 (rope). Each returns nullopt where it does not apply (kernels off, a GPU
// stream, a dtype other than float32/bfloat16/float16); the caller then builds mx::fast's op.
#pragma once
#include "internal.h"

namespace mlxs {

std::optional<mx::array> fused_rms_norm(const mx::array& x, const std::optional<mx::array>& weight, float eps);

// mx::fast::rope with an int offset (offset_array null) or an int32 array of one offset or one per x.shape(0).
std::optional<mx::array> fused_rope(const mx::array& x, int dims, bool traditional, std::optional<float> base,
                                    float scale, int offset, const std::optional<mx::array>& offset_array,
                                    const std::optional<mx::array>& freqs);

} // namespace mlxs
