// `muse template` end to end: runs the built binary (MUSE_BINARY) on templates from the shared
// templates folder and compares stdout byte for byte with the reference renderings in cases.jsonl;
// also the GGUF path (a small GGUF written here with a chat template and special tokens), the
// built-in fallback for a model without a template, and error reporting.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"

namespace {

using ojson = nlohmann::ordered_json;
const std::string kTemplates = std::string(MUSE_SHARED_DATA) + "/templates/";

struct Result {
  int rc = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The reference case for (template, fixture) from cases.jsonl.
ojson reference_case(const std::string& tmpl, const std::string& fixture) {
  std::ifstream in(kTemplates + "cases.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    ojson c = ojson::parse(line);
    if (c["template"] == tmpl && c["fixture"] == fixture) return c;
  }
  ADD_FAILURE() << "no case " << tmpl << " / " << fixture;
  return ojson::object();
}

class TemplateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (std::filesystem::temp_directory_path() / "muse_template_XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write(const std::string& name, const std::string& content) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Runs `muse ARGS` (arguments are single-quoted by the callers; none contains a quote).
  Result run(const std::string& args) {
    const std::string out = (dir_ / "stdout").string();
    const std::string err = (dir_ / "stderr").string();
    const std::string cmd = std::string("'") + MUSE_BINARY + "' " + args + " >'" + out + "' 2>'" + err + "'";
    const int status = std::system(cmd.c_str());
    Result r;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = slurp(out);
    r.err = slurp(err);
    return r;
  }

  std::filesystem::path dir_;
};

TEST_F(TemplateCli, TemplateFileMatchesReferenceByteForByte) {
  const ojson c = reference_case("meta-llama-Llama-3.2-3B-Instruct.jinja", "system-multi-turn");
  ojson vars = c["variables"];
  const std::string messages = write("conv.json", vars["messages"].dump());
  vars.erase("messages");  // the rest (bos_token, add_generation_prompt...) goes through --vars
  const std::string extra = write("vars.json", vars.dump());
  const Result r = run("template --template '" + kTemplates + "meta-llama-Llama-3.2-3B-Instruct.jinja' --messages '" +
                       messages + "' --vars '" + extra + "' --date 2026-04-08");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, c["expected"].get<std::string>());
  EXPECT_NE(r.out.find("Today Date: 08 Apr 2026"), std::string::npos);
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST_F(TemplateCli, ConversationObjectCarriesTools) {
  // {"messages": [...], "tools": [...], ...}: every key is a template variable.
  const ojson c = reference_case("Qwen-Qwen2.5-7B-Instruct.jinja", "tools-args-object");
  const std::string conv = write("conv.json", c["variables"].dump());
  const Result r = run("template -t '" + kTemplates + "Qwen-Qwen2.5-7B-Instruct.jinja' -m '" + conv + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, c["expected"].get<std::string>());
}

TEST_F(TemplateCli, RaiseExceptionFailsWithTheTemplatesMessage) {
  const ojson c = reference_case("google-gemma-2-2b-it.jinja", "system-multi-turn");
  const std::string conv = write("conv.json", c["variables"].dump());
  const Result r = run("template -t '" + kTemplates + "google-gemma-2-2b-it.jinja' -m '" + conv + "'");
  EXPECT_EQ(r.rc, 1);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("google-gemma-2-2b-it.jinja line 1 col "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("raise_exception: System role not supported"), std::string::npos) << r.err;
}

TEST_F(TemplateCli, GgufTemplateAndSpecialTokens) {
  muse::gguf::Writer w;
  w.set("general.architecture", muse::gguf::Value::string("llama"));
  w.set("tokenizer.ggml.tokens", muse::gguf::Value::string_array({"<unk>", "<|bos|>", "<|eos|>", "hi"}));
  w.set("tokenizer.ggml.bos_token_id", muse::gguf::Value::u32(1));
  w.set("tokenizer.ggml.eos_token_id", muse::gguf::Value::u32(2));
  w.set("tokenizer.chat_template",
        muse::gguf::Value::string("{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}"
                                  "{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"));
  w.set("tokenizer.chat_template.tool_use", muse::gguf::Value::string("tools={{ tools|length }}"));
  const std::string model = (dir_ / "m.gguf").string();
  w.write(model);
  const std::string conv = write("conv.json", R"([{"role": "user", "content": "Hi"}])");

  Result r = run("template '" + model + "' -m '" + conv + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "<|bos|><user>Hi<|eos|><assistant>");

  const std::string vars = write("vars.json", R"({"add_generation_prompt": false, "eos_token": "[E]"})");
  r = run("template '" + model + "' -m '" + conv + "' --vars '" + vars + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "<|bos|><user>Hi[E]");

  const std::string tools = write("tools.json", R"({"messages": [], "tools": [{"a": 1}, {"b": 2}]})");
  r = run("template '" + model + "' --template-name tool_use -m '" + tools + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "tools=2");
}

TEST_F(TemplateCli, ModelWithoutTemplateFallsBackToBuiltin) {
  const std::string conv = write("conv.json", R"([{"role": "user", "content": "Once upon a time"}])");
  const Result r = run("template '" + std::string(MUSE_SHARED_DATA) + "/models/stories260K.gguf' -m '" + conv + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  // A llama model with a plain SentencePiece vocabulary gets the llama2 format and its BOS text.
  EXPECT_EQ(r.out, "<s>[INST] Once upon a time [/INST]");
  EXPECT_NE(r.err.find("using the built-in 'llama2' format"), std::string::npos) << r.err;
}

TEST_F(TemplateCli, BadInputsAreReportedNotCrashed) {
  const std::string conv = write("conv.json", R"([{"role": "user", "content": "x"}])");
  const std::string bad_json = write("bad.json", "[{\"role\": ");
  Result r = run("template --builtin chatml -m '" + bad_json + "'");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("bad.json' is not valid JSON"), std::string::npos) << r.err;

  r = run("template --builtin chatml -m '" + write("num.json", "42") + "'");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("expected a JSON array of messages"), std::string::npos) << r.err;

  r = run("template --builtin no-such -m '" + conv + "'");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("built-in templates are chatml"), std::string::npos) << r.err;

  const std::string broken = write("broken.jinja", "ok\n{% for m in messages %}\n{{ m.role }\n{% endfor %}");
  r = run("template -t '" + broken + "' -m '" + conv + "'");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("broken.jinja line 3 col "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("syntax error"), std::string::npos) << r.err;

  r = run("template -m '" + conv + "'");  // no template source at all
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("exactly one of MODEL, --template FILE or --builtin NAME"), std::string::npos) << r.err;

  r = run("template --builtin chatml -m '" + conv + "' --date 2026-13-01");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--date"), std::string::npos) << r.err;
}

TEST_F(TemplateCli, HelpDescribesTheCommand) {
  const Result r = run("template --help");
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* flag : {"--template", "--messages", "--vars", "--builtin", "--date", "--template-name"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
