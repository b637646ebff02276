// The per-thread handle table and scopes.
// A handle is (generation << 20) | slot: slot > 0 indexes a slab of optional arrays, and the generation
// (11 bits, bumped on every free) makes a handle to a reused slot stale instead of aliasing a new array.
#include <algorithm>

#include "internal.h"

namespace mlxs {
namespace {

constexpr int32_t kSlotBits = 20;
constexpr int32_t kSlotMask = (1 << kSlotBits) - 1;
constexpr int32_t kGenMask = (1 << 11) - 1;

struct Table {
  std::vector<std::optional<mx::array>> slots{1};  // slot 0 is never used
  std::vector<int32_t> gens{0};
  std::vector<int32_t> free_slots;
  int32_t live = 0;
  std::vector<int32_t> log;      // handles created while a scope is open
  std::vector<int32_t> marks;    // open scopes, innermost last
};

thread_local Table table;
thread_local std::string last_error;

// The slot of a live handle, or -1.
int32_t live_slot(int32_t h) {
  if (h <= 0) return -1;
  int32_t slot = h & kSlotMask;
  int32_t gen = (h >> kSlotBits) & kGenMask;
  if (slot <= 0 || static_cast<size_t>(slot) >= table.slots.size()) return -1;
  if (table.gens[slot] != gen || !table.slots[slot].has_value()) return -1;
  return slot;
}

void release(int32_t slot) {
  table.slots[slot].reset();
  table.gens[slot] = (table.gens[slot] + 1) & kGenMask;
  table.free_slots.push_back(slot);
  table.live--;
}

[[noreturn]] void invalid(int32_t h) {
  throw std::invalid_argument("invalid array handle " + std::to_string(h));
}

} // namespace

mx::array& get(int32_t h) {
  int32_t slot = live_slot(h);
  if (slot < 0) invalid(h);
  return *table.slots[slot];
}

std::optional<mx::array> opt(int32_t h) {
  if (h == 0) return std::nullopt;
  return get(h);
}

int32_t put(mx::array a) {
  int32_t slot;
  if (!table.free_slots.empty()) {
    slot = table.free_slots.back();
    table.free_slots.pop_back();
  } else {
    if (table.slots.size() > static_cast<size_t>(kSlotMask)) {
      throw std::runtime_error("too many live arrays (1M handles): free or scope them");
    }
    slot = static_cast<int32_t>(table.slots.size());
    table.slots.emplace_back();
    table.gens.push_back(0);
  }
  table.slots[slot].emplace(std::move(a));
  table.live++;
  int32_t h = (table.gens[slot] << kSlotBits) | slot;
  if (!table.marks.empty()) table.log.push_back(h);
  return h;
}

void set_error(const std::string& msg) { last_error = msg; }

} // namespace mlxs

using namespace mlxs;

extern "C" {

int32_t mlxs_abi_version(void) { return MLXS_ABI_VERSION; }

const char* mlxs_version(void) { return mx::version(); }

const char* mlxs_last_error(void) { return last_error.c_str(); }

void mlxs_clear_error(void) { last_error.clear(); }

int32_t mlxs_scope_begin(void) {
  return guard<int32_t>(-1, [] {
    int32_t mark = static_cast<int32_t>(table.log.size());
    table.marks.push_back(mark);
    return mark;
  });
}

int32_t mlxs_scope_end(int32_t mark, const int32_t* keep, int32_t nkeep) {
  return status([&] {
    if (table.marks.empty() || table.marks.back() != mark) {
      throw std::invalid_argument("scope_end: mark " + std::to_string(mark) + " is not the innermost open scope");
    }
    table.marks.pop_back();
    std::vector<int32_t> kept(keep, keep + std::max(nkeep, 0));
    std::vector<int32_t> survivors;
    for (size_t i = static_cast<size_t>(mark); i < table.log.size(); i++) {
      int32_t h = table.log[i];
      int32_t slot = live_slot(h);
      if (slot < 0) continue;
      if (std::find(kept.begin(), kept.end(), h) != kept.end()) {
        survivors.push_back(h);
      } else {
        release(slot);
      }
    }
    table.log.resize(mark);
    // Kept handles made in this scope now belong to the enclosing one (if any).
    if (!table.marks.empty()) table.log.insert(table.log.end(), survivors.begin(), survivors.end());
  });
}

int32_t mlxs_free(int32_t h) {
  return status([&] {
    int32_t slot = live_slot(h);
    if (slot < 0) invalid(h);
    release(slot);
  });
}

int32_t mlxs_live_count(void) { return table.live; }

int32_t mlxs_is_valid(int32_t h) { return live_slot(h) > 0 ? 1 : 0; }

int32_t mlxs_detach(int32_t h) {
  return status([&] {
    if (live_slot(h) < 0) invalid(h);
    // Only the scope log mentions h (at most once); the newest entries are the likeliest.
    for (auto it = table.log.rbegin(); it != table.log.rend(); ++it) {
      if (*it == h) {
        *it = 0;  // a dead entry: scope_end skips handles that are not live
        break;
      }
    }
  });
}

int32_t mlxs_retain(int32_t h) {
  return make([&] { return get(h); });
}

} // extern "C"
