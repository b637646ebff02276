// The quantized matrix-vector kernels behind the QLinear primitive (qlinear.cpp): y = x · dequant(W)ᵀ (+ bias)
// over MLX's packed affine weights, computed from the packed bits without a float copy of W.
// One source (qmv_kernel.h) compiled per instruction set; qlinear.cpp picks one at run time.
#pragma once
#include <cstdint>

namespace mlxs::cpu {

// How scales and biases are stored (mlx-community keeps bfloat16, our GGUF repack float32).
enum class ScaleType { F32, BF16, F16 };

inline float bf16_to_float(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

// float → bfloat16 bits, rounding to nearest even as MLX's conversions do; NaN stays NaN.
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, 4);
  if ((u & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

// IEEE half → float, exact (subnormals, infinities and NaN included).
inline float f16_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
  if (exp == 0x1f) u = sign | 0x7f800000 | (man << 13);
  else if (exp != 0) u = sign | ((exp + 112) << 23) | (man << 13);
  else if (man == 0) u = sign;
  else {
    exp = 113;
    while (!(man & 0x400)) {
      man <<= 1;
      exp--;
    }
    u = sign | (exp << 23) | ((man & 0x3ff) << 13);
  }
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

inline float scale_at(const void* p, int64_t i, ScaleType t) {
  switch (t) {
    case ScaleType::BF16: return bf16_to_float(static_cast<const uint16_t*>(p)[i]);
    case ScaleType::F16: return f16_to_float(static_cast<const uint16_t*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

// One call's operands. x is prepared by the caller: float32, row-major M × K, and for 4-bit weights each run
// of 32 values is de-interleaved (the 16 even positions, then the 16 odd ones) to match the nibble order of a
// packed byte (element 2i in the low nibble, 2i+1 in the high). xsum holds Σx over each quantization group.
struct QmvArgs {
  const float* x;
  const float* xsum;   // M × (K / group_size)
  const uint8_t* w;    // N × (K · bits / 8), MLX's uint32 words read as little-endian bytes
  const void* scales;  // N × (K / group_size), of type scale_type
  const void* biases;  // N × (K / group_size), of type scale_type
  const float* bias;   // N, or null
  float* y;            // M × N
  int M, N, K, group_size, bits;
  ScaleType scale_type;
  // The int8 kernel's x instead of the floats (K a multiple of 64): each 32-run of x rounded to int8 at its own
  // scale; in blocks of 64, 4-bit: the two runs reordered as run 0's even positions, run 1's even, run 0's odd,
  // run 1's odd (the order their packed bytes unpack to), 8-bit: as stored. xd: M × (K / 64) × 16, each block's
  // scales spread over the 16 int32 lanes of VPDPBUSD that its two runs fall in.
  const int8_t* xq;
  const float* xd;
};

// Computes the output columns [n0, n1) for every row of x.
using QmvFn = void (*)(const QmvArgs&, int n0, int n1);
// Writes rows [n0, n1) of W as floats ((n1 - n0) × K), each 32-run in the order x is prepared in (4-bit:
// de-interleaved), so that a float GEMM of the prepared x against them gives y (prompt-sized batches).
using DequantFn = void (*)(const QmvArgs&, int n0, int n1, float* out);

struct Kernels {
  QmvFn qmv;
  DequantFn dequant;
};

Kernels qmv_generic();
#if defined(__x86_64__)
Kernels qmv_avx2();
Kernels qmv_avx512();
// The int8-activation matrix-vector kernel (AVX-512 VNNI): reads xq and xd, not x.
QmvFn qmv_vnni();
// The same on AVX2 (VPMADDUBSW), 4-bit weights only.
QmvFn qmv_int8_avx2();
#endif

} // namespace mlxs::cpu
