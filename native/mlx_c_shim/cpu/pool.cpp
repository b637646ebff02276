#include "pool.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mlxs::cpu {
namespace {

inline void relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// ~30 µs of spinning (a pause is 30-140 cycles): long enough to catch the next matmul of the same layer.
constexpr int SPINS = 2000;

class Pool {
 public:
  explicit Pool(int workers) {
    for (int i = 0; i < workers; i++) threads_.emplace_back([this] { work(); });
  }
  ~Pool() {
    stop_.store(true);
    epoch_.fetch_add(1);
    epoch_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int size() const { return static_cast<int>(threads_.size()) + 1; }

  void run(int n, const std::function<void(int)>& body) {
    body_ = &body;
    n_ = n;
    next_.store(0);
    pending_.store(static_cast<int>(threads_.size()));
    epoch_.fetch_add(1, std::memory_order_release);
    epoch_.notify_all();
    drain();
    while (pending_.load(std::memory_order_acquire) != 0) relax();
    body_ = nullptr;
  }

 private:
  void drain() {
    for (int i; (i = next_.fetch_add(1)) < n_;) (*body_)(i);
  }
  void work() {
    uint64_t seen = 0; // the epoch at construction: no run can start before the constructor returns
    while (true) {
      int spins = 0;
      uint64_t e;
      while ((e = epoch_.load(std::memory_order_acquire)) == seen) {
        if (++spins < SPINS) relax();
        else epoch_.wait(seen);
      }
      seen = e;
      if (stop_.load()) return;
      drain();
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::vector<std::thread> threads_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> next_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* body_ = nullptr;
  int n_ = 0;
};

int wanted = static_cast<int>(std::thread::hardware_concurrency());
std::unique_ptr<Pool> pool;
std::mutex busy; // one run at a time; a second stream's kernel runs on its own thread instead

} // namespace

void set_threads(int n) {
  std::lock_guard lock(busy);
  wanted = n < 1 ? 1 : n;
  if (pool && pool->size() != wanted) pool.reset();
}

int threads() { return wanted < 1 ? 1 : wanted; }

void parallel_for(int n, const std::function<void(int)>& body) {
  std::unique_lock lock(busy, std::try_to_lock);
  if (threads() == 1 || n == 1 || !lock) {
    for (int i = 0; i < n; i++) body(i);
    return;
  }
  if (!pool) pool = std::make_unique<Pool>(threads() - 1);
  pool->run(n, body);
}

} // namespace mlxs::cpu
