// Attention for a few queries as one CPU primitive: what mx::fast::scaled_dot_product_attention's CPU fallback
// (mlx/fast.cpp) computes for float32 — q times the scale, scores against every visible key, a float32 softmax,
// its weights times the values — in one node instead of its six, and in an order that never depends on what
// surrounds a row: each (row, head, query) walks its own visible keys, first to last, one thread each. A sequence
// therefore gets the same bits whether it runs alone or in a batch whose other rows pad its cache on the left,
// which MLX's matrix products over the padded columns do not promise (and int8 activations would turn into
// different tokens now and then). Prompts too, up to 2,048 queries a block (a prefill chunk is 512): MLX's path for
// them is two GEMMs around a softmax that MLX's x86 build runs one element at a time, slower at every length
// measured (a 256-token SmolLM2 prefill 299 -> 400 tok/s, 1,024 tokens 141 -> 302).
// Where the keys and values are contiguous along the head (a cache's slice always is) and the head size is a
// multiple of 8, a query runs in vectors (attend below, one variant per instruction set): each key's score is one
// 8-lane multiply-add chain over the head, summed in a fixed order; the exponentials are lane-wise (cpu/vexp.h,
// MLX's exp); the weighted values are lane-wise sums over the keys in order. A scalar dot product is a chain of D
// dependent multiply-adds a key: at 200 keys it made attention a quarter of a batched SmolLM2 step.
#include <cmath>
#include <cstring>

#include "attention.h"
#include "cpu/pool.h"
#include "cpu/vexp.h"
#include "mlx/primitives.h"
#include "qlinear.h"

namespace {

// Queries per call up to which the primitive runs (a decode step is 1, a prefill chunk 512).
constexpr int MAX_QUERIES = 2048;
// Below this many multiply-adds a call runs on the stream thread alone.
constexpr double PARALLEL_MACS = 1 << 18;

typedef float V8 __attribute__((vector_size(32)));

__attribute__((always_inline)) inline V8 load8(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline float hsum8(V8 a) { return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7])); }

// One query (already times the scale) against keys [first, last] of one head: keys and values contiguous along
// the head (D, Dv multiples of 8), rows kst / vst floats apart. p: room for last + 17 scores; out: Dv floats.
__attribute__((always_inline)) inline void attend_body(const float* q, const float* kb, int64_t kst, const float* vb,
                                                       int64_t vst, int D, int Dv, int first, int last, float* p, float* out) {
  // Scores, four keys at a time (independent chains; each key's own sum is the same either way).
  int j = first;
  for (; j + 3 <= last; j += 4) {
    V8 a0{}, a1{}, a2{}, a3{};
    const float *k0 = kb + j * kst, *k1 = k0 + kst, *k2 = k1 + kst, *k3 = k2 + kst;
    for (int d = 0; d < D; d += 8) {
      const V8 qv = load8(q + d);
      a0 += qv * load8(k0 + d);
      a1 += qv * load8(k1 + d);
      a2 += qv * load8(k2 + d);
      a3 += qv * load8(k3 + d);
    }
    p[j] = hsum8(a0);
    p[j + 1] = hsum8(a1);
    p[j + 2] = hsum8(a2);
    p[j + 3] = hsum8(a3);
  }
  for (; j <= last; j++) {
    V8 a{};
    const float* kj = kb + j * kst;
    for (int d = 0; d < D; d += 8) a += load8(q + d) * load8(kj + d);
    p[j] = hsum8(a);
  }
  float m = -INFINITY;
  for (j = first; j <= last; j++) m = std::max(m, p[j]);
  // exp(s - max), 16 lanes at a time: the lanes past `last` are scratch.
  for (j = first; j <= last; j += 16) {
    mlxs::cpu::V16 v;
    std::memcpy(&v, p + j, sizeof v);
    v = mlxs::cpu::exp_v(v - m);
    std::memcpy(p + j, &v, sizeof v);
  }
  float sum = 0;
  for (j = first; j <= last; j++) sum += p[j];
  std::fill(out, out + Dv, 0.0f);
  for (j = first; j <= last; j++) {
    const V8 w = V8{} + p[j] / sum;
    const float* vj = vb + j * vst;
    for (int d = 0; d < Dv; d += 8) {
      const V8 o = load8(out + d) + w * load8(vj + d);
      std::memcpy(out + d, &o, sizeof o);
    }
  }
}

#define ATTEND_ARGS const float *q, const float *kb, int64_t kst, const float *vb, int64_t vst, int D, int Dv, int first, int last, float *p, float *out
#define ATTEND_CALL q, kb, kst, vb, vst, D, Dv, first, last, p, out
using AttendFn = void(ATTEND_ARGS);
void attend_baseline(ATTEND_ARGS) { attend_body(ATTEND_CALL); }
#if defined(__x86_64__)
MLXS_TARGET_AVX512 void attend_avx512(ATTEND_ARGS) { attend_body(ATTEND_CALL); }
MLXS_TARGET_AVX2 void attend_avx2(ATTEND_ARGS) { attend_body(ATTEND_CALL); }
#else
AttendFn *attend_avx512 = nullptr, *attend_avx2 = nullptr;
#endif
void attend(ATTEND_ARGS) {
  static AttendFn* const fn = mlxs::cpu::pick_variant<AttendFn>(attend_avx512, attend_avx2, attend_baseline);
  fn(ATTEND_CALL);
}

class CpuAttention : public mx::UnaryPrimitive {
 public:
  // causal: query i of L sees the keys up to T - L + i (bottom-right aligned, as MLX's "causal"); else all of them.
  // With starts (an int32 input, one per row), row b's keys before starts[b] are padding, never seen.
  CpuAttention(mx::Stream s, float scale, bool causal, bool starts)
      : mx::UnaryPrimitive(s), scale_(scale), causal_(causal), starts_(starts) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    mlxs::dispatch_cpu(stream(), in, out, [scale = scale_, causal = causal_, has_starts = starts_](const std::vector<mx::array>& a, mx::array& out) {
      const auto &q = a[0], &k = a[1], &v = a[2];
      const int B = q.shape(0), Hq = q.shape(1), L = q.shape(2), D = q.shape(3);
      const int Hkv = k.shape(1), T = k.shape(2), Dv = v.shape(3);
      const int rep = Hq / Hkv;
      const int32_t* starts = has_starts ? a[3].data<int32_t>() : nullptr;
      const float *qd = q.data<float>(), *kd = k.data<float>(), *vd = v.data<float>();
      const auto &qs = q.strides(), &ks = k.strides(), &vs = v.strides();
      float* od = out.data<float>();
      const bool vector = ks[3] == 1 && vs[3] == 1 && D % 8 == 0 && Dv % 8 == 0;
      auto head = [&](int bh) {
        const int b = bh / Hq, h = bh % Hq, hk = h / rep;
        thread_local std::vector<float> p, qrow, acc;
        p.resize(T + 32);
        qrow.resize(D);
        acc.resize(Dv);
        const int first = starts ? std::max(0, static_cast<int>(starts[b])) : 0;
        const float* kb = kd + b * ks[0] + hk * ks[1];
        const float* vb = vd + b * vs[0] + hk * vs[1];
        for (int i = 0; i < L; i++) {
          const float* qi = qd + b * qs[0] + h * qs[1] + i * qs[2];
          for (int d = 0; d < D; d++) qrow[d] = scale * qi[d * qs[3]];
          const int last = causal ? T - L + i : T - 1;
          if (vector) {
            attend(qrow.data(), kb, ks[2], vb, vs[2], D, Dv, first, last, p.data(),
                   od + ((static_cast<int64_t>(b) * Hq + h) * L + i) * Dv);
            continue;
          }
          float m = -INFINITY;
          for (int j = first; j <= last; j++) {
            const float* kj = kb + j * ks[2];
            float s = 0;
            if (ks[3] == 1)
              for (int d = 0; d < D; d++) s += qrow[d] * kj[d];
            else
              for (int d = 0; d < D; d++) s += qrow[d] * kj[d * ks[3]];
            p[j] = s;
            m = std::max(m, s);
          }
          float sum = 0;
          for (int j = first; j <= last; j++) {
            p[j] = std::exp(p[j] - m);
            sum += p[j];
          }
          std::fill(acc.begin(), acc.end(), 0.0f);
          for (int j = first; j <= last; j++) {
            const float w = p[j] / sum;
            const float* vj = vb + j * vs[2];
            if (vs[3] == 1)
              for (int d = 0; d < Dv; d++) acc[d] += w * vj[d];
            else
              for (int d = 0; d < Dv; d++) acc[d] += w * vj[d * vs[3]];
          }
          std::memcpy(od + ((static_cast<int64_t>(b) * Hq + h) * L + i) * Dv, acc.data(), Dv * sizeof(float));
        }
      };
      const double macs = static_cast<double>(B) * Hq * L * T * (D + Dv);
      if (macs < PARALLEL_MACS) {
        for (int bh = 0; bh < B * Hq; bh++) head(bh);
      } else {
        mlxs::cpu::parallel_for(B * Hq, head);
      }
    });
  }

  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[CpuAttention] is built for CPU streams only");
  }

  const char* name() const override { return "CpuAttention"; }

  bool is_equivalent(const mx::Primitive& other) const override {
    auto& o = static_cast<const CpuAttention&>(other);
    return scale_ == o.scale_ && causal_ == o.causal_ && starts_ == o.starts_;
  }

 private:
  float scale_;
  bool causal_, starts_;
};

} // namespace

namespace mlxs {

std::optional<mx::array> fused_attention(const mx::array& q, const mx::array& k, const mx::array& v, float scale,
                                         bool causal, const std::optional<mx::array>& starts) {
  const auto s = kernel_stream();
  if (!s || q.ndim() != 4 || k.ndim() != 4 || v.ndim() != 4) return std::nullopt;
  if (q.dtype() != mx::float32 || k.dtype() != mx::float32 || v.dtype() != mx::float32) return std::nullopt;
  const int B = q.shape(0), Hq = q.shape(1), L = q.shape(2), D = q.shape(3);
  const int Hkv = k.shape(1), T = k.shape(2);
  if (L > MAX_QUERIES || L > T || k.shape(0) != B || v.shape(0) != B || v.shape(1) != Hkv || v.shape(2) != T ||
      k.shape(3) != D || Hkv == 0 || Hq % Hkv != 0)
    return std::nullopt;
  if (starts && (starts->dtype() != mx::int32 || starts->ndim() != 1 || starts->shape(0) != B)) return std::nullopt;
  // Read in place through their strides (q arrives as a transposed view, keys as a slice of the cache).
  std::vector<mx::array> inputs{q, k, v};
  if (starts) inputs.push_back(*starts);
  return mx::array({B, Hq, L, v.shape(3)}, mx::float32, std::make_shared<CpuAttention>(*s, scale, causal, starts.has_value()),
                   std::move(inputs));
}

} // namespace mlxs
