// Task suites: many problems at once, and their JSONL file format (what `muse tasks` writes and
// `muse eval` and the SFT/RL data loaders read).
//
// JSONL: one JSON object per line, keys in this order:
//   {"question": str, "answer": str, "family": str, "difficulty": "easy"|"standard"|"hard"|"custom",
//    "split": "train"|"val"|"test", "seed": uint64, "checker": "numeric"|"exact"|"regex",
//    "trace": str, "short": str}          <- "trace" and "short" only when traces are asked for
// "seed" is the problem's absolute seed: generate(family, preset(difficulty), seed) gives it back.
// Readers need only "question", "answer" and "checker"; other keys are kept for bookkeeping.
//
// A suite draws problem i (0-based) of split S at seed split_seed_base(S) + start + i, with family
// families[i % families.size()], so suites of one split with disjoint [start, start + count) never
// share a seed, and suites of different splits never share a question (tasks.h).
//
// Thread-safety: pure functions. Errors: muse::Error, kInvalidArgument for bad specs (message names the
// flag-level field), kIOError/kNotFound for files (names the path), kCorruption for a bad JSONL line (names the
// file, line and field).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "train/tasks.h"

namespace muse::train {

struct SuiteSpec {
  std::vector<Family> families;  // REQUIRES: non-empty
  Difficulty difficulty;
  Split split = Split::kTrain;
  uint64_t start = 0;  // offset of the first seed inside the split's range
  uint64_t count = 0;  // number of problems, >= 1
};

// Throws kInvalidArgument when the spec is empty or [start, start + count) leaves the split's range.
std::vector<Problem> generate_suite(const SuiteSpec& spec);

// One JSONL line (no trailing newline) for `p`, with "trace" and "short" when `with_traces`.
std::string problem_to_jsonl(const Problem& p, Split split, bool with_traces);

// Writes the suite's lines to `out` ('\n' after each).
void write_suite(std::ostream& out, const std::vector<Problem>& problems, bool with_traces);

// Writes the suite to `path` atomically (train/file_io.h: PATH.tmp, fsync, rename, fsync of the
// directory). On any failure `path` is untouched and the temporary file is removed; kNotFound when the
// directory does not exist, kIOError otherwise.
void write_suite_file(const std::string& path, const std::vector<Problem>& problems, bool with_traces);

// What an evaluator needs from one line of a suite file.
struct SuiteItem {
  std::string question;
  std::string answer;
  Checker checker = Checker::kNumeric;
  std::string family;  // empty when the line has none
  uint64_t line = 0;   // 1-based line number in the file
};

// Reads a JSONL suite (blank lines are skipped). Throws kNotFound/kIOError for the file, kCorruption
// naming path:line and the field for a line that is not an object with string "question" and
// "answer" and an optional known "checker" (default "numeric").
std::vector<SuiteItem> read_suite_file(const std::string& path);

}  // namespace muse::train
