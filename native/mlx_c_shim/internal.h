// Shared plumbing of the shim: the handle table, argument conversion and the exception guard.
// Nothing here crosses the C ABI; every exported function lives in one of the *.cpp files.
#pragma once
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "mlx/mlx.h"
#include "mlxs.h"

namespace mx = mlx::core;

namespace mlxs {

// The array behind a live handle; throws "invalid array handle N" for 0, freed or stale handles.
mx::array& get(int32_t h);
// 0 → nullopt (optional array arguments).
std::optional<mx::array> opt(int32_t h);
// Stores a new array in the table (and the innermost scope's log) and returns its handle.
int32_t put(mx::array a);
void set_error(const std::string& msg);

mx::Dtype to_dtype(int32_t d);
int32_t from_dtype(mx::Dtype d);
std::string quant_mode(int32_t mode);
mx::Shape to_shape(const int32_t* p, int32_t n);
std::vector<int> to_ints(const int32_t* p, int32_t n);
std::vector<mx::array> to_arrays(const int32_t* hs, int32_t n);
inline std::optional<int> opt_int(int32_t v) { return v == 0 ? std::nullopt : std::optional<int>(v); }
// The dtype a Python scalar takes next to an array of dtype `d` (MLX's weak scalar promotion).
mx::Dtype scalar_dtype(mx::Dtype d, double v);

// Runs f, turning any exception into the stored error message and the error value `err`.
template <class R, class F>
R guard(R err, F&& f) noexcept {
  try {
    return f();
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown C++ exception");
  }
  return err;
}

// For every op returning one array: the new handle, or 0 on error.
template <class F>
int32_t make(F&& f) noexcept {
  return guard<int32_t>(0, [&] { return put(f()); });
}

// For every status-returning function: 0, or -1 on error.
template <class F>
int32_t status(F&& f) noexcept {
  return guard<int32_t>(-1, [&] {
    f();
    return 0;
  });
}

} // namespace mlxs
