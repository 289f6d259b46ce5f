// Tests of core::ThreadPool: every worker index runs exactly once per region, many regions in a row
// (the decode pattern), and chunk() covers a range exactly.
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace muse::core {
namespace {

TEST(ThreadPool, EveryIthRunsExactlyOnce) {
  for (int n : {1, 2, 3, 4, 7}) {
    ThreadPool pool(n);
    ASSERT_EQ(pool.size(), n);
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    std::atomic<int> bad_nth{0};
    pool.run([&](int ith, int nth) {
      if (nth != n) bad_nth.fetch_add(1);
      hits[static_cast<size_t>(ith)].fetch_add(1);
    });
    EXPECT_EQ(bad_nth.load(), 0);
    for (int i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n=" << n << " ith=" << i;
  }
}

TEST(ThreadPool, CallerIsWorkerZero) {
  ThreadPool pool(3);
  std::thread::id id0;
  pool.run([&](int ith, int) {
    if (ith == 0) id0 = std::this_thread::get_id();
  });
  EXPECT_EQ(id0, std::this_thread::get_id());
}

// Many short regions back to back; each region's writes must be visible when run() returns.
TEST(ThreadPool, ManyRegionsInARow) {
  for (int n : {2, 4}) {
    ThreadPool pool(n);
    std::vector<int64_t> slot(static_cast<size_t>(n), 0);
    const int kRegions = n == 2 ? 3000 : 400;  // 4 threads on a 2-core machine wait on the scheduler
    for (int r = 0; r < kRegions; ++r) {
      pool.run([&](int ith, int) { slot[static_cast<size_t>(ith)] += r; });
      if (r % 997 == 0) {
        for (int i = 0; i < n; ++i) ASSERT_EQ(slot[static_cast<size_t>(i)], int64_t{r} * (r + 1) / 2);
      }
    }
    const int64_t expect = int64_t{kRegions - 1} * kRegions / 2;
    for (int i = 0; i < n; ++i) EXPECT_EQ(slot[static_cast<size_t>(i)], expect);
  }
}

// Workers that went to sleep (idle longer than the spin budget) must wake for the next region.
TEST(ThreadPool, WakesAfterIdle) {
  ThreadPool pool(3);
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::atomic<int> count{0};
    pool.run([&](int, int) { count.fetch_add(1); });
    EXPECT_EQ(count.load(), 3);
  }
}

TEST(ThreadPool, ChunkCoversRangeAlignedToGrain) {
  for (int64_t n : {0, 1, 5, 64, 100, 257}) {
    for (int nth : {1, 2, 3, 4}) {
      for (int64_t grain : {1, 4, 32}) {
        int64_t prev_end = 0;
        for (int ith = 0; ith < nth; ++ith) {
          int64_t b, e;
          ThreadPool::chunk(n, ith, nth, grain, &b, &e);
          ASSERT_EQ(b, prev_end);
          ASSERT_LE(b, e);
          if (e < n) {
            ASSERT_EQ(e % grain, 0);
          }
          prev_end = e;
        }
        ASSERT_EQ(prev_end, n);
      }
    }
  }
}

TEST(ThreadPool, DefaultSizeIsPositive) {
  ThreadPool pool(0);
  EXPECT_GE(pool.size(), 1);
}

}  // namespace
}  // namespace muse::core
