#include "pool.h"

#include <atomic>
#include <chrono>
#include <cstdint>
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

// How long an idle worker spins before it sleeps: long enough to catch the next matmul of the same layer (a few
// µs apart), short enough to leave the core to the runner's JS thread, the server and the client between decode
// steps on a 2-core machine. Timed by the clock, not counted in pauses (a pause is 10-140 cycles by CPU).
// The runner sets it from OLLMLX_CPU_SPIN_US (set_spin_us).
std::atomic<int> spin_us{100};

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

  // Indexes are claimed from a shared counter; the caller waits only for the ones a worker claimed and is still
  // running, never for a worker to wake up: on a busy machine a worker may not get a core for milliseconds, and
  // the caller then does every index itself.
  void run(int n, const std::function<void(int)>& body) {
    body_.store(&body, std::memory_order_relaxed);
    done_.store(0, std::memory_order_relaxed);
    // The run's size and its next index in one word: a worker late from the last run claims from this one only
    // through this word, so it never pairs an index with another run's size. Publishes body_ and done_.
    next_.store(static_cast<uint64_t>(n) << 32, std::memory_order_release);
    epoch_.fetch_add(1, std::memory_order_release);
    epoch_.notify_all();
    drain();
    while (done_.load(std::memory_order_acquire) != n) relax();
  }

 private:
  void drain() {
    while (true) {
      const uint64_t v = next_.fetch_add(1, std::memory_order_acq_rel);
      if (static_cast<uint32_t>(v) >= (v >> 32)) return;
      const int i = static_cast<int>(static_cast<uint32_t>(v));
      (*body_.load(std::memory_order_acquire))(i);
      done_.fetch_add(1, std::memory_order_release);
    }
  }
  void work() {
    uint64_t seen = 0; // the epoch at construction: no run can start before the constructor returns
    while (true) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us.load(std::memory_order_relaxed));
      int spins = 0;
      uint64_t e;
      while ((e = epoch_.load(std::memory_order_acquire)) == seen) {
        if ((++spins & 63) != 0 || std::chrono::steady_clock::now() < until) relax();
        else epoch_.wait(seen);
      }
      seen = e;
      if (stop_.load()) return;
      drain(); // late for that run (it may be over): then it claims nothing
    }
  }

  std::vector<std::thread> threads_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> next_{0}; // the run's size << 32 | the next index to claim
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
  std::atomic<const std::function<void(int)>*> body_{nullptr};
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

void set_spin_us(int us) { spin_us.store(us < 0 ? 0 : us, std::memory_order_relaxed); }

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
