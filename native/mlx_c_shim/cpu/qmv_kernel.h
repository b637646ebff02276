// The kernel of qmv.h, written once in GCC/Clang vector extensions and compiled per instruction set:
// the including file defines QMV_LANES (floats per vector) and its compiler flags pick the instructions
// (AVX-512, AVX2 + FMA, or the baseline: SSE2 on x86-64, NEON on arm64).
//
// Per output (row m, column n): y = Σ_g s[n,g] · Σ_{k∈g} q[n,k] x[m,k] + Σ_g b[n,g] · Σ_{k∈g} x[m,k] (+ bias[n]),
// MLX's affine dequantization w = s·q + b distributed over the group, so each weight costs one integer → float
// conversion and one fused multiply-add. A tile of MT rows of x × NR columns of W shares every weight load
// and every x load; rows of W are walked in blocks that stay in L1 while every tile of x passes over them.
#include <cstring>

#include "qmv.h"
#include "tiling.h"
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace {

constexpr int L = QMV_LANES;
typedef float F __attribute__((vector_size(L * 4)));
typedef int32_t I __attribute__((vector_size(L * 4)));

#define UNROLL _Pragma("GCC unroll 16")

inline F load(const float* p) {
  F v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// 16 packed bytes, split into nibbles and widened to floats L at a time. Compilers scalarize uint8 lane
// arithmetic and __builtin_convertvector from uint8 lanes, so each instruction set spells it out.
#if defined(__x86_64__)
typedef __m128i Bytes;
inline Bytes load_bytes(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline Bytes low_nibbles(Bytes b) { return _mm_and_si128(b, _mm_set1_epi8(15)); }
inline Bytes high_nibbles(Bytes b) { return _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(15)); }
// Bytes [part·L, part·L + L) as floats.
template <int part>
inline F widen(Bytes b) {
#if defined(__AVX512F__)
  static_assert(L == 16);
  return (F)_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
#elif defined(__AVX2__)
  static_assert(L == 8);
  return (F)_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(part == 0 ? b : _mm_srli_si128(b, 8)));
#else
  static_assert(L == 4);
  const __m128i z = _mm_setzero_si128();
  const __m128i h = part < 2 ? _mm_unpacklo_epi8(b, z) : _mm_unpackhi_epi8(b, z);
  return (F)_mm_cvtepi32_ps(part % 2 == 0 ? _mm_unpacklo_epi16(h, z) : _mm_unpackhi_epi16(h, z));
#endif
}
#elif defined(__aarch64__)
typedef uint8x16_t Bytes;
inline Bytes load_bytes(const uint8_t* p) { return vld1q_u8(p); }
inline Bytes low_nibbles(Bytes b) { return vandq_u8(b, vdupq_n_u8(15)); }
inline Bytes high_nibbles(Bytes b) { return vshrq_n_u8(b, 4); }
template <int part>
inline F widen(Bytes b) {
  static_assert(L == 4);
  const uint16x8_t h = part < 2 ? vmovl_u8(vget_low_u8(b)) : vmovl_u8(vget_high_u8(b));
  return (F)vcvtq_f32_u32(part % 2 == 0 ? vmovl_u16(vget_low_u16(h)) : vmovl_u16(vget_high_u16(h)));
}
#else
typedef uint8_t Bytes __attribute__((vector_size(16)));
inline Bytes load_bytes(const uint8_t* p) {
  Bytes v;
  std::memcpy(&v, p, 16);
  return v;
}
inline Bytes low_nibbles(Bytes b) { return b & 15; }
inline Bytes high_nibbles(Bytes b) { return b >> 4; }
template <int part>
inline F widen(Bytes b) {
  F f;
  for (int i = 0; i < L; i++) f[i] = b[part * L + i];
  return f;
}
#endif

// widen<part> for every part of a 16-byte chunk: 16/L vectors.
inline void widen_all(Bytes b, F* out) {
  out[0] = widen<0>(b);
  if constexpr (L <= 8) out[1] = widen<1>(b);
  if constexpr (L <= 4) {
    out[2] = widen<2>(b);
    out[3] = widen<3>(b);
  }
}

inline float hsum(F v) {
#if defined(__AVX512F__)
  return _mm512_reduce_add_ps((__m512)v);
#else
  float s = 0;
  for (int i = 0; i < L; i++) s += v[i];
  return s;
#endif
}

struct Tiles {
// One tile: rows [m0, m0+MT) of x against columns [n0, n0+NR) of W.
template <int BITS, int MT, int NR>
static void tile(const mlxs::cpu::QmvArgs& a, int m0, int n0) {
  const int gs = a.group_size;
  const int groups = a.K / gs;
  const int row_bytes = a.K * BITS / 8;
  F acc[MT][NR];
  float offset[MT][NR];
  UNROLL
  for (int m = 0; m < MT; m++)
    UNROLL
    for (int r = 0; r < NR; r++) {
      acc[m][r] = F{};
      offset[m][r] = 0;
    }
  const uint8_t* wrow[NR];
  UNROLL
  for (int r = 0; r < NR; r++) wrow[r] = a.w + static_cast<int64_t>(n0 + r) * row_bytes;
  const float* xrow[MT];
  UNROLL
  for (int m = 0; m < MT; m++) xrow[m] = a.x + static_cast<int64_t>(m0 + m) * a.K;

  for (int g = 0; g < groups; g++) {
    F lo[MT][NR], hi[MT][NR]; // two partial sums per output: independent FMA chains
    UNROLL
    for (int m = 0; m < MT; m++)
      UNROLL
      for (int r = 0; r < NR; r++) lo[m][r] = hi[m][r] = F{};
    for (int k = g * gs; k < (g + 1) * gs; k += 32) {
      if constexpr (BITS == 4) {
        F wl[NR][16 / L], wh[NR][16 / L];
        UNROLL
        for (int r = 0; r < NR; r++) {
          const Bytes b = load_bytes(wrow[r] + k / 2);
          widen_all(low_nibbles(b), wl[r]);
          widen_all(high_nibbles(b), wh[r]);
        }
        UNROLL
        for (int m = 0; m < MT; m++) {
          UNROLL
          for (int h = 0; h < 16 / L; h++) {
            const F xl = load(xrow[m] + k + h * L), xh = load(xrow[m] + k + 16 + h * L);
            UNROLL
            for (int r = 0; r < NR; r++) {
              lo[m][r] += wl[r][h] * xl;
              hi[m][r] += wh[r][h] * xh;
            }
          }
        }
      } else {
        F w0[NR][16 / L], w1[NR][16 / L];
        UNROLL
        for (int r = 0; r < NR; r++) {
          widen_all(load_bytes(wrow[r] + k), w0[r]);
          widen_all(load_bytes(wrow[r] + k + 16), w1[r]);
        }
        UNROLL
        for (int m = 0; m < MT; m++) {
          UNROLL
          for (int h = 0; h < 16 / L; h++) {
            const F x0 = load(xrow[m] + k + h * L), x1 = load(xrow[m] + k + 16 + h * L);
            UNROLL
            for (int r = 0; r < NR; r++) {
              lo[m][r] += w0[r][h] * x0;
              hi[m][r] += w1[r][h] * x1;
            }
          }
        }
      }
    }
    for (int r = 0; r < NR; r++) {
      const int64_t sg = static_cast<int64_t>(n0 + r) * groups + g;
      const float s = mlxs::cpu::scale_at(a.scales, sg, a.scale_type);
      const float b = mlxs::cpu::scale_at(a.biases, sg, a.scale_type);
      UNROLL
      for (int m = 0; m < MT; m++) {
        acc[m][r] += s * (lo[m][r] + hi[m][r]);
        offset[m][r] += b * a.xsum[static_cast<int64_t>(m0 + m) * groups + g];
      }
    }
  }
  UNROLL
  for (int m = 0; m < MT; m++)
    UNROLL
    for (int r = 0; r < NR; r++) {
      float v = hsum(acc[m][r]) + offset[m][r];
      if (a.bias) v += a.bias[n0 + r];
      a.y[static_cast<int64_t>(m0 + m) * a.N + n0 + r] = v;
    }
}

};

void dequant(const mlxs::cpu::QmvArgs& a, int n0, int n1, float* out) {
  const int gs = a.group_size, groups = a.K / gs, row_bytes = a.K * a.bits / 8;
  for (int n = n0; n < n1; n++) {
    const uint8_t* w = a.w + static_cast<int64_t>(n) * row_bytes;
    float* dst = out + static_cast<int64_t>(n - n0) * a.K;
    for (int g = 0; g < groups; g++) {
      const int64_t sg = static_cast<int64_t>(n) * groups + g;
      const F s = F{} + mlxs::cpu::scale_at(a.scales, sg, a.scale_type);
      const F b = F{} + mlxs::cpu::scale_at(a.biases, sg, a.scale_type);
      for (int k = g * gs; k < (g + 1) * gs; k += 32) {
        F lo[16 / L], hi[16 / L];
        if (a.bits == 4) {
          const Bytes v = load_bytes(w + k / 2);
          widen_all(low_nibbles(v), lo);
          widen_all(high_nibbles(v), hi);
        } else {
          widen_all(load_bytes(w + k), lo);
          widen_all(load_bytes(w + k + 16), hi);
        }
        UNROLL
        for (int h = 0; h < 16 / L; h++) {
          const F a0 = s * lo[h] + b, a1 = s * hi[h] + b;
          std::memcpy(dst + k + h * L, &a0, sizeof a0);
          std::memcpy(dst + k + 16 + h * L, &a1, sizeof a1);
        }
      }
    }
  }
}

void qmv(const mlxs::cpu::QmvArgs& a, int n0, int n1) {
  if (a.bits == 4) mlxs::cpu::walk_tiles<Tiles, 4>(a, n0, n1);
  else mlxs::cpu::walk_tiles<Tiles, 8>(a, n0, n1);
}

} // namespace
