#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MUSE_CPU_RELAX() _mm_pause()
#else
#define MUSE_CPU_RELAX() ((void)0)
#endif

namespace muse::core {
namespace {

// A waiting thread first spins (a decode step issues its regions back to back, microseconds apart,
// so the dispatch then costs one cache-line transfer), then yields its core (when there are more
// threads than free cores, the thread we wait for may need this very core), and after kWaitBudget
// sleeps on a futex so an idle pool burns no CPU. The spin is timed, not counted (PAUSE takes from
// ~10 to ~140 cycles depending on the CPU) and short: when the thread we wait for shares our core
// (more runnable threads than cores), every microsecond of spin is a microsecond it cannot run;
// an empty 2-thread region then costs about twice the spin budget (measured on a busy 2-core
// machine: 44 us with a 20 us budget). sched_yield on an otherwise idle core returns at once, so
// the yield phase costs little latency when the threads do have a core each.
constexpr auto kSpinBudget = std::chrono::microseconds(2);
constexpr auto kWaitBudget = std::chrono::microseconds(1000);

// Waits until `a` differs from `old`, returns the new value.
template <typename T>
T wait_for_change(const std::atomic<T>& a, T old) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    for (int i = 0; i < 64; ++i) {  // reading the clock costs ~20 ns: do it every 64 polls
      const T v = a.load(std::memory_order_acquire);
      if (v != old) return v;
      MUSE_CPU_RELAX();
    }
    if (std::chrono::steady_clock::now() - start > kSpinBudget) break;
  }
  for (;;) {
    for (int i = 0; i < 16; ++i) {
      const T v = a.load(std::memory_order_acquire);
      if (v != old) return v;
      std::this_thread::yield();
    }
    if (std::chrono::steady_clock::now() - start > kWaitBudget) break;
  }
  for (;;) {
    a.wait(old, std::memory_order_acquire);
    const T v = a.load(std::memory_order_acquire);
    if (v != old) return v;
  }
}

}  // namespace

struct ThreadPool::Impl {
  int n_threads = 1;
  std::vector<std::thread> threads;
  // The caller bumps `generation` to start a region; each worker decrements `remaining` when done.
  // They sit on separate cache lines so that the workers' decrements do not slow the start signal.
  alignas(64) std::atomic<uint32_t> generation{0};
  alignas(64) std::atomic<int> remaining{0};
  alignas(64) const std::function<void(int, int)>* fn = nullptr;  // written before generation++
  bool stop = false;                                               // ditto
  std::atomic<bool> in_run{false};

  void worker(int ith) {
    uint32_t seen = 0;
    for (;;) {
      seen = wait_for_change(generation, seen);
      if (stop) return;
      (*fn)(ith, n_threads);
      if (remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining.notify_one();
    }
  }
};

ThreadPool::ThreadPool(int n_threads) : impl_(std::make_unique<Impl>()) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  impl_->n_threads = n_threads;
  impl_->threads.reserve(static_cast<size_t>(n_threads - 1));
  for (int i = 1; i < n_threads; ++i) impl_->threads.emplace_back([this, i] { impl_->worker(i); });
}

ThreadPool::~ThreadPool() {
  impl_->stop = true;
  impl_->generation.fetch_add(1, std::memory_order_release);
  impl_->generation.notify_all();
  for (auto& t : impl_->threads) t.join();
}

int ThreadPool::size() const { return impl_->n_threads; }

void ThreadPool::run(const std::function<void(int ith, int nth)>& fn) {
  Impl& p = *impl_;
  if (p.n_threads == 1) {
    fn(0, 1);
    return;
  }
  // One region at a time; a nested or concurrent run() is a programmer error.
  MUSE_ASSERT(!p.in_run.exchange(true, std::memory_order_acquire));
  p.fn = &fn;
  p.remaining.store(p.n_threads - 1, std::memory_order_relaxed);
  p.generation.fetch_add(1, std::memory_order_release);  // publishes fn and remaining
  p.generation.notify_all();  // a futex call only if some worker sleeps
  fn(0, p.n_threads);
  for (int r = p.remaining.load(std::memory_order_acquire); r != 0;
       r = p.remaining.load(std::memory_order_acquire)) {
    wait_for_change(p.remaining, r);
  }
  p.in_run.store(false, std::memory_order_release);
}

void ThreadPool::chunk(int64_t n, int ith, int nth, int64_t grain, int64_t* begin, int64_t* end) {
  MUSE_ASSERT(grain > 0 && nth > 0 && ith >= 0 && ith < nth);
  const int64_t units = (n + grain - 1) / grain;
  const int64_t u0 = units * ith / nth, u1 = units * (ith + 1) / nth;
  *begin = std::min(n, u0 * grain);
  *end = std::min(n, u1 * grain);
}

}  // namespace muse::core
