// `muse tokenize` end to end: runs the built binary (MUSE_BINARY) on the shared vocabularies and checks
// its output against the library's own encode(), which the conformance tests pin to the reference ids.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "muse_cli.h"
#include "text/tokenizer.h"

namespace {

const std::string kVocabs = std::string(MUSE_SHARED_DATA) + "/tokenizer/ggml-vocab-";

using muse::test::MuseRun;

MuseRun run(const std::vector<std::string>& args) { return muse::test::run_muse(args); }

std::vector<int32_t> library_ids(const std::string& vocab, const std::string& text, bool add_special, bool special) {
  auto file = muse::gguf::File::open(kVocabs + vocab + ".gguf");
  auto tok = muse::text::Tokenizer::from_gguf(*file);
  return tok->encode(text, add_special, special);
}

std::string ids_line(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s + "\n";
}

TEST(CliTokenize, PrintsIdAndPiecePerLineWithBos) {
  const MuseRun r = run({"tokenize", kVocabs + "llama-spm.gguf", "Hello world"});
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "1\t'<s>'\n15043\t' Hello'\n3186\t' world'\n");
}

TEST(CliTokenize, IdsOnlyAndNoBos) {
  const MuseRun r = run({"tokenize", kVocabs + "llama-spm.gguf", "Hello world", "--ids", "--no-bos"});
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "15043 3186\n");
}

TEST(CliTokenize, SpecialTextOnlyWithSpecial) {
  const std::string text = "hi<|endoftext|>";
  const MuseRun plain = run({"tokenize", kVocabs + "gpt-2.gguf", text, "--ids"});
  const MuseRun special = run({"tokenize", kVocabs + "gpt-2.gguf", text, "--ids", "--special"});
  ASSERT_EQ(plain.status, 0);
  ASSERT_EQ(special.status, 0);
  EXPECT_EQ(plain.out, ids_line(library_ids("gpt-2", text, true, false)));
  EXPECT_EQ(special.out, ids_line(library_ids("gpt-2", text, true, true)));
  EXPECT_EQ(plain.out.find("50256"), std::string::npos);
  EXPECT_EQ(special.out, "5303 50256\n");
}

TEST(CliTokenize, FileInputIsReadByteForByteAndPiecesAreEscaped) {
  const std::string path = testing::TempDir() + "muse_tokenize_input.txt";
  const std::string text = "It's\ta 'test'\\\n\xF0\x9F\xA6\x99\n";  // ends with a newline, which must count
  {
    std::ofstream f(path, std::ios::binary);
    f << text;
  }
  const MuseRun ids = run({"tokenize", kVocabs + "deepseek-coder.gguf", "--file", path, "--ids"});
  ASSERT_EQ(ids.status, 0);
  EXPECT_EQ(ids.out, ids_line(library_ids("deepseek-coder", text, true, false)));
  const MuseRun pieces = run({"tokenize", kVocabs + "gpt-2.gguf", "--file", path, "--no-bos"});
  ASSERT_EQ(pieces.status, 0);
  EXPECT_NE(pieces.out.find("\t'\\t'\n"), std::string::npos) << pieces.out;     // tab escaped
  EXPECT_NE(pieces.out.find("\t'\\n'\n"), std::string::npos) << pieces.out;     // newline escaped
  EXPECT_NE(pieces.out.find("\t'\\''\n"), std::string::npos) << pieces.out;     // quote escaped
  EXPECT_NE(pieces.out.find("\\xf0\\x9f"), std::string::npos) << pieces.out;    // split character
  std::remove(path.c_str());
}

TEST(CliTokenize, BadUseFailsWithNonZeroStatus) {
  EXPECT_NE(run({"tokenize", kVocabs + "gpt-2.gguf"}).status, 0);                      // no text
  EXPECT_NE(run({"tokenize", "/nonexistent/model.gguf", "x"}).status, 0);              // no file
  EXPECT_NE(run({"tokenize", kVocabs + "gpt-2.gguf", "x", "--file", "/etc/hostname"}).status, 0);  // both
  EXPECT_NE(run({"tokenize", kVocabs + "gpt-2.gguf.inp", "x"}).status, 0);             // not a GGUF
  EXPECT_EQ(run({"tokenize", kVocabs + "gpt-2.gguf", ""}).status, 0);                  // empty text is fine
}

}  // namespace
