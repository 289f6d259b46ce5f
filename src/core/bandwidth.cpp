#include "core/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/aligned_buffer.h"
#include "core/matmul.h"
#include "core/matmul_internal.h"

namespace muse::core {

double measure_read_bandwidth(ThreadPool& pool, size_t bytes) {
  constexpr size_t kSample = size_t{64} << 20;  // > any L3: each sample streams from DRAM
  const size_t n_samples = std::max<size_t>(4, bytes / kSample);
  const size_t nth = static_cast<size_t>(pool.size());
  const size_t slice = kSample / nth / 256 * 256;  // per thread per sample
  AlignedBuffer buf(slice * nth * n_samples);
  // Fill with something non-zero; each thread writes its own slices (first touch on its node).
  pool.run([&](int ith, int) {
    for (size_t s = 0; s < n_samples; ++s) {
      uint8_t* p = buf.data() + s * slice * nth + static_cast<size_t>(ith) * slice;
      for (size_t i = 0; i < slice; i += 4096) p[i] = static_cast<uint8_t>(i >> 12);
    }
  });
  const auto& ks = *detail::kernel_set(KernelPath::kAuto);
  std::atomic<uint64_t> sink{0};
  double best = 0.0;
  constexpr int kPasses = 3;
  for (int pass = 0; pass < kPasses; ++pass) {
    for (size_t s = 0; s < n_samples; ++s) {
      const uint8_t* base = buf.data() + s * slice * nth;
      const auto t0 = std::chrono::steady_clock::now();
      pool.run([&](int ith, int) {
        sink.fetch_add(ks.read_sum(base + static_cast<size_t>(ith) * slice, slice), std::memory_order_relaxed);
      });
      const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, static_cast<double>(slice * nth) / sec);
    }
  }
  return best;
}

}  // namespace muse::core
