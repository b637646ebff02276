// The int8-activation kernel of qmv.h (AVX-512 VNNI; compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni):
// x is quantized to int8 in runs of 32 (one scale each, as llama.cpp's q8_0 blocks), and VPDPBUSD multiplies
// 64 unsigned weights (MLX's 4- or 8-bit q, 0..2^bits-1) by 64 signed activations, four products summed into
// each of its 16 int32 lanes, in one instruction. The float kernel spends a conversion and a multiply-add on
// every weight; this one spends one conversion and two float operations on every 16 lanes of 4 products.
//
// y[m,n] = Σ_block Σ_lanes dx[m, run(lane)] · s[n, group(lane)] · dot_lane(q, xq) + Σ_g b[n,g] · Σ_{k∈g} x[m,k] (+ bias[n]):
// the affine term uses the exact float sums of x, so only the Σ s·q·x part carries the activations' rounding.
#if defined(__x86_64__)
#include <immintrin.h>

#include "qmv.h"
#include "tiling.h"

namespace {

using mlxs::cpu::QmvArgs;
using mlxs::cpu::ScaleType;

// 64 weights as unsigned bytes in the order the int8 x is prepared in (qmv.h): 8-bit, as stored; 4-bit, the 32
// bytes of two 32-runs split into low nibbles (the even elements: run 0's in bytes 0-15, run 1's in 16-31) then
// high nibbles (the odd ones).
template <int BITS>
inline __m512i weights(const uint8_t* w) {
  if constexpr (BITS == 8) return _mm512_loadu_si512(w);
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
  const __m256i m = _mm256_set1_epi8(15);
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(b, m)),
                            _mm256_and_si256(_mm256_srli_epi16(b, 4), m), 1);
}

// Which of a block's lanes hold its second 32-run (the other group when the group size is 32): 8-bit, the upper
// 8 lanes; 4-bit, lanes 4-7 and 12-15 (run 1's evens, then its odds).
template <int BITS>
constexpr __mmask16 SECOND_RUN = BITS == 8 ? 0xFF00 : 0xF0F0;

inline float scale(const void* p, int64_t i, ScaleType t) { return mlxs::cpu::scale_at(p, i, t); }

// The 16 lanes' scales for the block starting at element k of column n.
template <int BITS>
inline __m512 lane_scales(const QmvArgs& a, int n, int k) {
  const int groups = a.K / a.group_size, g0 = k / a.group_size, g1 = (k + 32) / a.group_size;
  const int64_t row = static_cast<int64_t>(n) * groups;
  const __m512 s0 = _mm512_set1_ps(scale(a.scales, row + g0, a.scale_type));
  if (g1 == g0) return s0;
  return _mm512_mask_blend_ps(SECOND_RUN<BITS>, s0, _mm512_set1_ps(scale(a.scales, row + g1, a.scale_type)));
}

// Σ_g biases[n,g] · xsum[m,g]: the affine offset, 16 groups at a time.
inline float offset(const QmvArgs& a, int n, int m) {
  const int groups = a.K / a.group_size;
  const int64_t base = static_cast<int64_t>(n) * groups;
  const float* xs = a.xsum + static_cast<int64_t>(m) * groups;
  __m512 acc = _mm512_setzero_ps();
  for (int g = 0; g < groups; g += 16) {
    const __mmask16 live = groups - g >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (groups - g)) - 1);
    __m512 b;
    switch (a.scale_type) {
      case ScaleType::BF16:
        b = _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(live, static_cast<const uint16_t*>(a.biases) + base + g)), 16));
        break;
      case ScaleType::F16:
        b = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(live, static_cast<const uint16_t*>(a.biases) + base + g));
        break;
      default: b = _mm512_maskz_loadu_ps(live, static_cast<const float*>(a.biases) + base + g); break;
    }
    acc = _mm512_fmadd_ps(b, _mm512_maskz_loadu_ps(live, xs + g), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

struct Tiles {
// Rows [m0, m0+MT) of x against columns [n0, n0+NR) of W: every weight block is unpacked once for the MT rows.
template <int BITS, int MT, int NR>
static void tile(const QmvArgs& a, int m0, int n0) {
  const int row_bytes = a.K * BITS / 8;
  const int blocks = a.K / 64;
  __m512 acc[MT][NR];
  for (int m = 0; m < MT; m++)
    for (int r = 0; r < NR; r++) acc[m][r] = _mm512_setzero_ps();
  for (int blk = 0; blk < blocks; blk++) {
    const int k = blk * 64;
    __m512i w[NR];
    __m512 s[NR];
    for (int r = 0; r < NR; r++) {
      w[r] = weights<BITS>(a.w + static_cast<int64_t>(n0 + r) * row_bytes + k * BITS / 8);
      s[r] = lane_scales<BITS>(a, n0 + r, k);
    }
    for (int m = 0; m < MT; m++) {
      const int64_t row = static_cast<int64_t>(m0 + m);
      const __m512i xq = _mm512_loadu_si512(a.xq + row * a.K + k);
      const __m512 dx = _mm512_loadu_ps(a.xd + (row * blocks + blk) * 16);
      for (int r = 0; r < NR; r++) {
        const __m512 dot = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), w[r], xq));
        acc[m][r] = _mm512_fmadd_ps(_mm512_mul_ps(dot, dx), s[r], acc[m][r]);
      }
    }
  }
  for (int m = 0; m < MT; m++)
    for (int r = 0; r < NR; r++) {
      float v = _mm512_reduce_add_ps(acc[m][r]) + offset(a, n0 + r, m0 + m);
      if (a.bias) v += a.bias[n0 + r];
      a.y[static_cast<int64_t>(m0 + m) * a.N + n0 + r] = v;
    }
}

};

void qmv_int8(const QmvArgs& a, int n0, int n1) {
  if (a.bits == 4) mlxs::cpu::walk_tiles<Tiles, 4>(a, n0, n1);
  else mlxs::cpu::walk_tiles<Tiles, 8>(a, n0, n1);
}

} // namespace

mlxs::cpu::QmvFn mlxs::cpu::qmv_vnni() { return qmv_int8; }
#endif
