// The kernel of qmv.h, written once in GCC/Clang vector extensions and compiled per instruction set:
// the including file defines QMV_LANES (floats per vector) and its compiler flags pick the instructions
// (AVX-512, AVX2 + FMA, or the baseline: SSE2 on x86-64, NEON on arm64).
//
// Per output (row m, column n): y = Σ_k (s[n,g(k)]·q[n,k] + b[n,g(k)]) · x[m,k] (+ bias[n]): each weight is
// dequantized as MLX dequantizes (one conversion, one multiply-add) once per tile of rows, then costs one
// multiply-add per row. Rows of W are walked in blocks that stay in L1 while every tile of x passes over them.
#include <algorithm>
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

// A 32-run of weights as floats q (before scale and bias), 32/L vectors in the order x is prepared in: 4-bit,
// the low nibbles of the run's 16 bytes (its even elements) then the high nibbles (its odd ones); 8-bit, as
// stored. Compilers scalarize uint8 lane arithmetic and __builtin_convertvector from uint8 lanes, so each
// instruction set spells it out: on AVX2 and AVX-512 the bytes are widened straight from memory to 32-bit lanes
// (one shuffle a vector), where a nibble is one mask or one shift.
#if defined(__x86_64__) && (defined(__AVX512F__) || defined(__AVX2__))
#if defined(__AVX512F__)
static_assert(L == 16);
typedef __m512i Wide;
inline Wide widen_bytes(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline F to_float(Wide v) { return (F)_mm512_cvtepi32_ps(v); }
inline Wide low4(Wide v) { return _mm512_and_si512(v, _mm512_set1_epi32(15)); }
inline Wide high4(Wide v) { return _mm512_srli_epi32(v, 4); }
#else
static_assert(L == 8);
typedef __m256i Wide;
inline Wide widen_bytes(const uint8_t* p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))); }
inline F to_float(Wide v) { return (F)_mm256_cvtepi32_ps(v); }
inline Wide low4(Wide v) { return _mm256_and_si256(v, _mm256_set1_epi32(15)); }
inline Wide high4(Wide v) { return _mm256_srli_epi32(v, 4); }
#endif
template <int BITS>
inline void unpack_run(const uint8_t* p, F* out) {
  if constexpr (BITS == 4) {
    UNROLL
    for (int h = 0; h < 16 / L; h++) {
      const Wide v = widen_bytes(p + h * L);
      out[h] = to_float(low4(v));
      out[16 / L + h] = to_float(high4(v));
    }
  } else {
    UNROLL
    for (int h = 0; h < 32 / L; h++) out[h] = to_float(widen_bytes(p + h * L));
  }
}
#else
#if defined(__x86_64__)
typedef __m128i Bytes;
inline Bytes load_bytes(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline Bytes low_nibbles(Bytes b) { return _mm_and_si128(b, _mm_set1_epi8(15)); }
inline Bytes high_nibbles(Bytes b) { return _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(15)); }
// Bytes [part·L, part·L + L) as floats.
template <int part>
inline F widen(Bytes b) {
  static_assert(L == 4);
  const __m128i z = _mm_setzero_si128();
  const __m128i h = part < 2 ? _mm_unpacklo_epi8(b, z) : _mm_unpackhi_epi8(b, z);
  return (F)_mm_cvtepi32_ps(part % 2 == 0 ? _mm_unpacklo_epi16(h, z) : _mm_unpackhi_epi16(h, z));
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
// 16 bytes → 4 vectors of 4 floats.
inline void widen_all(Bytes b, F* out) {
  out[0] = widen<0>(b);
  out[1] = widen<1>(b);
  out[2] = widen<2>(b);
  out[3] = widen<3>(b);
}
template <int BITS>
inline void unpack_run(const uint8_t* p, F* out) {
  if constexpr (BITS == 4) {
    const Bytes b = load_bytes(p);
    widen_all(low_nibbles(b), out);
    widen_all(high_nibbles(b), out + 4);
  } else {
    widen_all(load_bytes(p), out);
    widen_all(load_bytes(p + 16), out + 4);
  }
}
#endif

inline float hsum(F v) {
#if defined(__AVX512F__)
  return _mm512_reduce_add_ps((__m512)v);
#else
  float s = 0;
  for (int i = 0; i < L; i++) s += v[i];
  return s;
#endif
}

template <mlxs::cpu::ScaleType ST>
inline float scale_of(const void* p, int64_t i) {
  if constexpr (ST == mlxs::cpu::ScaleType::F32) return static_cast<const float*>(p)[i];
  else if constexpr (ST == mlxs::cpu::ScaleType::BF16) return mlxs::cpu::bf16_to_float(static_cast<const uint16_t*>(p)[i]);
#if defined(__F16C__)
  else return _cvtsh_ss(static_cast<const uint16_t*>(p)[i]);
#else
  else return mlxs::cpu::f16_to_float(static_cast<const uint16_t*>(p)[i]);
#endif
}

// One tile: rows [m0, m0+MT) of x against columns [n0, n0+NR) of W. Each weight is expanded once per tile to its
// float value s·q + b (MLX's dequantization, the same operation as dequant() below) and meets every row of the
// tile in one multiply-add. Every output is one accumulator chain over k in order, summed across lanes at the
// end, whatever the tile's shape: a row gets the same bits alone and in a batch. The walk keeps MT·NR = 8
// chains where it can, enough independent multiply-adds to fill the FMA units.
template <mlxs::cpu::ScaleType ST, int BITS, int MT, int NR>
void tile(const mlxs::cpu::QmvArgs& a, int m0, int n0) {
  const int gs = a.group_size;
  const int groups = a.K / gs;
  const int row_bytes = a.K * BITS / 8;
  F acc[MT][NR];
  UNROLL
  for (int m = 0; m < MT; m++)
    UNROLL
    for (int r = 0; r < NR; r++) acc[m][r] = F{};
  const float* xrow[MT];
  UNROLL
  for (int m = 0; m < MT; m++) xrow[m] = a.x + static_cast<int64_t>(m0 + m) * a.K;

  const uint8_t* wrow[NR];
  UNROLL
  for (int r = 0; r < NR; r++) wrow[r] = a.w + static_cast<int64_t>(n0 + r) * row_bytes;

  for (int g = 0; g < groups; g++) {
    F s[NR], b[NR];
    UNROLL
    for (int r = 0; r < NR; r++) {
      const int64_t sg = static_cast<int64_t>(n0 + r) * groups + g;
      s[r] = F{} + scale_of<ST>(a.scales, sg);
      b[r] = F{} + scale_of<ST>(a.biases, sg);
    }
    for (int k = g * gs; k < (g + 1) * gs; k += 32) {
      UNROLL
      for (int r = 0; r < NR; r++) {
        // the same run of the next tile's column: rows of W are contiguous, and the tile reads NR of them at once,
        // more interleaved streams than the hardware prefetcher follows (a vocabulary-sized head ran at a third of
        // the memory's bandwidth without this)
        __builtin_prefetch(wrow[r] + static_cast<int64_t>(NR) * row_bytes + k * BITS / 8);
        F w[32 / L];
        unpack_run<BITS>(wrow[r] + k * BITS / 8, w);
        UNROLL
        for (int h = 0; h < 32 / L; h++) {
          const F wv = w[h] * s[r] + b[r];
          UNROLL
          for (int m = 0; m < MT; m++) acc[m][r] += wv * load(xrow[m] + k + h * L);
        }
      }
    }
  }
  UNROLL
  for (int m = 0; m < MT; m++)
    UNROLL
    for (int r = 0; r < NR; r++) {
      float v = hsum(acc[m][r]);
      if (a.bias) v += a.bias[n0 + r];
      a.y[static_cast<int64_t>(m0 + m) * a.N + n0 + r] = v;
    }
}

// Columns [n0, n1) of rows [m0, m0+MT): NR = 8/MT columns a tile, single columns at the end.
template <mlxs::cpu::ScaleType ST, int BITS, int MT>
void columns(const mlxs::cpu::QmvArgs& a, int m0, int n0, int n1) {
  constexpr int NR = 8 / MT;
  int n = n0;
  for (; n + NR <= n1; n += NR) tile<ST, BITS, MT, NR>(a, m0, n);
  if constexpr (NR > 1)
    for (; n < n1; n++) tile<ST, BITS, MT, 1>(a, m0, n);
}

// Columns [n0, n1) of every row of x: rows in tiles of 8, 4, 2, 1; with more than one row, columns in blocks that
// stay in L1 while every tile of rows passes over them (tiling.h's TILE_COLUMNS and TILE_ROWS).
template <mlxs::cpu::ScaleType ST, int BITS>
void walk(const mlxs::cpu::QmvArgs& a, int n0, int n1) {
  if (a.M == 1) return columns<ST, BITS, 1>(a, 0, n0, n1);
  for (int mb = 0; mb < a.M; mb += mlxs::cpu::TILE_ROWS) {
    const int me = std::min(mb + mlxs::cpu::TILE_ROWS, a.M);
    for (int nb = n0; nb < n1; nb += mlxs::cpu::TILE_COLUMNS) {
      const int ne = std::min(nb + mlxs::cpu::TILE_COLUMNS, n1);
      int m = mb;
      for (; m + 8 <= me; m += 8) columns<ST, BITS, 8>(a, m, nb, ne);
      if (m + 4 <= me) columns<ST, BITS, 4>(a, m, nb, ne), m += 4;
      if (m + 2 <= me) columns<ST, BITS, 2>(a, m, nb, ne), m += 2;
      if (m < me) columns<ST, BITS, 1>(a, m, nb, ne);
    }
  }
}

template <mlxs::cpu::ScaleType ST, int BITS>
void dequant_rows(const mlxs::cpu::QmvArgs& a, int n0, int n1, float* out) {
  const int gs = a.group_size, groups = a.K / gs, row_bytes = a.K * BITS / 8;
  for (int n = n0; n < n1; n++) {
    const uint8_t* w = a.w + static_cast<int64_t>(n) * row_bytes;
    float* dst = out + static_cast<int64_t>(n - n0) * a.K;
    for (int g = 0; g < groups; g++) {
      const int64_t sg = static_cast<int64_t>(n) * groups + g;
      const F s = F{} + scale_of<ST>(a.scales, sg), b = F{} + scale_of<ST>(a.biases, sg);
      for (int k = g * gs; k < (g + 1) * gs; k += 32) {
        F q[32 / L];
        unpack_run<BITS>(w + k * BITS / 8, q);
        UNROLL
        for (int h = 0; h < 32 / L; h++) {
          const F v = q[h] * s + b;
          std::memcpy(dst + k + h * L, &v, sizeof v);
        }
      }
    }
  }
}

// f<ST, BITS> for the call's scale type and bit width.
template <template <mlxs::cpu::ScaleType, int> class Fn, class... Args>
void by_type(const mlxs::cpu::QmvArgs& a, Args... args) {
  using mlxs::cpu::ScaleType;
  const bool four = a.bits == 4;
  switch (a.scale_type) {
    case ScaleType::BF16: return four ? Fn<ScaleType::BF16, 4>::run(a, args...) : Fn<ScaleType::BF16, 8>::run(a, args...);
    case ScaleType::F16: return four ? Fn<ScaleType::F16, 4>::run(a, args...) : Fn<ScaleType::F16, 8>::run(a, args...);
    default: return four ? Fn<ScaleType::F32, 4>::run(a, args...) : Fn<ScaleType::F32, 8>::run(a, args...);
  }
}
template <mlxs::cpu::ScaleType ST, int BITS>
struct Walk {
  static void run(const mlxs::cpu::QmvArgs& a, int n0, int n1) { walk<ST, BITS>(a, n0, n1); }
};
template <mlxs::cpu::ScaleType ST, int BITS>
struct Dequant {
  static void run(const mlxs::cpu::QmvArgs& a, int n0, int n1, float* out) { dequant_rows<ST, BITS>(a, n0, n1, out); }
};

void dequant(const mlxs::cpu::QmvArgs& a, int n0, int n1, float* out) { by_type<Dequant>(a, n0, n1, out); }

void qmv(const mlxs::cpu::QmvArgs& a, int n0, int n1) { by_type<Walk>(a, n0, n1); }

} // namespace
