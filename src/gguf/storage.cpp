#include "gguf/storage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "core/error.h"

namespace muse::gguf::detail {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;  // 2 MiB: the x86-64 transparent huge page size
constexpr size_t kPage = 4096;

class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) fail(ErrorCode::kIOError, "{}: cannot open: {}", path, std::strerror(errno));
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

size_t file_size_of(const Fd& fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail(ErrorCode::kIOError, "{}: cannot stat: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) fail(ErrorCode::kIOError, "{}: not a regular file", path);
  return static_cast<size_t>(st.st_size);
}

// posix_memalign never hands back a size it cannot hold; `alignment` must be a power of two >= 8.
uint8_t* aligned_buffer(size_t bytes, size_t alignment, const std::string& what) {
  void* p = nullptr;
  if (::posix_memalign(&p, alignment, std::max<size_t>(bytes, 1)) != 0) {
    fail(ErrorCode::kOutOfRange, "{}: out of memory: cannot allocate {} bytes", what, bytes);
  }
  return static_cast<uint8_t*>(p);
}

}  // namespace

Storage::~Storage() { release(); }

Storage::Storage(Storage&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapped_bytes_(std::exchange(other.mapped_bytes_, 0)) {}

Storage& Storage::operator=(Storage&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapped_bytes_ = std::exchange(other.mapped_bytes_, 0);
  }
  return *this;
}

void Storage::release() noexcept {
  if (mapped_bytes_ > 0) {
    ::munmap(data_, mapped_bytes_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
  size_ = 0;
  mapped_bytes_ = 0;
}

// Small buffers get an exact size (so sanitizers see any over-read); big ones are rounded up to whole
// huge pages and advised to use them, so that streaming the weights does not miss the TLB every 4 KiB.
Storage Storage::allocate(size_t total, const std::string& what) {
  const size_t capacity = total >= kHugePage ? (total + kHugePage - 1) / kHugePage * kHugePage : total;
  Storage s;
  s.data_ = aligned_buffer(capacity, capacity >= kHugePage ? kHugePage : kPage, what);
  s.size_ = total;
#ifdef MADV_HUGEPAGE
  // Advisory: a kernel without transparent huge pages refuses, and small pages still work.
  if (capacity >= kHugePage) (void)::madvise(s.data_, capacity, MADV_HUGEPAGE);
#endif
  return s;
}

Storage Storage::read_file(const std::string& path, size_t chunk_bytes,
                           const std::function<void(size_t, size_t)>& progress) {
  MUSE_ASSERT(chunk_bytes > 0);
  Fd fd(path);
  const size_t total = file_size_of(fd, path);

  Storage s = allocate(total, path);

  size_t done = 0;
  while (done < total) {
    const size_t want = std::min(chunk_bytes, total - done);
    size_t got = 0;
    while (got < want) {
      const ssize_t n = ::pread(fd.get(), s.data_ + done + got, want - got, static_cast<off_t>(done + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        fail(ErrorCode::kIOError, "{}: read failed at offset {}: {}", path, done + got, std::strerror(errno));
      }
      if (n == 0) {
        fail(ErrorCode::kIOError, "{}: file shrank while reading: end at offset {}, expected {} bytes", path,
             done + got, total);
      }
      got += static_cast<size_t>(n);
    }
    done += want;
    if (progress) progress(done, total);
  }
  if (total == 0 && progress) progress(0, 0);
  return s;
}

Storage Storage::map_file(const std::string& path) {
  Fd fd(path);
  const size_t total = file_size_of(fd, path);
  Storage s;
  if (total == 0) return s;  // mmap of zero bytes is EINVAL; the parser reports the empty file
  void* p = ::mmap(nullptr, total, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) fail(ErrorCode::kIOError, "{}: mmap of {} bytes failed: {}", path, total, std::strerror(errno));
  s.data_ = static_cast<uint8_t*>(p);
  s.size_ = total;
  s.mapped_bytes_ = total;
  // Advisory read-ahead; failure only costs speed.
  (void)::madvise(p, total, MADV_WILLNEED);
  return s;
}

Storage Storage::copy_of(const std::vector<uint8_t>& bytes) {
  Storage s = allocate(bytes.size(), "<memory>");
  if (!bytes.empty()) std::memcpy(s.data_, bytes.data(), bytes.size());
  return s;
}

}  // namespace muse::gguf::detail
