#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace muse {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid argument";
    case ErrorCode::kNotFound: return "not found";
    case ErrorCode::kCorruption: return "corrupt data";
    case ErrorCode::kUnsupported: return "unsupported";
    case ErrorCode::kIOError: return "I/O error";
    case ErrorCode::kOutOfRange: return "out of range";
    case ErrorCode::kUnavailable: return "unavailable";
  }
  return "error";
}

void assert_failed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "muse: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
  std::abort();
}

}  // namespace muse
