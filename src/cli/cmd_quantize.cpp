// muse quantize IN OUT TYPE: converts the 2-D weight matrices of an F32/F16/BF16 model to a block
// format. 1-D tensors (norms, biases) stay as they are; a matrix whose row length is not a multiple of
// the block size falls back to Q8_0 (if the row is a multiple of 32) or keeps its type, as llama.cpp's
// "mixed" files do, and the command says which tensors it left. Writes OUT atomically.
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/quant.h"
#include "core/thread_pool.h"
#include "gguf/gguf.h"

namespace muse::cli {
namespace {

using core::DType;

// llama.cpp's general.file_type values (enum llama_ftype) for the types we write.
uint32_t file_type_for(DType t) {
  switch (t) {
    case DType::kF32: return 0;
    case DType::kF16: return 1;
    case DType::kQ4_0: return 2;
    case DType::kQ8_0: return 7;
    case DType::kQ4_K: return 15;  // "Q4_K_M" is the closest named preset
    case DType::kQ5_K: return 17;
    case DType::kQ6_K: return 18;
    case DType::kBF16: return 32;
    default: return 0;
  }
}

void quantize(const std::string& in_path, const std::string& out_path, const std::string& type_name, int threads) {
  const auto target = core::dtype_from_name(type_name);
  const DType allowed[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kF16,
                           DType::kBF16, DType::kF32};
  if (!target || std::find(std::begin(allowed), std::end(allowed), *target) == std::end(allowed)) {
    fail(ErrorCode::kInvalidArgument, "unknown target type '{}' (choose q8_0, q4_0, q4_K, q5_K, q6_K, f16, bf16, f32)",
         type_name);
  }
  auto in = gguf::File::open(in_path);
  gguf::Writer w;
  for (const auto& [k, v] : in->metadata()) {
    if (k == "general.file_type" || k == "general.quantization_version" || k == "general.alignment") continue;
    w.set(k, v);
  }
  w.set("general.quantization_version", gguf::Value::u32(2));
  w.set("general.file_type", gguf::Value::u32(file_type_for(*target)));

  size_t total = 0;
  for (const auto& t : in->tensors()) total += t.n_bytes;
  // Small models quantize in a blink: a progress bar only for work that takes a while.
  std::unique_ptr<core::ProgressBar> bar;
  if (total > (size_t{64} << 20)) bar = std::make_unique<core::ProgressBar>("quantizing", total / 1048576.0, "MiB");
  core::ThreadPool pool(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  size_t done = 0;
  int kept = 0;
  for (const auto& t : in->tensors()) {
    const bool matrix = t.shape.size() == 2 && t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".weight") == 0;
    DType out_type = t.type;
    if (matrix) {
      if (t.type != DType::kF32 && t.type != DType::kF16 && t.type != DType::kBF16) {
        fail(ErrorCode::kUnsupported, "{}: tensor '{}' is already {}; muse quantize converts F32/F16/BF16 models "
             "(quantizing twice loses quality)", in_path, t.name, core::dtype_name(t.type));
      }
      const int64_t cols = t.shape[0];
      if (cols % core::dtype_info(*target).block_size == 0) {
        out_type = *target;
      } else if (cols % 32 == 0 && core::dtype_info(*target).block_size > 1) {
        out_type = DType::kQ8_0;
      }
      if (out_type != *target) {
        std::fprintf(stderr, "note: %s (row length %lld) stays %s\n", t.name.c_str(), static_cast<long long>(cols),
                     std::string(core::dtype_name(out_type)).c_str());
        ++kept;
      }
    }
    if (out_type == t.type) {
      w.add_tensor_borrowed(t.name, t.type, t.shape, {t.data, t.n_bytes});
    } else {
      const int64_t cols = t.shape[0], rows = t.rows();
      const size_t in_stride = core::row_bytes(t.type, cols), out_stride = core::row_bytes(out_type, cols);
      std::vector<uint8_t> out(out_stride * rows);
      pool.run([&](int ith, int nth) {
        int64_t r0, r1;
        core::ThreadPool::chunk(rows, ith, nth, 1, &r0, &r1);
        std::vector<float> row(cols);
        for (int64_t r = r0; r < r1; ++r) {
          core::dequantize_row(t.type, t.data + in_stride * r, row.data(), cols);
          core::quantize_row(out_type, row.data(), out.data() + out_stride * r, cols);
        }
      });
      w.add_tensor(t.name, out_type, t.shape, out);
    }
    done += t.n_bytes;
    if (bar) bar->update(done / 1048576.0);
  }
  if (bar) bar->finish();
  w.write(out_path);
  std::fprintf(stderr, "wrote %s (%s%s)\n", out_path.c_str(), std::string(core::dtype_name(*target)).c_str(),
               kept ? fmt::format(", {} tensors kept another type", kept).c_str() : "");
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  struct Opts {
    std::string in, out, type;
    int threads = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("quantize", "Convert an F32/F16/BF16 GGUF model to Q8_0, Q4_0, Q4_K, Q5_K or Q6_K");
  cmd->add_option("IN", o->in, "Input GGUF model")->required()->check(CLI::ExistingFile);
  cmd->add_option("OUT", o->out, "Output GGUF file (written atomically)")->required();
  cmd->add_option("TYPE", o->type, "Target type: q8_0, q4_0, q4_K, q5_K, q6_K (also f16, bf16, f32)")->required();
  cmd->add_option("-t,--threads", o->threads, "Worker threads (0 = one per core)")->check(CLI::Range(0, 1024));
  cmd->callback([o] { quantize(o->in, o->out, o->type, o->threads); });
}

}  // namespace muse::cli
