// Task suites: generation in seed order, the JSONL format, the atomic file write and the reader.
#include "train/tasks_suite.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>

#include "core/error.h"
#include "train/file_io.h"

namespace muse::train {

std::vector<Problem> generate_suite(const SuiteSpec& spec) {
  if (spec.families.empty()) fail(ErrorCode::kInvalidArgument, "task suite: no family given");
  if (spec.count == 0) fail(ErrorCode::kInvalidArgument, "task suite: the problem count must be at least 1");
  if (spec.start >= kSplitSeedSpan || spec.count > kSplitSeedSpan - spec.start) {
    fail(ErrorCode::kInvalidArgument,
         "task suite: start {} + count {} goes past the end of the {} split, which holds 2^40 seeds (start + "
         "count must be <= {})", spec.start, spec.count, split_name(spec.split), kSplitSeedSpan);
  }
  validate_difficulty(spec.difficulty);
  std::vector<Problem> out;
  out.reserve(static_cast<size_t>(spec.count));
  const uint64_t base = split_seed_base(spec.split) + spec.start;
  for (uint64_t i = 0; i < spec.count; ++i) {
    out.push_back(generate(spec.families[i % spec.families.size()], spec.difficulty, base + i));
  }
  return out;
}

std::string problem_to_jsonl(const Problem& p, Split split, bool with_traces) {
  nlohmann::ordered_json j;
  j["question"] = p.question;
  j["answer"] = p.answer;
  j["family"] = family_name(p.family);
  j["difficulty"] = level_name(p.level);
  j["split"] = split_name(split);
  j["seed"] = p.seed;
  j["checker"] = checker_name(p.checker);
  if (with_traces) {
    j["trace"] = p.trace;
    j["short"] = p.short_answer;
  }
  return j.dump();
}

void write_suite(std::ostream& out, const std::vector<Problem>& problems, bool with_traces) {
  for (const Problem& p : problems) out << problem_to_jsonl(p, split_of_seed(p.seed), with_traces) << '\n';
}

void write_suite_file(const std::string& path, const std::vector<Problem>& problems, bool with_traces) {
  std::string data;
  for (const Problem& p : problems) {
    data += problem_to_jsonl(p, split_of_seed(p.seed), with_traces);
    data += '\n';
  }
  write_file_atomic(path, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
}

std::vector<SuiteItem> read_suite_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(ErrorCode::kNotFound, "{}: no such task suite file", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kIOError, "{}: cannot open task suite: {}", path, std::strerror(errno));
  std::vector<SuiteItem> items;
  std::string text;
  uint64_t line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
      fail(ErrorCode::kCorruption, "{}:{}: not a JSON object: {}", path, line_no, e.what());
    }
    if (!j.is_object()) fail(ErrorCode::kCorruption, "{}:{}: not a JSON object", path, line_no);
    SuiteItem item;
    item.line = line_no;
    for (const char* field : {"question", "answer"}) {
      auto it = j.find(field);
      if (it == j.end() || !it->is_string()) {
        fail(ErrorCode::kCorruption, "{}:{}: field \"{}\" is missing or not a string", path, line_no, field);
      }
      (std::string_view(field) == "question" ? item.question : item.answer) = it->get<std::string>();
    }
    if (auto it = j.find("checker"); it != j.end()) {
      if (!it->is_string()) fail(ErrorCode::kCorruption, "{}:{}: field \"checker\" is not a string", path, line_no);
      try {
        item.checker = parse_checker(it->get<std::string>());
      } catch (const Error& e) {
        fail(ErrorCode::kCorruption, "{}:{}: field \"checker\": {}", path, line_no, e.what());
      }
    }
    if (auto it = j.find("family"); it != j.end() && it->is_string()) item.family = it->get<std::string>();
    items.push_back(std::move(item));
  }
  if (in.bad()) fail(ErrorCode::kIOError, "{}: read failed after line {}", path, line_no);
  return items;
}

}  // namespace muse::train
