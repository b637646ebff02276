// Arrays from and to host memory, metadata, evaluation; and the argument conversions of internal.h.
#include <cstring>

#include <string>

#include "internal.h"
#include "mlx/primitives.h"

namespace mlxs {

mx::Dtype to_dtype(int32_t d) {
  static const mx::Dtype table[] = {mx::bool_,   mx::uint8,   mx::uint16,  mx::uint32,   mx::uint64,
                                    mx::int8,    mx::int16,   mx::int32,   mx::int64,    mx::float16,
                                    mx::float32, mx::float64, mx::bfloat16, mx::complex64};
  if (d < 0 || d > MLXS_COMPLEX64) throw std::invalid_argument("invalid dtype code " + std::to_string(d));
  return table[d];
}

int32_t from_dtype(mx::Dtype d) { return static_cast<int32_t>(d.val()); }

std::string quant_mode(int32_t mode) {
  switch (mode) {
    case MLXS_AFFINE:
    case MLXS_AFFINE_Q8: return "affine";
    case MLXS_MXFP4: return "mxfp4";
    case MLXS_MXFP8: return "mxfp8";
    case MLXS_NVFP4: return "nvfp4";
  }
  throw std::invalid_argument("invalid quantization mode " + std::to_string(mode));
}

mx::Shape to_shape(const int32_t* p, int32_t n) {
  if (n < 0) throw std::invalid_argument("negative length");
  if (n == 0) return {};
  return mx::Shape(p, p + n);
}

std::vector<int> to_ints(const int32_t* p, int32_t n) {
  if (n < 0) throw std::invalid_argument("negative length");
  if (n == 0) return {};
  return std::vector<int>(p, p + n);
}

std::vector<mx::array> to_arrays(const int32_t* hs, int32_t n) {
  std::vector<mx::array> v;
  v.reserve(std::max(n, 0));
  for (int32_t i = 0; i < n; i++) v.push_back(get(hs[i]));
  return v;
}

mx::Dtype scalar_dtype(mx::Dtype d, double v) {
  if (mx::issubdtype(d, mx::inexact)) return d;
  bool integral = std::isfinite(v) && v == std::floor(v);
  if (!integral) return mx::float32;
  return d == mx::bool_ ? mx::int32 : d;
}

} // namespace mlxs

using namespace mlxs;

namespace {

template <class T>
double item_as(mx::array& a) {
  return static_cast<double>(a.item<T>());
}

// Row-contiguous and evaluated: what a memcpy of nbytes() may read.
mx::array dense(mx::array a) {
  a.eval();
  if (!a.flags().row_contiguous) {
    a = mx::contiguous(a);
    a.eval();
  }
  return a;
}

} // namespace

extern "C" {

int32_t mlxs_from_bytes(const void* data, double nbytes, const int32_t* shape, int32_t ndim, int32_t dtype) {
  return make([&] {
    auto sh = to_shape(shape, ndim);
    auto dt = to_dtype(dtype);
    size_t n = 1;
    for (auto d : sh) n *= static_cast<size_t>(d);
    size_t want = n * mx::size_of(dt);
    if (nbytes != static_cast<double>(want)) {
      throw std::invalid_argument("[from_bytes] " + std::to_string(static_cast<size_t>(nbytes)) +
                                  " bytes given, shape and dtype need " + std::to_string(want));
    }
    auto buf = mx::allocator::malloc(want);
    if (want > 0) std::memcpy(buf.buffer().raw_ptr(), data, want);
    return mx::array(std::move(buf), std::move(sh), dt);
  });
}

int32_t mlxs_from_f64(const double* data, const int32_t* shape, int32_t ndim, int32_t dtype) {
  return make([&] {
    auto sh = to_shape(shape, ndim);
    size_t n = 1;
    for (auto d : sh) n *= static_cast<size_t>(d);
    // MLX's iterator constructor converts element by element on the host (bf16/f16 included).
    std::vector<double> copy(data, data + n);
    return mx::array(copy.begin(), std::move(sh), to_dtype(dtype));
  });
}

int32_t mlxs_scalar(double v, int32_t dtype) {
  return make([&] { return mx::array(v, to_dtype(dtype)); });
}

int32_t mlxs_ndim(int32_t h) {
  return guard<int32_t>(-1, [&] { return static_cast<int32_t>(get(h).ndim()); });
}

int32_t mlxs_shape(int32_t h, int32_t* out, int32_t cap) {
  return guard<int32_t>(-1, [&] {
    auto& sh = get(h).shape();
    int32_t nd = static_cast<int32_t>(sh.size());
    for (int32_t i = 0; i < nd && i < cap; i++) out[i] = sh[i];
    return nd;
  });
}

int32_t mlxs_dtype(int32_t h) {
  return guard<int32_t>(-1, [&] { return from_dtype(get(h).dtype()); });
}

const char* mlxs_primitive_name(int32_t h) {
  thread_local std::string name;
  return guard<const char*>(nullptr, [&] {
    auto& a = get(h);
    name = a.has_primitive() ? a.primitive().name() : "";
    return name.c_str();
  });
}

double mlxs_size(int32_t h) {
  return guard<double>(NAN, [&] { return static_cast<double>(get(h).size()); });
}

double mlxs_nbytes(int32_t h) {
  return guard<double>(NAN, [&] { return static_cast<double>(get(h).nbytes()); });
}

int32_t mlxs_eval(const int32_t* hs, int32_t n) {
  return status([&] { mx::eval(to_arrays(hs, n)); });
}

int32_t mlxs_async_eval(const int32_t* hs, int32_t n) {
  return status([&] { mx::async_eval(to_arrays(hs, n)); });
}

int32_t mlxs_item(int32_t h, double* out) {
  return status([&] {
    auto& a = get(h);
    if (a.size() != 1) {
      throw std::invalid_argument("[item] array of size " + std::to_string(a.size()) + " is not a scalar");
    }
    mx::array d = dense(a);
    switch (d.dtype().val()) {
      case mx::Dtype::Val::bool_: *out = item_as<bool>(d); break;
      case mx::Dtype::Val::uint8: *out = item_as<uint8_t>(d); break;
      case mx::Dtype::Val::uint16: *out = item_as<uint16_t>(d); break;
      case mx::Dtype::Val::uint32: *out = item_as<uint32_t>(d); break;
      case mx::Dtype::Val::uint64: *out = item_as<uint64_t>(d); break;
      case mx::Dtype::Val::int8: *out = item_as<int8_t>(d); break;
      case mx::Dtype::Val::int16: *out = item_as<int16_t>(d); break;
      case mx::Dtype::Val::int32: *out = item_as<int32_t>(d); break;
      case mx::Dtype::Val::int64: *out = item_as<int64_t>(d); break;
      case mx::Dtype::Val::float16: *out = static_cast<float>(d.item<mx::float16_t>()); break;
      case mx::Dtype::Val::float32: *out = item_as<float>(d); break;
      case mx::Dtype::Val::float64: *out = item_as<double>(d); break;
      case mx::Dtype::Val::bfloat16: *out = static_cast<float>(d.item<mx::bfloat16_t>()); break;
      case mx::Dtype::Val::complex64:
        throw std::invalid_argument("[item] complex64 has no real value; take the real part first");
    }
  });
}

int32_t mlxs_to_bytes(int32_t h, void* dst, double cap) {
  return status([&] {
    mx::array d = dense(get(h));
    size_t n = d.nbytes();
    if (static_cast<double>(n) > cap) {
      throw std::invalid_argument("[to_bytes] array has " + std::to_string(n) + " bytes, destination holds " +
                                  std::to_string(static_cast<size_t>(cap)));
    }
    if (n > 0) std::memcpy(dst, d.data<uint8_t>(), n);
  });
}

} // extern "C"
