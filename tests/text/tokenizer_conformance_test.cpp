// Conformance of text::Tokenizer against the reference ids in ${MUSE_SHARED_DATA}/tokenizer (llama.cpp's
// vocab test files: Hugging Face tokenizers' output with special tokens off; FORMAT.md there), plus
// decode round trips and streaming on the same inputs.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "text/tokenizer.h"

namespace muse::text {
namespace {

const std::string kDir = std::string(MUSE_SHARED_DATA) + "/tokenizer/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// .inp: every test string followed by the marker, the last one too.
std::vector<std::string> read_inputs(const std::string& path) {
  const std::string marker = "\n__ggml_vocab_test__\n";
  const std::string all = read_file(path);
  std::vector<std::string> out;
  for (size_t pos = 0; pos < all.size();) {
    const size_t hit = all.find(marker, pos);
    if (hit == std::string::npos) {
      ADD_FAILURE() << path << ": text after the last marker";
      break;
    }
    out.push_back(all.substr(pos, hit - pos));
    pos = hit + marker.size();
  }
  return out;
}

// .out: one line of space-separated ids per input.
std::vector<std::vector<int32_t>> read_outputs(const std::string& path) {
  std::vector<std::vector<int32_t>> out;
  std::istringstream lines(read_file(path));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ids(line);
    std::vector<int32_t> row;
    for (int32_t id; ids >> id;) row.push_back(id);
    out.push_back(row);
  }
  return out;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += " " + std::to_string(id);
  return s;
}

std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else out += static_cast<char>(c);
  }
  return out;
}

std::unique_ptr<Tokenizer> load(const std::string& name) {
  auto file = gguf::File::open(kDir + "ggml-vocab-" + name + ".gguf");
  return Tokenizer::from_gguf(*file);
}

// Every input gives exactly the expected ids; the message shows the first mismatch.
testing::AssertionResult matches_reference(const std::string& name) {
  auto tok = load(name);
  const auto inputs = read_inputs(kDir + "ggml-vocab-" + name + ".gguf.inp");
  const auto expected = read_outputs(kDir + "ggml-vocab-" + name + ".gguf.out");
  if (inputs.size() != expected.size() || inputs.size() != 46) {
    return testing::AssertionFailure() << inputs.size() << " inputs, " << expected.size() << " outputs (want 46)";
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<int32_t> got = tok->encode(inputs[i], /*add_special=*/false, /*parse_special=*/false);
    if (got != expected[i]) {
      return testing::AssertionFailure() << name << " input #" << i << " '" << escape(inputs[i]) << "'\n  expected:"
                                         << show(expected[i]) << "\n       got:" << show(got);
    }
  }
  return testing::AssertionSuccess();
}

TEST(TokenizerConformance, LlamaSpm) { EXPECT_TRUE(matches_reference("llama-spm")); }
TEST(TokenizerConformance, Phi3) { EXPECT_TRUE(matches_reference("phi-3")); }
TEST(TokenizerConformance, Gpt2) { EXPECT_TRUE(matches_reference("gpt-2")); }
TEST(TokenizerConformance, DeepseekCoder) { EXPECT_TRUE(matches_reference("deepseek-coder")); }
TEST(TokenizerConformance, BertBge) { EXPECT_TRUE(matches_reference("bert-bge")); }

// decode(encode(s)) == s for the lossless kinds (WordPiece lower-cases and drops accents).
class TokenizerRoundTrip : public testing::TestWithParam<const char*> {};

TEST_P(TokenizerRoundTrip, DecodeInvertsEncodeOnConformanceInputs) {
  const std::string name = GetParam();
  auto tok = load(name);
  for (const std::string& text : read_inputs(kDir + "ggml-vocab-" + name + ".gguf.inp")) {
    const auto ids = tok->encode(text, false, false);
    EXPECT_EQ(tok->decode(ids), text) << name << ": '" << escape(text) << "' ->" << show(ids);
    // With BOS added and skipped again, the text is the same.
    const auto with_bos = tok->encode(text, true, false);
    EXPECT_EQ(tok->decode(with_bos, /*skip_special=*/true), text) << name << ": '" << escape(text) << "'";
  }
}

// Feeding ids one by one never emits broken UTF-8, and the pieces add up to decode().
TEST_P(TokenizerRoundTrip, StreamDecoderMatchesDecode) {
  const std::string name = GetParam();
  auto tok = load(name);
  for (const std::string& text : read_inputs(kDir + "ggml-vocab-" + name + ".gguf.inp")) {
    const auto ids = tok->encode(text, false, false);
    StreamDecoder stream(*tok, {.skip_special = false, .text_start = true});
    std::string joined;
    for (int32_t id : ids) {
      const std::string part = stream.push(id);
      EXPECT_EQ(sanitize_utf8(part), part) << name << ": broken UTF-8 emitted for '" << escape(text) << "'";
      joined += part;
    }
    joined += stream.flush();
    EXPECT_EQ(joined, tok->decode(ids)) << name << ": '" << escape(text) << "'";
  }
}

INSTANTIATE_TEST_SUITE_P(Lossless, TokenizerRoundTrip, testing::Values("llama-spm", "phi-3", "gpt-2", "deepseek-coder"));

// The emoji inputs are split into byte tokens by the SPM vocabs: check that the streaming test above
// really exercised held-back partial characters.
TEST(TokenizerConformance, SpmByteFallbackSplitsCharacters) {
  auto tok = load("llama-spm");
  const auto ids = tok->encode("\xF0\x9F\xA6\x99", false, false);  // U+1F999, no piece in the vocab
  ASSERT_GE(ids.size(), 4u);
  StreamDecoder stream(*tok);
  std::string out;
  size_t empty_pushes = 0;
  for (int32_t id : ids) {
    const std::string part = stream.push(id);
    empty_pushes += part.empty();
    out += part;
  }
  EXPECT_GE(empty_pushes, 3u);  // the first three bytes are held back
  EXPECT_EQ(out + stream.flush(), " \xF0\x9F\xA6\x99");  // not text_start: the dummy space stays
}

// stories260K (a real model file): the reference's prompt ids, and its generated ids decode to its text.
TEST(TokenizerConformance, Stories260KReference) {
  const std::string md = read_file(std::string(MUSE_SHARED_DATA) + "/reference/stories260K-greedy.md");
  auto ids_after = [&](const std::string& label) {
    const size_t at = md.find(label);
    EXPECT_NE(at, std::string::npos) << label;
    const size_t open = md.find('`', at + label.size()), close = md.find('`', open + 1);
    std::istringstream in(md.substr(open + 1, close - open - 1));
    std::vector<int32_t> ids;
    for (int32_t id; in >> id;) ids.push_back(id);
    return ids;
  };
  const auto prompt = ids_after("Prompt ids:");
  const auto generated = ids_after("Generated ids (128):");
  ASSERT_EQ(generated.size(), 128u);
  const size_t fence = md.find("```\n", md.find("Text (prompt included):"));
  const size_t end = md.find("```", fence + 4);
  const std::string text = md.substr(fence + 4, end - fence - 4);

  auto file = gguf::File::open(std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf");
  auto tok = Tokenizer::from_gguf(*file);
  EXPECT_TRUE(tok->warnings().empty()) << tok->warnings().front();  // its -1 ids mean "none"
  EXPECT_EQ(tok->sep(), -1);
  EXPECT_EQ(tok->encode("Once upon a time", /*add_special=*/true, /*parse_special=*/false), prompt);
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), generated.begin(), generated.end());
  EXPECT_EQ(tok->decode(all, /*skip_special=*/true), text);
}

TEST(TokenizerConformance, MetadataOfRealVocabs) {
  auto spm = load("llama-spm");
  EXPECT_EQ(spm->kind(), TokenizerKind::kSpm);
  EXPECT_EQ(spm->bos(), 1);
  EXPECT_EQ(spm->eos(), 2);
  EXPECT_TRUE(spm->add_bos());
  EXPECT_FALSE(spm->add_eos());
  EXPECT_TRUE(spm->is_eog(2));
  EXPECT_EQ(spm->encode("Hello world", true, false), (std::vector<int32_t>{1, 15043, 3186}));

  auto gpt2 = load("gpt-2");
  EXPECT_EQ(gpt2->kind(), TokenizerKind::kBpe);
  EXPECT_EQ(gpt2->pre(), "gpt-2");
  EXPECT_FALSE(gpt2->add_bos());  // no add_bos_token key: gpt-2's default is no BOS
  EXPECT_TRUE(gpt2->is_eog(50256));
  EXPECT_EQ(gpt2->find_token("<|endoftext|>"), 50256);
  // Control text is text unless asked for.
  EXPECT_NE(gpt2->encode("<|endoftext|>", false, false), (std::vector<int32_t>{50256}));
  EXPECT_EQ(gpt2->encode("<|endoftext|>", false, true), (std::vector<int32_t>{50256}));

  auto phi3 = load("phi-3");
  EXPECT_EQ(phi3->eos(), 32000);
  const int32_t end = *phi3->find_token("<|end|>");
  EXPECT_TRUE(phi3->is_eog(end));
  EXPECT_EQ(phi3->eot(), end);  // found by text: the file has no eot key
  // Phi-3 strips whitespace after its control tokens (rstrip), as its tokenizer.json says.
  const int32_t user = *phi3->find_token("<|user|>");
  const auto ids = phi3->encode("<|user|>\nHi<|end|>", false, true);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), user);
  EXPECT_EQ(ids.back(), end);
  EXPECT_EQ(phi3->encode("<|user|>\nHi", false, true), phi3->encode("<|user|>Hi", false, true));

  auto ds = load("deepseek-coder");
  EXPECT_EQ(ds->bos(), 32013);
  ASSERT_EQ(ds->warnings().size(), 1u);  // bytes C0 C1 F5..FF are spelled by added tokens
  EXPECT_NE(ds->warnings()[0].find("bytes C0 C1 F5 F6 F7 F8 F9 FA FB FC FD FE FF"), std::string::npos)
      << ds->warnings()[0];
  EXPECT_TRUE(gpt2->warnings().empty());
  EXPECT_TRUE(spm->warnings().empty());
  EXPECT_TRUE(ds->add_bos());
  EXPECT_EQ(ds->encode("Hi", true, false).front(), 32013);

  auto bert = load("bert-bge");
  EXPECT_EQ(bert->kind(), TokenizerKind::kWordPiece);
  EXPECT_EQ(bert->bos(), 101);
  EXPECT_EQ(bert->sep(), 102);
  EXPECT_EQ(bert->unk(), 100);
  const auto b = bert->encode("Hello world", true, false);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b.front(), 101);
  EXPECT_EQ(b.back(), 102);
}

}  // namespace
}  // namespace muse::text
