#include "core/aligned_buffer.h"

#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/error.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace muse::core {

AlignedBuffer::AlignedBuffer(size_t bytes) {
  if (bytes == 0) return;
  const bool huge = bytes >= (size_t{4} << 20);
  const size_t align = huge ? (size_t{2} << 20) : 64;
  const size_t rounded = (bytes + align - 1) / align * align;
  void* p = std::aligned_alloc(align, rounded);
  if (p == nullptr) fail(ErrorCode::kOutOfRange, "cannot allocate {} bytes", bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (huge) madvise(p, rounded, MADV_HUGEPAGE);  // advisory: ignored where THP is off
#endif
  std::memset(p, 0, rounded);  // touch every page now, not inside a timed loop
  data_ = static_cast<uint8_t*>(p);
  size_ = bytes;
}

AlignedBuffer::~AlignedBuffer() { std::free(data_); }

AlignedBuffer::AlignedBuffer(AlignedBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

AlignedBuffer& AlignedBuffer::operator=(AlignedBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace muse::core
