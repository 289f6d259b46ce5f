// The memory-read roofline: how many bytes per second this machine's cores can stream from DRAM.
// `muse bench` and bench/kernels report decode speed as a percentage of it.
//
// ReadProbe allocates a buffer (at least 256 MiB, far larger than any L3) that the pool's threads
// first-touch, and streams through it with a pure-read SIMD sum split across the threads, two ways:
//  - best_stretch: each 64 MiB stretch timed on its own, the best one counts. On a shared machine a
//    whole pass is rarely left alone, but some 2 ms stretches are: the machine's peak.
//  - pass: the whole buffer in one timing, as a decode step reads its weights. Taken between decode
//    repetitions, it is the bandwidth those tokens could have had (sustained, under the same load).
// measure_read_bandwidth(pool, bytes) is ReadProbe(pool, bytes).best_stretch(3): ~1 s for 1 GiB.
// Throws muse::Error (kOutOfRange) if the buffer cannot be allocated.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/aligned_buffer.h"
#include "core/thread_pool.h"

namespace muse::core {

class ReadProbe {
 public:
  ReadProbe(ThreadPool& pool, size_t bytes);
  double best_stretch(int passes);  // bytes per second
  double pass();                    // bytes per second
  size_t bytes() const { return slice_bytes_ * static_cast<size_t>(pool_.size()) * n_samples_; }

 private:
  double read(size_t first, size_t count);  // seconds to stream samples [first, first + count)
  uint8_t* slice(size_t sample, int ith);    // thread ith's part of a sample

  ThreadPool& pool_;
  size_t n_samples_ = 0, slice_bytes_ = 0;
  AlignedBuffer buf_;
};

double measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t{1} << 30);

}  // namespace muse::core
