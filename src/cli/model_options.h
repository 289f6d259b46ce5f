// Flags shared by the commands that load a model (run, bench, chat, ...): path, threads, load mode,
// context and KV cache type, with one place that turns them into a loaded Model.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "model/kv_cache.h"
#include "model/model.h"

namespace muse::cli {

struct ModelOptions {
  std::string path;
  int threads = 0;        // 0: one per core
  bool mmap = false;      // map the file instead of reading it into memory
  int64_t n_ctx = 0;      // 0: the model's training context, capped at 4096
  std::string kv_type = "f16";

  // required: whether -m must be given.
  void add_to(CLI::App* cmd, bool required = true);
  // Loads with a progress bar on stderr; throws muse::Error with the path on failure.
  std::unique_ptr<model::Model> load() const;
  model::KvType kv() const;
  int resolved_threads() const;
  int64_t resolved_ctx(const model::HParams& hp) const;
};

}  // namespace muse::cli
