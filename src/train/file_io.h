// Whole-file reads and crash-safe whole-file writes for the trainer's outputs (checkpoints, loss CSV,
// loss plot): a crash or a full disk never leaves a half-written file where a good one was.
//
// write_file_atomic writes PATH.tmp, fsyncs it, renames it over PATH, then fsyncs the directory so
// the rename itself survives a power cut. Both functions are thread-compatible (distinct paths) and
// throw muse::Error(kIOError) naming the path, the failed call and strerror(errno); on a failed write
// PATH is untouched and PATH.tmp is removed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace muse::train {

void write_file_atomic(const std::string& path, std::span<const uint8_t> bytes);
// Throws kNotFound when the file does not exist, kIOError for other failures.
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace muse::train
