// muse::Error: the one error mechanism of OpenMuse.
//
// Failures caused by data from outside (files, flags, HTTP bodies, configs) throw muse::Error, with a
// code that says what the caller should do next and a message that names the file, field and offset.
// Modules throw; the boundaries (the CLI's main, a server request handler, a test) catch. Hot loops
// (kernels, the forward pass) never throw: their inputs were validated when the model was loaded.
// Programmer errors (a broken invariant, a violated REQUIRES) are MUSE_ASSERT, which aborts.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace muse {

enum class ErrorCode {
  kInvalidArgument,  // a flag, field or request value is wrong: fix the input
  kNotFound,         // a file, key, tensor or model is missing
  kCorruption,       // a file's bytes contradict its own format (truncated, bad magic, offsets past end)
  kUnsupported,      // well-formed, but OpenMuse does not implement it (a dtype, an architecture)
  kIOError,          // the OS refused: open/read/write/mmap/rename failed
  kOutOfRange,       // a size limit: prompt longer than the context, body too large
  kUnavailable,      // try again later: queue full, shutting down
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Throws muse::Error(code, fmt::format(fmt, args...)).
template <typename... Args>
[[noreturn]] void fail(ErrorCode code, fmt::format_string<Args...> fmt, Args&&... args) {
  throw Error(code, fmt::format(fmt, std::forward<Args>(args)...));
}

[[noreturn]] void assert_failed(const char* expr, const char* file, int line);

}  // namespace muse

// Programmer errors only (never for bytes from a file or a socket): always checked, aborts with file:line.
#define MUSE_ASSERT(cond) \
  ((cond) ? (void)0 : ::muse::assert_failed(#cond, __FILE__, __LINE__))
