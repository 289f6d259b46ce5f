#include "cli/model_options.h"

#include <algorithm>
#include <thread>

#include "core/error.h"
#include "core/progress.h"

namespace muse::cli {

void ModelOptions::add_to(CLI::App* cmd, bool required) {
  auto* m = cmd->add_option("-m,--model", path, "GGUF model file");
  if (required) m->required();
  m->check(CLI::ExistingFile);
  cmd->add_option("-t,--threads", threads, "Worker threads (0 = one per core)")->check(CLI::Range(0, 1024));
  cmd->add_flag("--mmap", mmap,
                "Memory-map the model instead of reading it into RAM. Reading (the default) takes a few seconds "
                "longer to start but decodes faster on machines where the page cache gets dropped, and (with "
                "AVX-512) rewrites Q8_0 matrices into the layout the batched kernels read; mmap starts "
                "instantly and shares pages between processes, but keeps the file's layout, so batched steps "
                "(prompts, contemplating agents) run slower.");
  cmd->add_option("-c,--ctx-size", n_ctx, "Context size in tokens (0 = the model's, at most 4096)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  cmd->add_option("--kv-type", kv_type, "KV cache element type")->check(CLI::IsMember({"f16", "f32"}));
}

std::unique_ptr<model::Model> ModelOptions::load() const {
  gguf::OpenOptions opts;
  opts.mode = mmap ? gguf::LoadMode::kMmap : gguf::LoadMode::kRead;
  std::unique_ptr<core::ProgressBar> bar;
  opts.progress = [&](size_t done, size_t total) {
    if (total < (size_t{64} << 20)) return;  // small files load instantly: no bar
    if (!bar) bar = std::make_unique<core::ProgressBar>("loading", total / 1048576.0, "MiB");
    bar->update(done / 1048576.0);
    if (done == total) bar->finish();
  };
  return model::Model::load(path, opts);
}

model::KvType ModelOptions::kv() const { return kv_type == "f32" ? model::KvType::kF32 : model::KvType::kF16; }

int ModelOptions::resolved_threads() const {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

int64_t ModelOptions::resolved_ctx(const model::HParams& hp) const {
  if (n_ctx > 0) return n_ctx;
  return std::min<int64_t>(hp.n_ctx_train, 4096);
}

}  // namespace muse::cli
