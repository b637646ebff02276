// Attention for a few queries as one CPU primitive (attention.cpp), for nn.cpp's sdpa: nullopt where it does not
// apply (kernels off, a GPU stream, not float32, more than a prefill chunk of queries); the caller then builds
// mx::fast's op.
#pragma once
#include "internal.h"

namespace mlxs {

// q (B, Hq, L, D), k (B, Hkv, T, D), v (B, Hkv, T, Dv), Hq a multiple of Hkv. causal: query i sees keys up to
// T - L + i; starts (int32, B): row b's first key (the columns before it are a batch's left padding).
std::optional<mx::array> fused_attention(const mx::array& q, const mx::array& k, const mx::array& v, float scale,
                                         bool causal, const std::optional<mx::array>& starts);

} // namespace mlxs
