// safetensors bundles, memory figures, devices and streams.
#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "internal.h"

using namespace mlxs;

namespace {

// An opened safetensors file: its lazy arrays (read at eval) and metadata, until mlxs_st_close.
struct Bundle {
  mx::SafetensorsLoad load;
  std::string json;
};

thread_local std::unordered_map<int32_t, Bundle> bundles;
thread_local int32_t next_bundle = 1;
thread_local std::string device_json;

Bundle& bundle(int32_t id) {
  auto it = bundles.find(id);
  if (it == bundles.end()) throw std::invalid_argument("invalid safetensors bundle " + std::to_string(id));
  return it->second;
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);  // UTF-8 passes through unchanged
        }
    }
  }
  return out + "\"";
}

// Consecutive NUL-terminated strings.
std::vector<std::string> split_nul(const char* p, int32_t n) {
  std::vector<std::string> v;
  for (int32_t i = 0; i < n; i++) {
    v.emplace_back(p);
    p += v.back().size() + 1;
  }
  return v;
}

mx::Device to_device(int32_t d) {
  if (d == MLXS_CPU) return mx::Device::cpu;
  if (d == MLXS_GPU) return mx::Device::gpu;
  throw std::invalid_argument("invalid device " + std::to_string(d));
}

double size_d(size_t v) { return static_cast<double>(v); }

} // namespace

extern "C" {

int32_t mlxs_st_open(const char* path) {
  return guard<int32_t>(0, [&] {
    Bundle b{mx::load_safetensors(std::string(path)), {}};
    std::vector<std::string> names;
    for (auto& [k, _] : b.load.first) names.push_back(k);
    std::sort(names.begin(), names.end());
    std::map<std::string, std::string> meta(b.load.second.begin(), b.load.second.end());
    std::string j = "{\"tensors\":[";
    for (size_t i = 0; i < names.size(); i++) j += (i ? "," : "") + quote(names[i]);
    j += "],\"metadata\":{";
    bool first = true;
    for (auto& [k, v] : meta) {
      j += (first ? "" : ",") + quote(k) + ":" + quote(v);
      first = false;
    }
    b.json = j + "}}";
    int32_t id = next_bundle++;
    bundles.emplace(id, std::move(b));
    return id;
  });
}

const char* mlxs_st_json(int32_t id) {
  return guard<const char*>(nullptr, [&] { return bundle(id).json.c_str(); });
}

int32_t mlxs_st_get(int32_t id, const char* name) {
  return make([&] {
    auto& tensors = bundle(id).load.first;
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::invalid_argument(std::string("[st_get] no tensor named ") + quote(name));
    return it->second;
  });
}

int32_t mlxs_st_close(int32_t id) {
  return status([&] {
    bundle(id);
    bundles.erase(id);
  });
}

int32_t mlxs_st_save(const char* path, const char* names, const int32_t* hs, int32_t n, const char* meta,
                     int32_t nmeta) {
  return status([&] {
    auto keys = split_nul(names, n);
    std::unordered_map<std::string, mx::array> tensors;
    for (int32_t i = 0; i < n; i++) {
      if (!tensors.emplace(keys[i], get(hs[i])).second) {
        throw std::invalid_argument("[st_save] duplicate tensor name " + quote(keys[i]));
      }
    }
    std::unordered_map<std::string, std::string> m;
    auto kv = split_nul(meta, 2 * nmeta);
    for (int32_t i = 0; i < nmeta; i++) m[kv[2 * i]] = kv[2 * i + 1];
    mx::save_safetensors(std::string(path), std::move(tensors), std::move(m));
  });
}

double mlxs_active_memory(void) { return guard<double>(NAN, [] { return size_d(mx::get_active_memory()); }); }
double mlxs_peak_memory(void) { return guard<double>(NAN, [] { return size_d(mx::get_peak_memory()); }); }
int32_t mlxs_reset_peak_memory(void) { return status([] { mx::reset_peak_memory(); }); }
double mlxs_cache_memory(void) { return guard<double>(NAN, [] { return size_d(mx::get_cache_memory()); }); }
double mlxs_memory_limit(void) { return guard<double>(NAN, [] { return size_d(mx::get_memory_limit()); }); }

double mlxs_set_memory_limit(double bytes) {
  return guard<double>(NAN, [&] { return size_d(mx::set_memory_limit(static_cast<size_t>(bytes))); });
}

double mlxs_set_cache_limit(double bytes) {
  return guard<double>(NAN, [&] { return size_d(mx::set_cache_limit(static_cast<size_t>(bytes))); });
}

double mlxs_set_wired_limit(double bytes) {
  return guard<double>(NAN, [&] { return size_d(mx::set_wired_limit(static_cast<size_t>(bytes))); });
}

int32_t mlxs_clear_cache(void) { return status([] { mx::clear_cache(); }); }

int32_t mlxs_gpu_count(void) {
  return guard<int32_t>(-1, [] {
    return mx::is_available(mx::Device::gpu) ? mx::device_count(mx::Device::gpu) : 0;
  });
}

int32_t mlxs_default_device(void) {
  return guard<int32_t>(-1, [] { return mx::default_device().type == mx::Device::gpu ? MLXS_GPU : MLXS_CPU; });
}

int32_t mlxs_set_default_device(int32_t device) {
  return status([&] { mx::set_default_device(to_device(device)); });
}

const char* mlxs_device_info_json(int32_t device) {
  return guard<const char*>(nullptr, [&] {
    auto& info = mx::device_info(to_device(device));
    std::map<std::string, std::variant<std::string, size_t>> sorted(info.begin(), info.end());
    std::string j = "{";
    bool first = true;
    for (auto& [k, v] : sorted) {
      j += (first ? "" : ",") + quote(k) + ":";
      first = false;
      if (auto s = std::get_if<std::string>(&v)) {
        j += quote(*s);
      } else {
        j += std::to_string(std::get<size_t>(v));
      }
    }
    device_json = j + "}";
    return device_json.c_str();
  });
}

int32_t mlxs_synchronize(void) { return status([] { mx::synchronize(); }); }

int32_t mlxs_clear_streams(void) { return status([] { mx::clear_streams(); }); }

} // extern "C"
