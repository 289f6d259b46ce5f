#include "cli/reason_options.h"

#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"

namespace muse::cli {

engine::SamplerParams ReasonFlags::defaults() {
  engine::SamplerParams p;
  p.temperature = 0.6f;
  p.top_k = 20;
  p.top_p = 0.95f;
  p.min_p = 0.0f;
  return p;
}

void ReasonFlags::add_to(CLI::App* cmd, bool modes_flag) {
  cmd->add_option("--mode", mode,
                  modes_flag ? "Reasoning modes to evaluate, comma-separated: instant, thinking, contemplating"
                             : "Reasoning mode: instant (answer directly), thinking (reason within a budget, then "
                               "answer) or contemplating (several agents reason in parallel, then one answer)")
      ->capture_default_str();
  cmd->add_option("--agents", agents, "Parallel agents in contemplating mode")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--think-budget", think_budget,
                  "Thinking tokens per agent at most; when reached, a short wrap-up and the end of the thinking "
                  "block are inserted so an answer always follows (-1: limited only by --max-tokens)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--max-tokens", max_tokens, "Generated tokens per agent at most (thinking + answer); lowered, with a note, when the prompt leaves "
                  "less room in the context")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--aggregate", aggregate,
                  "How contemplating picks the answer: vote (majority of extracted answers), weighted "
                  "(confidence-weighted vote) or synthesize (the model reads the candidates and writes it)")
      ->check(CLI::IsMember({"vote", "weighted", "synthesize"}))
      ->capture_default_str();
  cmd->add_flag("--refine", refine, "Contemplating: one refinement round in which each agent sees the others' answers");
  cmd->add_flag("--early-stop", early_stop,
                "Contemplating: stop agents whose sliding-window token confidence falls below the group's "
                "(DeepConf-style), freeing their slots");
  cmd->add_option("--early-stop-percentile", early_stop_percentile,
                  "Early-stop threshold: this percentile of the agents' confidences after warm-up")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--answer-regex", answer_regex,
                  "ECMAScript regex that extracts the final answer for voting (group 1 if present); default: "
                  "\\boxed{}, 'the answer is X', then the last number");
  cmd->add_option("--stop", stop, "Stop string for the answer (repeatable)");
  cmd->add_option("--temp", sampler.temperature, "Temperature (0 = greedy)")->check(CLI::Range(0.0f, 100.0f))->capture_default_str();
  cmd->add_option("--top-k", sampler.top_k, "Top-k (0 = off)")->check(CLI::Range(0, 1 << 24))->capture_default_str();
  cmd->add_option("--top-p", sampler.top_p, "Top-p (1 = off)")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
  cmd->add_option("--min-p", sampler.min_p, "Min-p (0 = off)")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
  cmd->add_option("-s,--seed", seed, "Random seed (-1 = random); agent i uses a seed derived from it");
  cmd->add_option("--chat-template", chat_template_file, "Jinja chat template file replacing the model's")
      ->check(CLI::ExistingFile);
}

uint64_t ReasonFlags::resolved_seed() const {
  return seed >= 0 ? static_cast<uint64_t>(seed) : std::random_device{}();
}

reason::Request ReasonFlags::request(reason::Mode m, uint64_t s) const {
  reason::Request r;
  r.mode = m;
  r.agents = agents;
  r.think_budget = think_budget;
  r.max_tokens = max_tokens;
  r.sampling = sampler;
  r.sampling.seed = s;
  r.aggregate = reason::parse_aggregate(aggregate);
  r.refine = refine;
  r.early_stop.enabled = early_stop;
  r.early_stop.percentile = early_stop_percentile;
  r.answer_pattern = answer_regex;
  r.stop = stop;
  return r;
}

reason::ReasonerOptions ReasonFlags::reasoner(const ModelOptions& model, const model::HParams& hp,
                                              int max_agents) const {
  reason::ReasonerOptions o;
  o.n_ctx = model.resolved_ctx(hp);
  o.max_agents = max_agents;
  o.kv.type = model.kv();
  if (!chat_template_file.empty()) {
    std::ifstream in(chat_template_file, std::ios::binary);
    if (!in) fail(ErrorCode::kNotFound, "--chat-template: cannot read '{}'", chat_template_file);
    std::stringstream ss;
    ss << in.rdbuf();
    o.chat_template = ss.str();
    if (o.chat_template.empty()) fail(ErrorCode::kInvalidArgument, "--chat-template: '{}' is empty", chat_template_file);
  }
  return o;
}

LoadedModel load_for_reasoning(const ModelOptions& options) {
  LoadedModel m;
  m.model = options.load();
  m.tok = text::Tokenizer::from_gguf(m.model->file());
  m.pool = std::make_unique<core::ThreadPool>(options.resolved_threads());
  return m;
}

tools::AgentLoopOptions agent_loop_options(const reason::Reasoner& reasoner, const LoadedModel& m, int max_steps) {
  const std::string source = !reasoner.options().chat_template.empty()
                                 ? reasoner.options().chat_template
                                 : m.model->file().get_string_or("tokenizer.chat_template", "");
  tools::AgentLoopOptions lo;
  lo.max_steps = max_steps;
  lo.format = tools::detect_tool_format(source);
  lo.template_renders_tools = source.find("tools") != std::string::npos;
  return lo;
}

}  // namespace muse::cli
