// ThreadPool: a fixed set of worker threads that run one parallel region at a time.
//
// Usage:
//   core::ThreadPool pool(2);                       // the caller's thread is worker 0
//   pool.run([&](int ith, int nth) { ...rows ith*n/nth .. (ith+1)*n/nth... });
//
// run() calls fn(ith, nth) once on every worker (ith = 0..nth-1, the calling thread is ith 0) and
// returns when all have returned. Workers spin briefly between regions (a decode step issues hundreds
// of short regions), then yield their core, then sleep on a futex (thread_pool.cpp has the budget). One run() at a time: the pool is owned by one caller (a model, a
// scheduler) and is not safe to call from two threads at once. fn must not throw.
#pragma once

#include <functional>
#include <memory>

namespace muse::core {

class ThreadPool {
 public:
  // n_threads <= 0 means one per available core.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;
  void run(const std::function<void(int ith, int nth)>& fn);

  // Splits [0, n) into nth nearly equal chunks, aligned to `grain`; worker ith gets [begin, end).
  static void chunk(int64_t n, int ith, int nth, int64_t grain, int64_t* begin, int64_t* end);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace muse::core
