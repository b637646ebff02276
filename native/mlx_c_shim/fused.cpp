// RMSNorm and RoPE as single CPU primitives, with the semantics of mx::fast's fallbacks (mlx/fast.cpp): the
// norm in float32, rounded to the output dtype, then times the weight; rope's angles in float32
// ((position + offset) · scale · inverse frequency), cos and sin rounded to x's dtype, the rotation in x's
// dtype, with MLX's own CPU exp, cos and sin. Inputs are read through their strides (q and k reach rope as transposed views), outputs are row-major.
#include <cmath>
#include <cstring>

#include "cpu/qmv.h"
#include "fused.h"
#include "mlx/backend/cpu/simd/simd.h"
#include "mlx/primitives.h"
#include "qlinear.h"

using namespace mlxs;

namespace {

bool supported(mx::Dtype d) { return d == mx::float32 || d == mx::bfloat16 || d == mx::float16; }

// Element access in a dtype, through float.
struct Elem {
  mx::Dtype dtype;
  float load(const void* p, int64_t i) const {
    if (dtype == mx::float32) return static_cast<const float*>(p)[i];
    if (dtype == mx::bfloat16) return mlxs::cpu::bf16_to_float(static_cast<const uint16_t*>(p)[i]);
    return static_cast<float>(static_cast<const mx::float16_t*>(p)[i]);
  }
  void store(void* p, int64_t i, float v) const {
    if (dtype == mx::float32) static_cast<float*>(p)[i] = v;
    else if (dtype == mx::bfloat16) static_cast<uint16_t*>(p)[i] = mlxs::cpu::float_to_bf16(v);
    else static_cast<mx::float16_t*>(p)[i] = static_cast<mx::float16_t>(v);
  }
  // v as the dtype holds it (the rounding an op producing this dtype does).
  float round(float v) const {
    if (dtype == mx::float32) return v;
    if (dtype == mx::bfloat16) return mlxs::cpu::bf16_to_float(mlxs::cpu::float_to_bf16(v));
    return static_cast<float>(static_cast<mx::float16_t>(v));
  }
};

// Offsets (in elements) of every row (all dims but the last) of a strided array, in row-major order.
template <class F>
void for_rows(const mx::array& a, F&& f) {
  const int nd = a.ndim();
  const int64_t rows = a.size() / a.shape(-1);
  std::vector<int> idx(nd > 1 ? nd - 1 : 0, 0);
  for (int64_t r = 0; r < rows; r++) {
    int64_t off = 0;
    for (int d = 0; d < nd - 1; d++) off += idx[d] * a.strides()[d];
    f(r, off, idx);
    for (int d = nd - 2; d >= 0; d--) {
      if (++idx[d] < a.shape(d)) break;
      idx[d] = 0;
    }
  }
}

class CpuRMSNorm : public mx::UnaryPrimitive {
 public:
  CpuRMSNorm(mx::Stream s, float eps, bool has_weight) : mx::UnaryPrimitive(s), eps_(eps), has_weight_(has_weight) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [eps = eps_, hw = has_weight_](const std::vector<mx::array>& args, mx::array& out) {
      const auto& x = args[0];
      const Elem ex{x.dtype()}, eo{out.dtype()};
      const int D = x.shape(-1);
      const int64_t sx = x.strides().back();
      const void* xd = x.data<void>();
      const void* wd = hw ? args[1].data<void>() : nullptr;
      const int64_t sw = hw ? args[1].strides()[0] : 0;
      void* od = out.data<void>();
      const Elem ew{hw ? args[1].dtype() : out.dtype()};
      std::vector<float> row(D);
      for_rows(x, [&](int64_t r, int64_t off, const std::vector<int>&) {
        float ss = 0;
        for (int i = 0; i < D; i++) {
          row[i] = ex.load(xd, off + i * sx);
          ss += row[i] * row[i];
        }
        const float n = 1.0f / std::sqrt(ss / D + eps);
        for (int i = 0; i < D; i++) {
          float v = eo.round(row[i] * n);
          if (hw) v *= ew.load(wd, i * sw);
          eo.store(od, r * D + i, v);
        }
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[CpuRMSNorm] is built for CPU streams only");
  }
  const char* name() const override { return "CpuRMSNorm"; }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto& o = static_cast<const CpuRMSNorm&>(other);
    return eps_ == o.eps_ && has_weight_ == o.has_weight_;
  }

 private:
  float eps_;
  bool has_weight_;
};

class CpuRoPE : public mx::UnaryPrimitive {
 public:
  CpuRoPE(mx::Stream s, int dims, bool traditional, float base, float scale, int offset, bool offset_array, bool freqs)
      : mx::UnaryPrimitive(s), dims_(dims), traditional_(traditional), base_(base), scale_(scale), offset_(offset),
        offset_array_(offset_array), freqs_(freqs) {}

  void eval_cpu(const std::vector<mx::array>& in, mx::array& out) override {
    dispatch_cpu(stream(), in, out, [dims = dims_, trad = traditional_, base = base_, scale = scale_, offset = offset_,
                                     has_offsets = offset_array_, has_freqs = freqs_](const std::vector<mx::array>& args, mx::array& out) {
      const auto& x = args[0];
      const Elem e{x.dtype()};
      const int nd = x.ndim();
      const int D = x.shape(-1);
      const int half = dims / 2;
      const int64_t sx = x.strides().back();
      const void* xd = x.data<void>();
      void* od = out.data<void>();
      // Inverse frequencies in float32, as the fallback computes them.
      std::vector<float> inv(half);
      if (has_freqs) {
        const auto& f = args[has_offsets ? 2 : 1];
        for (int i = 0; i < half; i++) inv[i] = 1.0f / f.data<float>()[i * f.strides()[0]];
      } else {
        const float step = static_cast<float>(std::log(base) / half); // in double, as the fallback's constant
        for (int i = 0; i < half; i++) inv[i] = mx::simd::exp(mx::simd::Simd<float, 1>(static_cast<float>(-i) * step)).value;
      }
      const mx::array* offs = has_offsets ? &args[1] : nullptr;
      const int64_t n_off = offs ? offs->size() : 1;
      // cos and sin for every (batch row, position): shared by the heads.
      const int rows_b = n_off > 1 ? x.shape(0) : 1, T = x.shape(nd - 2);
      std::vector<float> c(static_cast<size_t>(rows_b) * T * half), s(c.size());
      for (int b = 0; b < rows_b; b++) {
        int o = offset;
        if (offs) o = offs->data<int32_t>()[offs->ndim() ? b * offs->strides()[0] : 0];
        for (int t = 0; t < T; t++) {
          const float pos = (static_cast<float>(t) + static_cast<float>(o)) * scale;
          float* cr = c.data() + (static_cast<size_t>(b) * T + t) * half;
          float* sr = s.data() + (static_cast<size_t>(b) * T + t) * half;
          for (int i = 0; i < half; i++) {
            const float th = pos * inv[i];
            // MLX's own CPU cos and sin (its header), so float32 angles give the fallback's values.
            cr[i] = e.round(mx::simd::cos(mx::simd::Simd<float, 1>(th)).value);
            sr[i] = e.round(mx::simd::sin(mx::simd::Simd<float, 1>(th)).value);
          }
        }
      }
      for_rows(x, [&](int64_t r, int64_t off, const std::vector<int>& idx) {
        const size_t at = (static_cast<size_t>(rows_b > 1 ? idx[0] : 0) * T + idx[nd - 2]) * half;
        const float* cr = c.data() + at;
        const float* sr = s.data() + at;
        const int64_t ob = r * D;
        for (int i = 0; i < half; i++) {
          const int i1 = trad ? 2 * i : i, i2 = trad ? 2 * i + 1 : i + half;
          const float x1 = e.load(xd, off + i1 * sx), x2 = e.load(xd, off + i2 * sx);
          e.store(od, ob + i1, e.round(e.round(x1 * cr[i]) - e.round(x2 * sr[i])));
          e.store(od, ob + i2, e.round(e.round(x1 * sr[i]) + e.round(x2 * cr[i])));
        }
        for (int i = dims; i < D; i++) e.store(od, ob + i, e.load(xd, off + i * sx));
      });
    });
  }
  void eval_gpu(const std::vector<mx::array>&, mx::array&) override {
    throw std::runtime_error("[CpuRoPE] is built for CPU streams only");
  }
  const char* name() const override { return "CpuRoPE"; }
  bool is_equivalent(const mx::Primitive& other) const override {
    auto& o = static_cast<const CpuRoPE&>(other);
    return dims_ == o.dims_ && traditional_ == o.traditional_ && base_ == o.base_ && scale_ == o.scale_ &&
           offset_ == o.offset_ && offset_array_ == o.offset_array_ && freqs_ == o.freqs_;
  }

 private:
  int dims_;
  bool traditional_;
  float base_, scale_;
  int offset_;
  bool offset_array_, freqs_;
};

} // namespace

namespace mlxs {

std::optional<mx::array> fused_rms_norm(const mx::array& x, const std::optional<mx::array>& weight, float eps) {
  const auto s = kernel_stream();
  if (!s || x.ndim() < 1 || !supported(x.dtype())) return std::nullopt;
  if (weight && (weight->dtype() != x.dtype() || weight->ndim() != 1 || weight->shape(0) != x.shape(-1)))
    return std::nullopt;
  std::vector<mx::array> inputs{x};
  if (weight) inputs.push_back(*weight);
  return mx::array(x.shape(), x.dtype(), std::make_shared<CpuRMSNorm>(*s, eps, weight.has_value()), std::move(inputs));
}

std::optional<mx::array> fused_rope(const mx::array& x, int dims, bool traditional, std::optional<float> base,
                                    float scale, int offset, const std::optional<mx::array>& offset_array,
                                    const std::optional<mx::array>& freqs) {
  const auto s = kernel_stream();
  if (!s || x.ndim() < 3 || !supported(x.dtype()) || dims <= 0 || dims % 2 || dims > x.shape(-1)) return std::nullopt;
  if (base.has_value() == freqs.has_value()) return std::nullopt; // mx::fast::rope reports the error
  if (offset_array && (offset_array->dtype() != mx::int32 || offset_array->ndim() > 1 ||
                       (offset_array->size() != 1 && offset_array->size() != static_cast<size_t>(x.shape(0)))))
    return std::nullopt;
  if (freqs && (freqs->ndim() != 1 || freqs->shape(0) != dims / 2)) return std::nullopt;
  std::vector<mx::array> inputs{x};
  if (offset_array) inputs.push_back(*offset_array);
  if (freqs) inputs.push_back(mx::astype(*freqs, mx::float32, *s));
  return mx::array(x.shape(), x.dtype(),
                   std::make_shared<CpuRoPE>(*s, dims, traditional, base.value_or(1.0f), scale, offset,
                                             offset_array.has_value(), freqs.has_value()),
                   std::move(inputs));
}

} // namespace mlxs
