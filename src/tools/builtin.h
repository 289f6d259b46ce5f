// Built-in tools: an exact calculator and read-only file access confined to a sandbox folder.
//
//   calculate("2^100 / 3 + 0.1")  exact rational arithmetic (GMP): integers of any size, decimals
//                                 without binary rounding (0.1 + 0.2 = 0.3), + - * / ^ (integer
//                                 exponent), parentheses, unary minus. The result is printed as an
//                                 exact decimal when it has one, else as a fraction with a 30-digit
//                                 decimal approximation.
//   Sandbox::read_file / list_dir paths are relative to the sandbox root; absolute paths, ".." that
//                                 leaves the root, and symlinks (anywhere on the path) are refused.
//
// Nothing here writes or executes anything. Errors: bad input throws muse::Error(kInvalidArgument)
// with a message meant for the model ("calculator: division by zero at column 5"); files outside the
// sandbox or missing throw kInvalidArgument / kNotFound; OS failures kIOError. Thread-safe (no state
// besides the immutable root).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace muse::tools {

std::string calculate(std::string_view expression);

class Sandbox {
 public:
  // REQUIRES nothing; throws kNotFound when root is not an existing directory.
  explicit Sandbox(const std::filesystem::path& root, int64_t max_read_bytes = 256 * 1024);

  // The file's bytes (at most max_read_bytes; longer files are cut with a note at the end).
  std::string read_file(std::string_view relative) const;
  // One entry per line, sorted, directories with a trailing '/'.
  std::string list_dir(std::string_view relative) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  // The checked absolute path of `relative` (see the header); must_be_dir says what is expected.
  std::filesystem::path resolve(std::string_view relative, bool must_be_dir) const;

  std::filesystem::path root_;
  int64_t max_read_bytes_;
};

}  // namespace muse::tools
