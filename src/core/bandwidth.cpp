#include "core/bandwidth.h"

#include <algorithm>
#include <atomic>
#include <chrono>

#include "core/matmul.h"
#include "core/matmul_internal.h"

namespace muse::core {
namespace {
constexpr size_t kSample = size_t{64} << 20;  // > any L3: each sample streams from DRAM
}  // namespace

ReadProbe::ReadProbe(ThreadPool& pool, size_t bytes)
    : pool_(pool),
      n_samples_(std::max<size_t>(4, bytes / kSample)),
      slice_bytes_(kSample / static_cast<size_t>(pool.size()) / 256 * 256),  // per thread per sample
      buf_(slice_bytes_ * static_cast<size_t>(pool.size()) * n_samples_) {
  // Fill with something non-zero; each thread writes its own slices (first touch on its node).
  pool_.run([&](int ith, int) {
    for (size_t s = 0; s < n_samples_; ++s) {
      uint8_t* p = slice(s, ith);
      for (size_t i = 0; i < slice_bytes_; i += 4096) p[i] = static_cast<uint8_t>(i >> 12);
    }
  });
}

uint8_t* ReadProbe::slice(size_t sample, int ith) {
  return buf_.data() + (sample * static_cast<size_t>(pool_.size()) + static_cast<size_t>(ith)) * slice_bytes_;
}

double ReadProbe::read(size_t first, size_t count) {
  const auto& ks = *detail::kernel_set(KernelPath::kAuto);
  std::atomic<uint64_t> sink{0};
  const auto t0 = std::chrono::steady_clock::now();
  pool_.run([&](int ith, int) {
    uint64_t sum = 0;
    for (size_t s = first; s < first + count; ++s) sum += ks.read_sum(slice(s, ith), slice_bytes_);
    sink.fetch_add(sum, std::memory_order_relaxed);
  });
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double ReadProbe::best_stretch(int passes) {
  const double per_sample = static_cast<double>(bytes() / n_samples_);
  double best = 0.0;
  for (int p = 0; p < passes; ++p) {
    for (size_t s = 0; s < n_samples_; ++s) best = std::max(best, per_sample / read(s, 1));
  }
  return best;
}

double ReadProbe::pass() { return static_cast<double>(bytes()) / read(0, n_samples_); }

double measure_read_bandwidth(ThreadPool& pool, size_t bytes) { return ReadProbe(pool, bytes).best_stretch(3); }

}  // namespace muse::core
