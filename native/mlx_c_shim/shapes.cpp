// Shapes, indexing and array creation.
#include "internal.h"

using namespace mlxs;

namespace {

// Writes the parts into out (at most cap) and returns how many there are.
int32_t put_parts(const std::vector<mx::array>& parts, int32_t* out, int32_t cap) {
  int32_t n = static_cast<int32_t>(parts.size());
  if (n > cap) {
    throw std::invalid_argument("[split] " + std::to_string(n) + " parts but room for " + std::to_string(cap));
  }
  for (int32_t i = 0; i < n; i++) out[i] = put(parts[i]);
  return n;
}

} // namespace

extern "C" {

int32_t mlxs_reshape(int32_t a, const int32_t* shape, int32_t n) {
  return make([&] { return mx::reshape(get(a), to_shape(shape, n)); });
}

int32_t mlxs_transpose(int32_t a, const int32_t* axes, int32_t n) {
  return make([&] { return n == 0 ? mx::transpose(get(a)) : mx::transpose(get(a), to_ints(axes, n)); });
}

int32_t mlxs_swapaxes(int32_t a, int32_t a1, int32_t a2) {
  return make([&] { return mx::swapaxes(get(a), a1, a2); });
}

int32_t mlxs_expand_dims(int32_t a, const int32_t* axes, int32_t n) {
  return make([&] { return mx::expand_dims(get(a), to_ints(axes, n)); });
}

int32_t mlxs_squeeze(int32_t a, const int32_t* axes, int32_t n) {
  return make([&] { return n == 0 ? mx::squeeze(get(a)) : mx::squeeze(get(a), to_ints(axes, n)); });
}

int32_t mlxs_flatten(int32_t a, int32_t start_axis, int32_t end_axis) {
  return make([&] { return mx::flatten(get(a), start_axis, end_axis); });
}

int32_t mlxs_slice(int32_t a, const int32_t* start, const int32_t* stop, const int32_t* strides, int32_t n) {
  return make([&] {
    if (strides == nullptr) return mx::slice(get(a), to_shape(start, n), to_shape(stop, n));
    return mx::slice(get(a), to_shape(start, n), to_shape(stop, n), to_shape(strides, n));
  });
}

int32_t mlxs_slice_dynamic(int32_t a, int32_t start, const int32_t* axes, int32_t naxes, const int32_t* sizes,
                           int32_t nsizes) {
  return make([&] { return mx::slice(get(a), get(start), to_ints(axes, naxes), to_shape(sizes, nsizes)); });
}

int32_t mlxs_slice_update(int32_t src, int32_t update, const int32_t* start, const int32_t* stop,
                          const int32_t* strides, int32_t n) {
  return make([&] {
    if (strides == nullptr) return mx::slice_update(get(src), get(update), to_shape(start, n), to_shape(stop, n));
    return mx::slice_update(get(src), get(update), to_shape(start, n), to_shape(stop, n), to_shape(strides, n));
  });
}

int32_t mlxs_slice_update_dynamic(int32_t src, int32_t update, int32_t start, const int32_t* axes, int32_t naxes) {
  return make([&] { return mx::slice_update(get(src), get(update), get(start), to_ints(axes, naxes)); });
}

int32_t mlxs_concatenate(const int32_t* hs, int32_t n, int32_t axis) {
  return make([&] { return mx::concatenate(to_arrays(hs, n), axis); });
}

int32_t mlxs_stack(const int32_t* hs, int32_t n, int32_t axis) {
  return make([&] { return mx::stack(to_arrays(hs, n), axis); });
}

int32_t mlxs_split(int32_t a, const int32_t* indices, int32_t nindices, int32_t axis, int32_t* out, int32_t cap) {
  return guard<int32_t>(-1, [&] { return put_parts(mx::split(get(a), to_shape(indices, nindices), axis), out, cap); });
}

int32_t mlxs_split_equal(int32_t a, int32_t parts, int32_t axis, int32_t* out, int32_t cap) {
  return guard<int32_t>(-1, [&] { return put_parts(mx::split(get(a), parts, axis), out, cap); });
}

int32_t mlxs_take(int32_t a, int32_t indices, int32_t axis) {
  return make([&] { return mx::take(get(a), get(indices), axis); });
}

int32_t mlxs_take_along_axis(int32_t a, int32_t indices, int32_t axis) {
  return make([&] { return mx::take_along_axis(get(a), get(indices), axis); });
}

int32_t mlxs_put_along_axis(int32_t a, int32_t indices, int32_t values, int32_t axis) {
  return make([&] { return mx::put_along_axis(get(a), get(indices), get(values), axis); });
}

int32_t mlxs_broadcast_to(int32_t a, const int32_t* shape, int32_t n) {
  return make([&] { return mx::broadcast_to(get(a), to_shape(shape, n)); });
}

int32_t mlxs_astype(int32_t a, int32_t dtype) {
  return make([&] { return mx::astype(get(a), to_dtype(dtype)); });
}

int32_t mlxs_view(int32_t a, int32_t dtype) {
  return make([&] { return mx::view(get(a), to_dtype(dtype)); });
}

int32_t mlxs_zeros(const int32_t* shape, int32_t n, int32_t dtype) {
  return make([&] { return mx::zeros(to_shape(shape, n), to_dtype(dtype)); });
}

int32_t mlxs_ones(const int32_t* shape, int32_t n, int32_t dtype) {
  return make([&] { return mx::ones(to_shape(shape, n), to_dtype(dtype)); });
}

int32_t mlxs_full(const int32_t* shape, int32_t n, double v, int32_t dtype) {
  return make([&] {
    auto dt = to_dtype(dtype);
    return mx::full(to_shape(shape, n), mx::array(v, dt), dt);
  });
}

int32_t mlxs_arange(double start, double stop, double step, int32_t dtype) {
  return make([&] { return mx::arange(start, stop, step, to_dtype(dtype)); });
}

int32_t mlxs_tri(int32_t n, int32_t m, int32_t k, int32_t dtype) {
  return make([&] { return mx::tri(n, m, k, to_dtype(dtype)); });
}

int32_t mlxs_tril(int32_t a, int32_t k) {
  return make([&] { return mx::tril(get(a), k); });
}

int32_t mlxs_triu(int32_t a, int32_t k) {
  return make([&] { return mx::triu(get(a), k); });
}

int32_t mlxs_repeat(int32_t a, int32_t repeats, int32_t axis) {
  return make([&] { return mx::repeat(get(a), repeats, axis); });
}

int32_t mlxs_pad(int32_t a, const int32_t* axes, const int32_t* lo, const int32_t* hi, int32_t n, double value) {
  return make([&] {
    auto& x = get(a);
    return mx::pad(x, to_ints(axes, n), to_shape(lo, n), to_shape(hi, n), mx::array(value, x.dtype()));
  });
}

} // extern "C"
