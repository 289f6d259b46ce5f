// The memory-read roofline: how many bytes per second this machine's cores can stream from DRAM.
// `muse bench` and bench/kernels report decode speed as a percentage of it.
//
// measure_read_bandwidth allocates `bytes` (rounded down to a multiple of 256 per thread; at least
// 64 MiB so the buffer is far larger than any L3), and returns the best of a few passes of a
// pure-read SIMD sum split across the pool's threads. Takes ~1 s for 1 GiB. Throws muse::Error
// (kOutOfRange) if the buffer cannot be allocated.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace muse::core {

double measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t{1} << 30);

}  // namespace muse::core
