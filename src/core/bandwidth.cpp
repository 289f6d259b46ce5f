#include "core/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/aligned_buffer.h"
#include "core/matmul.h"
#include "core/matmul_internal.h"

namespace muse::core {

double measure_read_bandwidth(ThreadPool& pool, size_t bytes) {
  bytes = std::max(bytes, size_t{64} << 20);
  const size_t nth = static_cast<size_t>(pool.size());
  const size_t per_thread = bytes / nth / 256 * 256;
  AlignedBuffer buf(per_thread * nth);
  // Fill with something non-zero; each thread writes its own slice (first touch on its node).
  pool.run([&](int ith, int) {
    uint8_t* p = buf.data() + static_cast<size_t>(ith) * per_thread;
    for (size_t i = 0; i < per_thread; i += 4096) p[i] = static_cast<uint8_t>(i >> 12);
  });
  const auto& ks = *detail::kernel_set(KernelPath::kAuto);
  std::atomic<uint64_t> sink{0};
  double best = 0.0;
  constexpr int kPasses = 4;
  for (int pass = 0; pass < kPasses; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.run([&](int ith, int) {
      sink.fetch_add(ks.read_sum(buf.data() + static_cast<size_t>(ith) * per_thread, per_thread),
                     std::memory_order_relaxed);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(per_thread * nth) / s);
  }
  return best;
}

}  // namespace muse::core
