// GGUF blocks → MLX's affine layout (group 32), for the block types whose groups map one to one
// (src/formats/gguf/repack.ts has the same conversions for every type, and the reasons): the bytes a tensor of
// several hundred megabytes needs, written in a native loop instead of a JS one (Gemma 3's 262,144 × 640 Q8_0 table
// took a second in JS). Every value is what the JS path writes, bit for bit: a scale is one float product of the
// block's f16 and its integer sub-scale, rounded once.
#include <cstdint>
#include <cstring>

#include "cpu/qmv.h"
#include "mlxs.h"

namespace {

float half(const uint8_t* p) { return mlxs::cpu::f16_to_float(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

// 32 values of 4 bits (element order) → 16 bytes, element 2j in the low nibble of byte j.
void pack4(const uint8_t* q, uint8_t* out) {
  for (int j = 0; j < 16; j++) out[j] = static_cast<uint8_t>(q[2 * j] | (q[2 * j + 1] << 4));
}

// 32 values of 5 bits → 5 little-endian words, LSB first (MLX's bit stream).
void pack5(const uint8_t* q, uint8_t* out) {
  uint32_t words[5] = {};
  for (int i = 0; i < 32; i++) {
    const int bit = i * 5, w = bit / 32, off = bit % 32;
    words[w] |= static_cast<uint32_t>(q[i]) << off;
    if (off > 27) words[w + 1] |= static_cast<uint32_t>(q[i]) >> (32 - off);
  }
  std::memcpy(out, words, sizeof words);
}

// ggml's get_scale_min_k4
void scale_min_k4(int j, const uint8_t* q, int& d, int& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

} // namespace

extern "C" int32_t mlxs_gguf_repack(int32_t type, const uint8_t* src, double nbytes, uint8_t* wq, float* scales,
                                    float* biases) {
  const int64_t n = static_cast<int64_t>(nbytes);
  uint8_t q[32];
  switch (type) {
    case 2: { // Q4_0: d, 16 bytes (elements j and j + 16 in byte j)
      if (n % 18) return -1;
      for (int64_t b = 0; b < n / 18; b++) {
        const uint8_t* p = src + b * 18;
        const float d = half(p);
        for (int j = 0; j < 16; j++) {
          q[j] = p[2 + j] & 0x0f;
          q[j + 16] = p[2 + j] >> 4;
        }
        pack4(q, wq + b * 16);
        scales[b] = d;
        biases[b] = -8 * d;
      }
      return 1;
    }
    case 3: { // Q4_1: d, m, 16 bytes
      if (n % 20) return -1;
      for (int64_t b = 0; b < n / 20; b++) {
        const uint8_t* p = src + b * 20;
        for (int j = 0; j < 16; j++) {
          q[j] = p[4 + j] & 0x0f;
          q[j + 16] = p[4 + j] >> 4;
        }
        pack4(q, wq + b * 16);
        scales[b] = half(p);
        biases[b] = half(p + 2);
      }
      return 1;
    }
    case 6:   // Q5_0: d, 32 high bits, 16 bytes of low nibbles
    case 7: { // Q5_1: d, m, 32 high bits, 16 bytes
      const int bytes = type == 6 ? 22 : 24, hb = type == 6 ? 2 : 4;
      if (n % bytes) return -1;
      for (int64_t b = 0; b < n / bytes; b++) {
        const uint8_t* p = src + b * bytes;
        uint32_t qh;
        std::memcpy(&qh, p + hb, 4);
        const uint8_t* ql = p + hb + 4;
        for (int j = 0; j < 16; j++) {
          q[j] = static_cast<uint8_t>((ql[j] & 0x0f) | (((qh >> j) << 4) & 0x10));
          q[j + 16] = static_cast<uint8_t>((ql[j] >> 4) | ((qh >> (j + 12)) & 0x10));
        }
        pack5(q, wq + b * 20);
        const float d = half(p);
        scales[b] = d;
        biases[b] = type == 6 ? -16 * d : half(p + 2);
      }
      return 1;
    }
    case 8: { // Q8_0: d, 32 int8 (as uint8 + 128: the bias takes the 128 back)
      if (n % 34) return -1;
      for (int64_t b = 0; b < n / 34; b++) {
        const uint8_t* p = src + b * 34;
        const float d = half(p);
        for (int j = 0; j < 32; j++) wq[b * 32 + j] = p[2 + j] ^ 0x80;
        scales[b] = d;
        biases[b] = -128 * d;
      }
      return 1;
    }
    case 12: { // Q4_K: d, dmin, 12 bytes of 6-bit sub-scales and mins, 128 bytes: 8 sub-blocks of 32
      if (n % 144) return -1;
      int64_t g = 0;
      for (int64_t b = 0; b < n / 144; b++) {
        const uint8_t* p = src + b * 144;
        const float d = half(p), dmin = half(p + 2);
        const uint8_t* qs = p + 16;
        for (int is = 0; is < 8; is += 2, qs += 32) {
          int s1, m1, s2, m2;
          scale_min_k4(is, p + 4, s1, m1);
          scale_min_k4(is + 1, p + 4, s2, m2);
          for (int l = 0; l < 32; l++) q[l] = qs[l] & 0x0f;
          pack4(q, wq + g * 16);
          scales[g] = d * static_cast<float>(s1);
          biases[g++] = -dmin * static_cast<float>(m1);
          for (int l = 0; l < 32; l++) q[l] = qs[l] >> 4;
          pack4(q, wq + g * 16);
          scales[g] = d * static_cast<float>(s2);
          biases[g++] = -dmin * static_cast<float>(m2);
        }
      }
      return 1;
    }
  }
  return 0;
}
