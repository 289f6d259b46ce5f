// The memory-read roofline: how many bytes per second this machine's cores can stream from DRAM.
// `muse bench` and bench/kernels report decode speed as a percentage of it.
//
// measure_read_bandwidth allocates `bytes` (at least 256 MiB, far larger than any L3) and streams
// through it a few times with a pure-read SIMD sum, split across the pool's threads. Each 64 MiB
// stretch is timed on its own and the best one counts: on a shared machine a whole pass is rarely
// left alone, but some 2 ms stretches are, and decode benchmarks time their samples the same way.
// Takes ~1 s for 1 GiB. Throws muse::Error (kOutOfRange) if the buffer cannot be allocated.
#pragma once

#include <cstddef>

#include "core/thread_pool.h"

namespace muse::core {

double measure_read_bandwidth(ThreadPool& pool, size_t bytes = size_t{1} << 30);

}  // namespace muse::core
