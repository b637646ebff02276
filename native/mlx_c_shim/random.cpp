// mlx::random with explicit keys; key handle 0 means the thread's global key sequence.
#include "internal.h"

using namespace mlxs;

extern "C" {

int32_t mlxs_random_key(double seed) {
  return make([&] { return mx::random::key(static_cast<uint64_t>(seed)); });
}

int32_t mlxs_random_split(int32_t key, int32_t num) {
  return make([&] { return mx::random::split(get(key), num); });
}

int32_t mlxs_random_seed(double seed) {
  return status([&] { mx::random::seed(static_cast<uint64_t>(seed)); });
}

int32_t mlxs_random_categorical(int32_t logits, int32_t axis, int32_t key) {
  return make([&] { return mx::random::categorical(get(logits), axis, opt(key)); });
}

int32_t mlxs_random_uniform(const int32_t* shape, int32_t n, double low, double high, int32_t dtype, int32_t key) {
  return make([&] {
    auto dt = to_dtype(dtype);
    return mx::random::uniform(mx::array(low, dt), mx::array(high, dt), to_shape(shape, n), dt, opt(key));
  });
}

int32_t mlxs_random_normal(const int32_t* shape, int32_t n, double loc, double scale, int32_t dtype, int32_t key) {
  return make([&] {
    return mx::random::normal(to_shape(shape, n), to_dtype(dtype), static_cast<float>(loc), static_cast<float>(scale),
                              opt(key));
  });
}

int32_t mlxs_random_gumbel(const int32_t* shape, int32_t n, int32_t dtype, int32_t key) {
  return make([&] { return mx::random::gumbel(to_shape(shape, n), to_dtype(dtype), opt(key)); });
}

int32_t mlxs_random_randint(const int32_t* shape, int32_t n, double low, double high, int32_t dtype, int32_t key) {
  return make([&] {
    auto dt = to_dtype(dtype);
    return mx::random::randint(mx::array(low, dt), mx::array(high, dt), to_shape(shape, n), dt, opt(key));
  });
}

} // extern "C"
