// bench_tokenizer: encode and decode throughput (MB/s of input text) of the real vocabularies in
// ${MUSE_SHARED_DATA}/tokenizer, on 1 MiB of English text.
//
//   bench_tokenizer [TEXT_FILE] [--mib N] [--runs R]
//
// The text is TEXT_FILE repeated (default: the GPL-3 licence text Debian ships, real English prose) up to
// N MiB. Each figure is the best of R runs (the machine is shared; the best run is the least disturbed).
// Printed per vocabulary: encode MB/s, seconds per MiB, and "headroom", the requirement "1 MiB of English
// well under a second" as a ratio (1 s / measured seconds per MiB); decode MB/s.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf.h"
#include "text/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Deterministic English-like filler when no text file is available.
std::string synthetic_english() {
  const char* words[] = {"the", "model", "reads", "a", "long", "story", "about", "cats", "and", "dogs", "who",
                         "live", "in", "old", "houses", "near", "river", "It's", "we're", "2024", "quickly",
                         "however", "because", "tokenizer", "(see", "below)", "said:", "\"yes\"", "you'll"};
  std::string s;
  uint32_t x = 12345;
  for (int i = 0; i < 8000; ++i) {
    x = x * 1664525u + 1013904223u;
    s += words[(x >> 8) % (sizeof(words) / sizeof(words[0]))];
    s += (x >> 24) % 13 == 0 ? ".\n" : (x >> 24) % 7 == 0 ? ", " : " ";
  }
  return s;
}

template <typename F>
double best_seconds(int runs, F&& f) {
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = "/usr/share/common-licenses/GPL-3";
  double mib = 1.0;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--mib" && i + 1 < argc) {
      mib = std::atof(argv[++i]);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      path = a;
    }
  }
  std::string unit = read_file(path);
  std::string source = path;
  if (unit.empty()) {
    unit = synthetic_english();
    source = "synthetic English";
  }
  const size_t target = static_cast<size_t>(mib * 1024 * 1024);
  std::string text;
  while (text.size() < target) text += unit;
  text.resize(target);
  // Cut back to a character boundary so that the input stays valid UTF-8.
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  const double mb = static_cast<double>(text.size()) / 1e6;

  fmt::print("input: {} bytes ({}), best of {} runs\n\n", text.size(), source, runs);
  fmt::print("{:<16} {:>5} {:>9} {:>12} {:>9} {:>9} {:>12}\n", "vocab", "kind", "tokens", "encode MB/s", "s / MiB",
             "headroom", "decode MB/s");
  const char* vocabs[] = {"llama-spm", "phi-3", "gpt-2", "deepseek-coder", "bert-bge"};
  for (const char* name : vocabs) {
    try {
      auto file = muse::gguf::File::open(std::string(MUSE_SHARED_DATA) + "/tokenizer/ggml-vocab-" + name + ".gguf");
      auto tok = muse::text::Tokenizer::from_gguf(*file);
      std::vector<int32_t> ids;
      const double enc = best_seconds(runs, [&] { ids = tok->encode(text, false, false); });
      std::string back;
      const double dec = best_seconds(runs, [&] { back = tok->decode(ids); });
      const char* kind = tok->kind() == muse::text::TokenizerKind::kSpm   ? "spm"
                         : tok->kind() == muse::text::TokenizerKind::kBpe ? "bpe"
                                                                           : "wpm";
      const double s_per_mib = enc / (static_cast<double>(text.size()) / (1024.0 * 1024.0));
      fmt::print("{:<16} {:>5} {:>9} {:>12.1f} {:>9.3f} {:>8.1f}x {:>12.1f}\n", name, kind, ids.size(), mb / enc,
                 s_per_mib, 1.0 / s_per_mib, static_cast<double>(back.size()) / 1e6 / dec);
    } catch (const muse::Error& e) {
      fmt::print("{:<16} error: {}\n", name, e.what());
    }
  }
  return 0;
}
