// Float vectors of 16 lanes for the vector primitives (swiglu.cpp, attention.cpp), whose bodies are compiled once
// per instruction set: GCC's vector extensions then use AVX-512, AVX2 + FMA or the baseline as the variant
// allows (these helpers are always inlined into it). The variant is picked at run time by pick_variant, on what
// the CPU supports. (GCC's target_clones would not do: its "arch=haswell" clone is chosen only on Haswell itself,
// and its "avx2" clone has no FMA, so std::fma becomes a libm call an element.)
#pragma once
#include <cstdint>

#if defined(__x86_64__)
#define MLXS_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define MLXS_TARGET_AVX2 __attribute__((target("avx2,fma")))
#endif

namespace mlxs::cpu {

// The best of a function's variants for this CPU (each argument: the same function built for one instruction set).
template <class F>
F* pick_variant([[maybe_unused]] F* avx512, [[maybe_unused]] F* avx2, F* baseline) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  const bool fma = __builtin_cpu_supports("fma");
  if (fma && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    return avx512;
  if (fma && __builtin_cpu_supports("avx2")) return avx2;
#endif
  return baseline;
}

typedef float V16 __attribute__((vector_size(64)));
typedef int32_t I16 __attribute__((vector_size(64)));

// Where `mask` (all ones or zeros per lane) is set, b; elsewhere a (bitwise, which GCC and Clang both take).
__attribute__((always_inline)) inline V16 select(I16 mask, V16 a, V16 b) { return (V16)(((I16)a & ~mask) | ((I16)b & mask)); }

// a·b + c rounded once, as std::fma (MLX's simd fma); GCC turns the lanes into vector FMAs where the clone has them.
__attribute__((always_inline)) inline V16 fma_v(V16 a, V16 b, V16 c) {
  V16 r;
  for (int l = 0; l < 16; l++) r[l] = __builtin_fmaf(a[l], b[l], c[l]);
  return r;
}

// MLX's simd::exp for float (mlx/backend/cpu/simd/math.h), lane by lane the same steps (and the same roundings
// where the including file is compiled with -ffp-contract=off): 2^floor(x·log2e + ½) by
// integer shifting, times a degree-6 polynomial in the rest; NaN stays NaN, beyond ±88 inf or 0. floor(t) is
// trunc(t) - (trunc(t) > t), exact where it matters (|t| < 2^31; past ±88 the lane is selected away).
__attribute__((always_inline)) inline V16 exp_v(V16 in) {
  const V16 y = in * 1.442695f;
  const V16 t = y + 0.5f;
  V16 ipart = __builtin_convertvector(__builtin_convertvector(t, I16), V16);
  ipart = select(ipart > t, ipart, ipart - 1.0f);
  const V16 f = y - ipart;
  V16 x = V16{} + 1.535336188319500e-4f;
  x = fma_v(x, f, V16{} + 1.339887440266574e-3f);
  x = fma_v(x, f, V16{} + 9.618437357674640e-3f);
  x = fma_v(x, f, V16{} + 5.550332471162809e-2f);
  x = fma_v(x, f, V16{} + 2.402264791363012e-1f);
  x = fma_v(x, f, V16{} + 6.931472028550421e-1f);
  x = fma_v(x, f, V16{} + 1.0f);
  const I16 e = (__builtin_convertvector(ipart, I16) + 127) << 23;
  V16 r = (V16)e * x;
  r = select(in != in, r, in);
  r = select(in > 88.0f, r, V16{} + __builtin_inff());
  r = select(in < -88.0f, r, V16{});
  return r;
}

} // namespace mlxs::cpu
