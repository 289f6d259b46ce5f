// AlignedBuffer: an owned, zero-initialized byte buffer aligned for SIMD loads (64 B), and for
// buffers of 4 MiB or more aligned to 2 MiB with transparent huge pages requested (madvise), so that
// streaming kernels and the bandwidth probe see the same kind of memory a large model gets.
//
// Move-only; not thread-safe to resize, safe to read from many threads. Throws muse::Error
// (kOutOfRange) if the allocation fails.
#pragma once

#include <cstddef>
#include <cstdint>

namespace muse::core {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes);
  ~AlignedBuffer();
  AlignedBuffer(AlignedBuffer&& other) noexcept;
  AlignedBuffer& operator=(AlignedBuffer&& other) noexcept;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace muse::core
