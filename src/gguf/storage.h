// The bytes of one GGUF file in memory: a page-aligned heap buffer (read or copied in) or a read-only
// mmap. Internal to the gguf module (File::Impl owns one).
//
// Ownership: a Storage owns its bytes and frees/unmaps them in its destructor; it is move-only.
// Thread-safety: immutable after construction; concurrent reads are safe.
// Errors: open/read/mmap failures throw muse::Error(kIOError) naming the path and strerror(errno).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace muse::gguf::detail {

class Storage {
 public:
  Storage() = default;
  ~Storage();
  Storage(Storage&& other) noexcept;
  Storage& operator=(Storage&& other) noexcept;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // Reads the whole file with pread in chunks of `chunk_bytes` into a buffer aligned to 2 MiB (huge
  // pages on Linux), calling progress(done, total) after each chunk when it is set.
  // REQUIRES: chunk_bytes > 0.
  static Storage read_file(const std::string& path, size_t chunk_bytes,
                           const std::function<void(size_t, size_t)>& progress);
  // Maps the file read-only (MAP_PRIVATE) and asks the kernel to read ahead (MADV_WILLNEED).
  // An empty file gives an empty Storage (nothing to map).
  static Storage map_file(const std::string& path);
  // Copies `bytes` into a buffer allocated as read_file's (page-aligned; huge pages from 2 MiB up), so
  // that tensor data is as aligned, and streams as fast, as a model read from a file.
  static Storage copy_of(const std::vector<uint8_t>& bytes);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  // An empty heap buffer of `total` bytes: page-aligned, or from 2 MiB up rounded to whole huge pages
  // and advised to use them. `what` names the buffer in the out-of-memory error.
  static Storage allocate(size_t total, const std::string& what);
  void release() noexcept;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t mapped_bytes_ = 0;  // > 0: data_ is an mmap of this many bytes; 0: heap (free) or empty
};

}  // namespace muse::gguf::detail
