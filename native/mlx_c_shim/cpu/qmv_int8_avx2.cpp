// The int8-activation kernel of qmv.h on AVX2 (compiled with -mavx2 -mfma -mf16c): the same operands and the same
// sums as the AVX-512 VNNI kernel (qmv_vnni.cpp), x rounded to int8 in runs of 32 (llama.cpp's q8 blocks), but
// without VPDPBUSD: VPMADDUBSW multiplies 32 unsigned 4-bit weights by 32 signed activations and adds pairs into
// 16-bit lanes, the two halves of a 64-block are added in 16 bits (at most 2·2·15·127 = 7620), and VPMADDWD by
// ones sums them into 8 int32 lanes of 8 products each. Per 64 weights and row: five integer and three float
// operations, where the float kernel spends eight multiply-adds and, for a single row, the weights' conversion.
//
// y[m,n] = Σ_block Σ_lanes dx[m, run(lane)] · s[n, group(lane)] · dot_lane(q, xq) + Σ_g b[n,g] · Σ_{k∈g} x[m,k] (+ bias[n]).
// 8-bit weights go in as q - 128 with x's signs moved onto them (VPMADDUBSW's pairs would overflow on q itself).
#if defined(__x86_64__)
#include <immintrin.h>

#include "qmv.h"
#include "tiling.h"

namespace {

using mlxs::cpu::QmvArgs;
using mlxs::cpu::ScaleType;

#define UNROLL _Pragma("GCC unroll 16")

template <ScaleType T>
inline float scale(const void* p, int64_t i) {
  if constexpr (T == ScaleType::F32) return static_cast<const float*>(p)[i];
  else if constexpr (T == ScaleType::F16) return _cvtsh_ss(static_cast<const uint16_t*>(p)[i]);
  else return mlxs::cpu::bf16_to_float(static_cast<const uint16_t*>(p)[i]);
}

// The 8 lanes' scales of a 64-block whose runs fall in groups g0 and g1 of the scales row at p. Both halves of a
// 4-bit block have the same lanes: 0-3 hold the block's first 32-run, 4-7 its second (qmv.h's order of xq).
template <ScaleType T>
inline __m256 lane_scales(const void* p, int64_t row, int g0, int g1) {
  const float s0 = scale<T>(p, row + g0);
  if (g1 == g0) return _mm256_set1_ps(s0);
  return _mm256_setr_m128(_mm_set1_ps(s0), _mm_set1_ps(scale<T>(p, row + g1)));
}

// 8 biases from p[i]: float32, float16 or bfloat16.
template <ScaleType T>
inline __m256 load8(const void* p, int64_t i) {
  if constexpr (T == ScaleType::F32) return _mm256_loadu_ps(static_cast<const float*>(p) + i);
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i));
  if constexpr (T == ScaleType::F16) return _mm256_cvtph_ps(h);
  else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

inline float hsum(__m256 v);

inline float hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

template <ScaleType T>
struct Tiles {
// Rows [m0, m0+MT) of x against columns [n0, n0+NR) of W: every weight block is unpacked once for the MT rows.
template <int BITS, int MT, int NR>
static void tile(const QmvArgs& a, int m0, int n0) {
  const int row_bytes = a.K * BITS / 8;
  const int blocks = a.K / 64;
  const __m256i nibble = _mm256_set1_epi8(15), ones = _mm256_set1_epi16(1), top = _mm256_set1_epi8(static_cast<char>(0x80));
  const int gs = a.group_size, groups = a.K / gs;
  // the group of element k: a shift for MLX's group sizes (powers of two)
  const bool pow2 = (gs & (gs - 1)) == 0;
  const int gshift = __builtin_ctz(gs);
  __m256 acc[MT][NR];
  UNROLL
  for (int m = 0; m < MT; m++)
    UNROLL
    for (int r = 0; r < NR; r++) acc[m][r] = _mm256_setzero_ps();
  const uint8_t* wrow[NR];
  UNROLL
  for (int r = 0; r < NR; r++) wrow[r] = a.w + static_cast<int64_t>(n0 + r) * row_bytes;
  for (int blk = 0; blk < blocks; blk++) {
    const int k = blk * 64;
    const int g0 = pow2 ? k >> gshift : k / gs, g1 = pow2 ? (k + 32) >> gshift : (k + 32) / gs;
    const __m256* dx[MT];
    const __m256i* xq[MT];
    UNROLL
    for (int m = 0; m < MT; m++) {
      const int64_t row = static_cast<int64_t>(m0 + m);
      xq[m] = reinterpret_cast<const __m256i*>(a.xq + row * a.K + k);
      dx[m] = reinterpret_cast<const __m256*>(a.xd + (row * blocks + blk) * 16);
    }
    // one column at a time, its unpacked weights and scales meeting every row: few enough live registers that
    // nothing spills (AVX2 has 16)
    UNROLL
    for (int r = 0; r < NR; r++) {
      // the next tile's column, as the float kernel does: NR interleaved streams outrun the hardware prefetcher
      __builtin_prefetch(wrow[r] + static_cast<int64_t>(NR) * row_bytes + k * BITS / 8);
      if constexpr (BITS == 4) {
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wrow[r] + k / 2));
        const __m256i lo = _mm256_and_si256(b, nibble), hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), nibble);
        const __m256 s = lane_scales<T>(a.scales, static_cast<int64_t>(n0 + r) * groups, g0, g1);
        UNROLL
        for (int m = 0; m < MT; m++) {
          const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256(xq[m])),
                                                 _mm256_maddubs_epi16(hi, _mm256_loadu_si256(xq[m] + 1)));
          const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
          acc[m][r] = _mm256_fmadd_ps(_mm256_mul_ps(dot, _mm256_loadu_ps(reinterpret_cast<const float*>(dx[m]))), s, acc[m][r]);
        }
      } else {
        // 8-bit: q - 128 as signed bytes; VPMADDUBSW takes |q - 128| (at most 128, unsigned) and x with the sign of
        // q - 128 (x is within ±127): pairs at most 2·128·127, no saturation. The 128·s the shift leaves out joins
        // the affine offset below. Each half of the block is one 32-run: its scale and x's.
        const int64_t srow = static_cast<int64_t>(n0 + r) * groups;
        UNROLL
        for (int h = 0; h < 2; h++) {
          const __m256i w = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wrow[r] + k + 32 * h)), top);
          const __m256i aw = _mm256_abs_epi8(w);
          const __m256 s = _mm256_set1_ps(scale<T>(a.scales, srow + (h ? g1 : g0)));
          UNROLL
          for (int m = 0; m < MT; m++) {
            const __m256i sx = _mm256_sign_epi8(_mm256_loadu_si256(xq[m] + h), w);
            const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones));
            acc[m][r] = _mm256_fmadd_ps(_mm256_mul_ps(dot, _mm256_loadu_ps(reinterpret_cast<const float*>(dx[m]) + 8 * h)), s, acc[m][r]);
          }
        }
      }
    }
  }
  // The affine offsets Σ_g biases[n,g] · xsum[m,g], 8 groups a step, every (row, column) its own chain and the
  // chains interleaved (one chain alone waits on its multiply-adds: measured 40 % of a single row's time).
  __m256 off[MT][NR];
  UNROLL
  for (int m = 0; m < MT; m++)
    UNROLL
    for (int r = 0; r < NR; r++) off[m][r] = _mm256_setzero_ps();
  int g = 0;
  for (; g + 8 <= groups; g += 8) {
    __m256 bv[NR];
    UNROLL
    for (int r = 0; r < NR; r++) {
      const int64_t i = static_cast<int64_t>(n0 + r) * groups + g;
      bv[r] = BITS == 4 ? load8<T>(a.biases, i) : _mm256_fmadd_ps(load8<T>(a.scales, i), _mm256_set1_ps(128), load8<T>(a.biases, i));
    }
    UNROLL
    for (int m = 0; m < MT; m++) {
      const __m256 xs = _mm256_loadu_ps(a.xsum + static_cast<int64_t>(m0 + m) * groups + g);
      UNROLL
      for (int r = 0; r < NR; r++) off[m][r] = _mm256_fmadd_ps(bv[r], xs, off[m][r]);
    }
  }
  UNROLL
  for (int m = 0; m < MT; m++)
    UNROLL
    for (int r = 0; r < NR; r++) {
      float v = hsum(acc[m][r]) + hsum(off[m][r]);
      for (int t = g; t < groups; t++) {
        const int64_t i = static_cast<int64_t>(n0 + r) * groups + t;
        const float bias = BITS == 4 ? scale<T>(a.biases, i) : scale<T>(a.scales, i) * 128.0f + scale<T>(a.biases, i); // 128·s is exact
        v += bias * a.xsum[static_cast<int64_t>(m0 + m) * groups + t];
      }
      if (a.bias) v += a.bias[n0 + r];
      a.y[static_cast<int64_t>(m0 + m) * a.N + n0 + r] = v;
    }
}
};

// Columns [n0, n1) of rows [m0, m0 + MT), two columns a tile (the rows' x loads serve both), then the last one.
template <class Ts, int BITS, int MT>
void column_pairs(const QmvArgs& a, int m0, int n0, int n1) {
  int n = n0;
  for (; n + 2 <= n1; n += 2) Ts::template tile<BITS, MT, 2>(a, m0, n);
  if (n < n1) Ts::template tile<BITS, MT, 1>(a, m0, n);
}

// tiling.h's walk, with tiles of 4 rows × 2 columns for batches (measured faster here than 4 × 1).
template <class Ts, int BITS>
void walk(const QmvArgs& a, int n0, int n1) {
  if (a.M == 1) {
    int n = n0;
    for (; n + 4 <= n1; n += 4) Ts::template tile<BITS, 1, 4>(a, 0, n);
    for (; n < n1; n++) Ts::template tile<BITS, 1, 1>(a, 0, n);
    return;
  }
  for (int mb = 0; mb < a.M; mb += mlxs::cpu::TILE_ROWS) {
    const int me = mb + mlxs::cpu::TILE_ROWS < a.M ? mb + mlxs::cpu::TILE_ROWS : a.M;
    for (int nb = n0; nb < n1; nb += mlxs::cpu::TILE_COLUMNS) {
      const int ne = nb + mlxs::cpu::TILE_COLUMNS < n1 ? nb + mlxs::cpu::TILE_COLUMNS : n1;
      int m = mb;
      for (; m + 4 <= me; m += 4) column_pairs<Ts, BITS, 4>(a, m, nb, ne);
      switch (me - m) {
        case 3: column_pairs<Ts, BITS, 3>(a, m, nb, ne); break;
        case 2: column_pairs<Ts, BITS, 2>(a, m, nb, ne); break;
        case 1: column_pairs<Ts, BITS, 1>(a, m, nb, ne); break;
        default: break;
      }
    }
  }
}

template <ScaleType T>
void by_bits(const QmvArgs& a, int n0, int n1) {
  if (a.bits == 4) walk<Tiles<T>, 4>(a, n0, n1);
  else walk<Tiles<T>, 8>(a, n0, n1);
}

void qmv_int8(const QmvArgs& a, int n0, int n1) {
  switch (a.scale_type) {
    case ScaleType::BF16: return by_bits<ScaleType::BF16>(a, n0, n1);
    case ScaleType::F16: return by_bits<ScaleType::F16>(a, n0, n1);
    default: return by_bits<ScaleType::F32>(a, n0, n1);
  }
}

} // namespace

mlxs::cpu::QmvFn mlxs::cpu::qmv_int8_avx2() { return qmv_int8; }
#endif
