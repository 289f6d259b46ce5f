// muse train sft: supervised fine-tuning of muse-nano from a JSON config (train/nano_config.h):
// generates the task data, tokenizes it with the muse-nano tokenizer, runs train::run_sft with
// checkpoints and the loss log, and exports OUT/muse-nano-sft.gguf with the tokenizer and chat template.
// muse train grpo: GRPO with a length penalty from an SFT checkpoint or GGUF (train/grpo.h, config in
// train/grpo_config.h), exporting OUT/muse-nano-grpo.gguf.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/interrupt.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "gguf/gguf.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"
#include "tools/registry.h"
#include "tools/tool_calls.h"
#include "train/export.h"
#include "train/grpo.h"
#include "train/grpo_config.h"
#include "train/grpo_nano.h"
#include "train/import.h"
#include "train/nano_config.h"
#include "train/nano_data.h"
#include "train/nano_vocab.h"
#include "train/sft.h"

namespace muse::cli {

namespace {

struct TrainSftFlags {
  std::string config;
  std::string init;
  std::string resume;
  std::string out;
};

void run_train_sft(const TrainSftFlags& f) {
  train::NanoRunConfig rc = train::load_nano_config(f.config);

  const train::NanoVocab nv = train::build_nano_vocab();
  const std::unique_ptr<text::Tokenizer> tok = train::nano_tokenizer(nv);
  const text::ChatTemplate tmpl = text::ChatTemplate::parse(train::nano_chat_template(), "muse-nano chat template");

  const train::PromptRenderer render = [&](const std::string& question, bool thinking) {
    nlohmann::ordered_json vars = {
        {"messages", nlohmann::ordered_json::array({{{"role", "user"}, {"content", question}}})},
        {"add_generation_prompt", true},
        {"bos_token", "<s>"},
        {"eos_token", "</s>"},
        {"enable_thinking", thinking}};
    return tmpl.render(vars);
  };
  const train::TextEncoder encode = [&](const std::string& text) {
    return tok->encode(text, /*add_special=*/false, /*parse_special=*/true);
  };

  // Tool conversations offer the calculator the way `muse chat --tools calculator` and the server do:
  // the template's own tools line, and calls in tools::format_tool_call's form.
  tools::ToolRegistry calc;
  tools::add_builtin_tools(calc, {"calculator"}, nullptr);
  const train::NanoToolHooks tool_hooks{
      [&](const train::Turns& turns, bool thinking) {
        nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
        for (const auto& [role, content] : turns) msgs.push_back({{"role", role}, {"content", content}});
        nlohmann::ordered_json vars = {{"messages", std::move(msgs)},
                                       {"tools", calc.openai_tools()},
                                       {"add_generation_prompt", true},
                                       {"bos_token", "<s>"},
                                       {"eos_token", "</s>"},
                                       {"enable_thinking", thinking}};
        return tmpl.render(vars);
      },
      [](const std::string& expression) {
        tools::ToolCall c;
        c.name = "calculator";
        c.arguments = {{"expression", expression}};
        return tools::format_tool_call(tools::ToolFormat::kHermes, c);
      }};

  train::NanoDataStats st;
  const std::vector<train::Example> data =
      train::build_nano_data(rc.data, nv.bos, render, encode, &st, &tool_hooks);
  std::fprintf(stderr,
               "muse train sft: vocab %d tokens (%d pieces); %lld examples (%lld thinking, %lld instant, %lld "
               "dropped as longer than %lld tokens), %.1f tokens/example, longest %lld, %.1f%% of tokens in the loss\n",
               tok->n_vocab(), nv.n_pieces, static_cast<long long>(st.kept), static_cast<long long>(st.thinking),
               static_cast<long long>(st.instant), static_cast<long long>(st.dropped_too_long),
               static_cast<long long>(rc.data.max_tokens), static_cast<double>(st.tokens) / static_cast<double>(st.kept),
               static_cast<long long>(st.longest),
               100.0 * static_cast<double>(st.masked_tokens) / static_cast<double>(st.tokens));
  if (st.tool_calls + st.tools_unused > 0) {
    std::fprintf(stderr, "muse train sft: calculator offered in %lld conversations: %lld multiplications call it, "
                 "%lld other problems do not\n", static_cast<long long>(st.tool_calls + st.tools_unused),
                 static_cast<long long>(st.tool_calls), static_cast<long long>(st.tools_unused));
  }

  train::SftConfig& cfg = rc.sft;
  cfg.model.vocab = tok->n_vocab();
  cfg.out_dir = f.out;
  cfg.resume_from = f.resume;
  std::unique_ptr<train::Model> init;
  std::vector<std::string> init_tokens;
  if (!f.init.empty() && f.resume.empty()) {
    // Warm start: the block weights as they are (placed in a deeper or wider model when the config grows
    // it), the embedding rows matched by token text, so a model trained on an older vocabulary of the
    // task language carries over to this one.
    const std::unique_ptr<gguf::File> file = gguf::File::open(f.init);
    init = train::model_from_gguf(*file);
    init_tokens = file->get_string_array("tokenizer.ggml.tokens");
    cfg.warm_start = [&](train::Model& m) {
      const int64_t matched = train::warm_start(*init, init_tokens, m, nv.tokens);
      std::fprintf(stderr, "muse train sft: warm start from %s: all block weights (%lld -> %lld layers, ffn %lld -> "
                   "%lld), %lld of %lld embedding rows\n", f.init.c_str(), static_cast<long long>(init->config().n_layers),
                   static_cast<long long>(m.config().n_layers), static_cast<long long>(init->config().ffn_dim),
                   static_cast<long long>(m.config().ffn_dim), static_cast<long long>(matched),
                   static_cast<long long>(m.config().vocab));
    };
  }
  std::error_code ec;
  std::filesystem::create_directories(f.out, ec);
  if (ec) fail(ErrorCode::kIOError, "--out {}: cannot create the directory: {}", f.out, ec.message());
  std::fprintf(stderr, "muse train sft: model %lld params (dim %lld, %lld layers), %lld steps of %lld x %lld%s\n",
               static_cast<long long>(cfg.model.n_params()), static_cast<long long>(cfg.model.dim),
               static_cast<long long>(cfg.model.n_layers), static_cast<long long>(cfg.steps),
               static_cast<long long>(cfg.batch_size), static_cast<long long>(cfg.seq_len),
               f.resume.empty() ? "" : (", resuming from " + f.resume).c_str());

  const int threads = rc.threads > 0 ? rc.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  core::ThreadPool pool(threads);
  Interrupt interrupt;  // Ctrl-C: finish the step, save the checkpoint, exit
  const train::SftResult r = train::run_sft(cfg, data, pool, interrupt.token());
  if (r.stopped) {
    fail(ErrorCode::kUnavailable,
         "train sft: interrupted at step {} of {}; the checkpoint is saved (no model exported yet): continue with "
         "--resume {}/checkpoint.bin",
         r.steps, cfg.steps, f.out);
  }

  const std::string gguf_path = (std::filesystem::path(f.out) / "muse-nano-sft.gguf").string();
  train::export_gguf(*r.model, gguf_path, [&](gguf::Writer& w) { train::add_nano_tokenizer_to_gguf(nv, w); });
  if (r.history.empty() || r.tokens_per_s <= 0.0) {
    // Resumed from a checkpoint already at the configured step count: nothing trained, exported as it is.
    std::fprintf(stderr, "muse train sft: the checkpoint is at step %lld of %lld, nothing left to train; wrote %s\n",
                 static_cast<long long>(r.steps), static_cast<long long>(cfg.steps), gguf_path.c_str());
    return;
  }
  std::fprintf(stderr, "\nmuse train sft: %lld steps, loss %.4f (step 1) -> %.4f (last window), %.0f tokens/s; wrote %s\n",
               static_cast<long long>(r.steps), static_cast<double>(r.history.front().loss),
               static_cast<double>(r.final_loss), r.tokens_per_s, gguf_path.c_str());
}

struct TrainGrpoFlags {
  std::string config;
  std::string init;
  std::string resume;
  std::string out;
};

void run_train_grpo(const TrainGrpoFlags& f) {
  train::GrpoRunConfig rc = train::load_grpo_config(f.config);
  const std::unique_ptr<train::Model> init = train::load_model_for_training(f.init);

  const train::NanoVocab nv = train::build_nano_vocab();
  const std::unique_ptr<text::Tokenizer> tok = train::nano_tokenizer(nv);
  if (init->config().vocab != tok->n_vocab()) {
    fail(ErrorCode::kInvalidArgument, "--init {}: the model has a vocabulary of {} tokens, muse-nano's has {}", f.init,
         init->config().vocab, tok->n_vocab());
  }
  const text::ChatTemplate tmpl = text::ChatTemplate::parse(train::nano_chat_template(), "muse-nano chat template");
  const train::PromptRenderer render = [&](const std::string& question, bool thinking) {
    nlohmann::ordered_json vars = {
        {"messages", nlohmann::ordered_json::array({{{"role", "user"}, {"content", question}}})},
        {"add_generation_prompt", true},
        {"bos_token", "<s>"},
        {"eos_token", "</s>"},
        {"enable_thinking", thinking}};
    return tmpl.render(vars);
  };
  const train::TextEncoder encode = [&](const std::string& text) {
    return tok->encode(text, /*add_special=*/false, /*parse_special=*/true);
  };
  const train::TextDecoder decode = [&](std::span<const int32_t> ids) { return tok->decode(ids); };
  const train::GrpoTasks tasks = train::make_nano_grpo_tasks(rc.data, nv, render, encode, decode);

  train::GrpoConfig& cfg = rc.grpo;
  cfg.out_dir = f.out;
  cfg.resume_from = f.resume;
  std::fprintf(stderr,
               "muse train grpo: model %lld params (dim %lld, %lld layers) from %s; %lld steps in %zu phases of %lld "
               "prompts x %lld samples; %zu validation prompts%s\n",
               static_cast<long long>(init->n_params()), static_cast<long long>(init->config().dim),
               static_cast<long long>(init->config().n_layers), f.init.c_str(),
               static_cast<long long>(cfg.total_steps()), cfg.phases.size(),
               static_cast<long long>(cfg.prompts_per_step), static_cast<long long>(cfg.group_size),
               tasks.validation.size(), f.resume.empty() ? "" : (", resuming from " + f.resume).c_str());

  const int threads = rc.threads > 0 ? rc.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  core::ThreadPool pool(threads);
  Interrupt interrupt;  // Ctrl-C: finish the step, save the checkpoint, exit
  const train::GrpoResult r = train::run_grpo(cfg, *init, tasks, pool, interrupt.token());
  if (r.stopped) {
    fail(ErrorCode::kUnavailable,
         "train grpo: interrupted at step {} of {}; the checkpoint is saved (no model exported yet): continue with "
         "--resume {}/checkpoint.bin",
         r.steps, cfg.total_steps(), f.out);
  }

  const std::string gguf_path = (std::filesystem::path(f.out) / "muse-nano-grpo.gguf").string();
  train::export_gguf(*r.model, gguf_path, [&](gguf::Writer& w) { train::add_nano_tokenizer_to_gguf(nv, w); });
  std::fprintf(stderr,
               "muse train grpo: %lld steps, %.2f s/step, rollouts %.0f tokens/s; final validation accuracy %.3f with "
               "%.1f thinking tokens (p90 %.0f); wrote %s\n",
               static_cast<long long>(r.steps), r.seconds_per_step, r.rollout_tokens_per_s, r.final_eval.accuracy,
               r.final_eval.think_mean, r.final_eval.think_p90, gguf_path.c_str());
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto* train = app.add_subcommand("train", "Train muse-nano (see docs/muse-nano.md)");
  train->require_subcommand(1);
  auto flags = std::make_shared<TrainSftFlags>();
  auto* sft = train->add_subcommand(
      "sft",
      "Supervised fine-tuning from a JSON config (model shape, data mix, schedule; see "
      "configs/muse-nano-sft.json): writes OUT/checkpoint.bin, OUT/loss.csv, OUT/loss.png and, at the end, "
      "OUT/muse-nano-sft.gguf with the muse-nano tokenizer and chat template");
  sft->add_option("--config", flags->config, "The run's JSON config file")->required();
  sft->add_option("--resume", flags->resume,
                  "Continue from this checkpoint (e.g. OUT/checkpoint.bin) up to the config's steps; the model "
                  "shape must match");
  sft->add_option("--init", flags->init,
                  "Start from this model's weights instead of random ones (a GGUF of the same shape, any weight "
                  "type; embedding rows are matched to the new vocabulary by token text); ignored with --resume, "
                  "whose checkpoint already holds the weights");
  sft->add_option("--out", flags->out, "Output directory (created if missing)")->required();
  sft->callback([flags] { run_train_sft(*flags); });

  auto gflags = std::make_shared<TrainGrpoFlags>();
  auto* grpo = train->add_subcommand(
      "grpo",
      "GRPO with a length penalty (thought compression) from a JSON config (phases, rewards; see "
      "configs/muse-nano-grpo.json and docs/thought-compression.md): writes OUT/checkpoint.bin, OUT/grpo.csv, "
      "OUT/grpo.png and, at the end, OUT/muse-nano-grpo.gguf");
  grpo->add_option("--config", gflags->config, "The run's JSON config file")->required();
  grpo->add_option("--init", gflags->init,
                   "The starting model: a training checkpoint (checkpoint.bin) or an F32 GGUF (muse-nano-sft.gguf); "
                   "also the reference of the KL penalty")
      ->required();
  grpo->add_option("--resume", gflags->resume, "Continue from this GRPO checkpoint (e.g. OUT/checkpoint.bin)");
  grpo->add_option("--out", gflags->out, "Output directory (created if missing)")->required();
  grpo->callback([gflags] { run_train_grpo(*gflags); });
}

}  // namespace muse::cli
