// ChatTemplate API: error reporting (positions, raise_exception verbatim), the built-in formats and
// the rule that picks one, safety limits against hostile templates, and concurrent rendering.
// Expected prompt strings for the built-in formats were rendered by Python jinja2 3.1.2 from the
// same Jinja sources (verified against jinja2, not written by hand).
#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/chat_template.h"

namespace muse::text {
namespace {

using ojson = nlohmann::ordered_json;

ojson conversation() {
  return ojson::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi"},
      {"role": "assistant", "content": "Hello."},
      {"role": "user", "content": [{"type": "text", "text": "Part one. "}, {"type": "text", "text": "Part two."}]}
    ],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
}

TemplateError render_error(const std::string& source, const ojson& vars = ojson::object(),
                           const RenderOptions& options = {}) {
  const ChatTemplate t = ChatTemplate::parse(source, "t.jinja");
  try {
    t.render(vars, options);
  } catch (const TemplateError& e) {
    return e;
  }
  ADD_FAILURE() << "rendered without error: " << source;
  return TemplateError(ErrorCode::kInvalidArgument, TemplateError::Kind::kRender, "", 0, 0, "", "");
}

TEST(ChatTemplate, RendersVariables) {
  const ChatTemplate t = ChatTemplate::parse("{% for m in messages %}[{{ m.role }}]{% endfor %}{{ bos_token }}", "x");
  EXPECT_EQ(t.render(conversation()), "[system][user][assistant][user]<s>");
  EXPECT_EQ(t.name(), "x");
  const ChatTemplate copy = t;  // copies share the parsed program
  EXPECT_EQ(copy.render(conversation()), t.render(conversation()));
}

TEST(ChatTemplate, RaiseExceptionMessageIsVerbatim) {
  const std::string msg = "Conversation roles must alternate user/assistant/user/assistant/... \"quoted\" & <tags>";
  const TemplateError e = render_error("ok\n  {{ raise_exception('" + msg + "') }}");
  EXPECT_EQ(e.kind(), TemplateError::Kind::kRaised);
  EXPECT_EQ(e.detail(), msg);
  EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.line(), 2u);
  EXPECT_EQ(e.col(), 6u);  // the call starts at column 6 of "  {{ raise_exception(...) }}"
  EXPECT_EQ(std::string(e.what()), "template t.jinja line 2 col 6: raise_exception: " + msg);
}

TEST(ChatTemplate, RenderErrorsNameLineColumnAndPythonClass) {
  const TemplateError e = render_error("line one\n{% if true %}\n  {{ 'a' + missing }}\n{% endif %}");
  EXPECT_EQ(e.kind(), TemplateError::Kind::kRender);
  EXPECT_EQ(e.python_class(), "UndefinedError");
  EXPECT_EQ(e.detail(), "'missing' is undefined");
  EXPECT_EQ(e.line(), 3u);
  EXPECT_EQ(e.col(), 10u);  // the '+'
  EXPECT_EQ(std::string(e.what()).rfind("template t.jinja line 3 col 10: UndefinedError: ", 0), 0u) << e.what();

  const TemplateError t = render_error("{{ messages[0].content + 1 }}", conversation());
  EXPECT_EQ(t.python_class(), "TypeError");
  EXPECT_EQ(t.detail(), "can only concatenate str (not \"int\") to str");
}

TEST(ChatTemplate, SyntaxErrorsNameTheConstruct) {
  struct Case {
    const char* source;
    unsigned line, col;
    const char* message;
  };
  const Case cases[] = {
      {"a\n{% if x %}\nb", 3, 2, "Unexpected end of template. Jinja was looking for the following tags: 'elif', "
                                 "'else' or 'endif'. The innermost block that needs to be closed is 'if'."},
      {"{% for x in y %}\n{% endif %}", 2, 4, "Encountered unknown tag 'endif'. Jinja was looking for the following "
                                              "tags: 'endfor' or 'else'. The innermost block that needs to be "
                                              "closed is 'for'."},
      {"x\n\n{{ 1 + }}", 3, 8, "unexpected end of print statement"},
      {"{% whatever %}", 1, 4, "Encountered unknown tag 'whatever'."},
      {"{{ x|no_such_filter }}", 1, 6, "No filter named 'no_such_filter'."},
  };
  for (const Case& c : cases) {
    try {
      ChatTemplate::parse(c.source, "bad");
      ADD_FAILURE() << "parsed: " << c.source;
    } catch (const TemplateError& e) {
      EXPECT_EQ(e.kind(), TemplateError::Kind::kSyntax);
      EXPECT_EQ(e.line(), c.line) << e.what();
      EXPECT_EQ(e.col(), c.col) << e.what();
      EXPECT_EQ(e.detail(), c.message);
      EXPECT_EQ(std::string(e.what()), "template bad line " + std::to_string(c.line) + " col " +
                                           std::to_string(c.col) + ": syntax error: " + c.message);
    }
  }
}

TEST(ChatTemplate, GenerationTagRendersItsBody) {
  // transformers' {% generation %} marks assistant text for training masks; it renders as its body.
  const ChatTemplate t = ChatTemplate::parse(
      "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}[{{ m.content }}]{% endgeneration %}"
      "{% else %}{{ m.role }};{% endif %}{% endfor %}", "t");
  EXPECT_EQ(t.render(conversation()), "system;user;[Hello.]user;");
}

TEST(ChatTemplate, VariablesMustBeAnObject) {
  const ChatTemplate t = ChatTemplate::parse("x", "t");
  EXPECT_THROW(t.render(ojson::array()), TemplateError);
  EXPECT_THROW(t.render(ojson("text")), TemplateError);
}

TEST(ChatTemplate, KeyOrderOfInputIsKeptByTojson) {
  const ChatTemplate t = ChatTemplate::parse("{{ x|tojson }}", "t");
  EXPECT_EQ(t.render(ojson::parse(R"({"x": {"zeta": 1, "alpha": [true, null, 2.50], "mid": "é"}})")),
            R"({"zeta": 1, "alpha": [true, null, 2.5], "mid": "é"})");
}

TEST(ChatTemplate, StrftimeNowUsesTheInjectedClock) {
  const ChatTemplate t = ChatTemplate::parse("{{ strftime_now('%d %b %Y|%Y-%m-%d|%B %d, %Y|%A|%H:%M:%S|%f') }}", "t");
  RenderOptions o;
  o.clock = fixed_clock(2026, 4, 8);
  EXPECT_EQ(t.render(ojson::object(), o), "08 Apr 2026|2026-04-08|April 08, 2026|Wednesday|00:00:00|000000");
  o.clock = fixed_clock(1999, 12, 31, 23, 59, 58);
  EXPECT_EQ(t.render(ojson::object(), o), "31 Dec 1999|1999-12-31|December 31, 1999|Friday|23:59:58|000000");
  // Without a clock it is the machine's local time, as in transformers.
  const ChatTemplate year = ChatTemplate::parse("{{ strftime_now('%Y') }}", "t");
  const std::time_t before = std::time(nullptr);
  const std::string got = year.render(ojson::object());
  const std::time_t after = std::time(nullptr);
  std::tm a{}, b{};
  localtime_r(&before, &a);
  localtime_r(&after, &b);
  EXPECT_TRUE(got == std::to_string(a.tm_year + 1900) || got == std::to_string(b.tm_year + 1900)) << got;
}

// ---- built-in formats ----------------------------------------------------------------------------

TEST(BuiltinTemplates, RenderTheirFamilyFormat) {
  struct Case {
    const char* name;
    const char* expected;
  };
  const Case cases[] = {
      {"chatml", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
                 "Hello.<|im_end|>\n<|im_start|>user\nPart one. Part two.<|im_end|>\n<|im_start|>assistant\n"},
      {"llama3", "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user"
                 "<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nPart one. Part two.<|eot_id|><|start_header_id|>"
                 "assistant<|end_header_id|>\n\n"},
      {"llama2", "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. </s><s>[INST] Part one. Part two. [/INST]"},
      {"mistral", "<s>[INST] Be brief.\n\nHi [/INST] Hello.</s>[INST] Part one. Part two. [/INST]"},
      {"zephyr", "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello.</s>\n<|user|>\nPart one. Part "
                 "two.</s>\n<|assistant|>\n"},
      {"phi3", "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello.<|end|>\n<|user|>\nPart one. "
               "Part two.<|end|>\n<|assistant|>\n"},
      {"gemma", "<s><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
                "<start_of_turn>user\nPart one. Part two.<end_of_turn>\n<start_of_turn>model\n"},
  };
  EXPECT_EQ(builtin_template_names().size(), std::size(cases));
  for (const Case& c : cases) {
    const std::string_view src = builtin_template_source(c.name);
    ASSERT_FALSE(src.empty()) << c.name;
    const ChatTemplate t = ChatTemplate::parse(std::string(src), c.name);
    EXPECT_EQ(t.render(conversation()), c.expected) << c.name;
  }
  EXPECT_TRUE(builtin_template_source("no-such-format").empty());
}

TEST(BuiltinTemplates, ChosenFromVocabularyThenArchitecture) {
  using V = std::vector<std::string>;
  EXPECT_EQ(builtin_template_for("qwen2", V{"a", "<|im_start|>", "<|im_end|>"}), "chatml");
  EXPECT_EQ(builtin_template_for("llama", V{"<|im_start|>"}), "chatml");  // tokens win over arch
  EXPECT_EQ(builtin_template_for("llama", V{"<|start_header_id|>", "<|eot_id|>"}), "llama3");
  EXPECT_EQ(builtin_template_for("llama", V{"<|start_header_id|>"}), "llama2");  // needs both markers
  EXPECT_EQ(builtin_template_for("gemma2", V{"<start_of_turn>"}), "gemma");
  EXPECT_EQ(builtin_template_for("phi3", V{"<|user|>", "<|assistant|>", "<|end|>"}), "phi3");
  EXPECT_EQ(builtin_template_for("llama", V{"<|user|>", "<|assistant|>"}), "zephyr");
  EXPECT_EQ(builtin_template_for("llama", V{"[INST]", "[/INST]"}), "mistral");
  EXPECT_EQ(builtin_template_for("llama", V{"<s>", "</s>"}), "llama2");
  EXPECT_EQ(builtin_template_for("mistral", V{}), "mistral");
  EXPECT_EQ(builtin_template_for("gemma3", V{}), "gemma");
  EXPECT_EQ(builtin_template_for("phi3", V{}), "phi3");
  EXPECT_EQ(builtin_template_for("qwen3", V{}), "chatml");
  EXPECT_EQ(builtin_template_for("", V{}), "chatml");
}

// ---- hostile templates ----------------------------------------------------------------------------

TEST(ChatTemplateLimits, OutputSizeIsCapped) {
  RenderOptions o;
  o.max_output_bytes = 1 << 20;
  const TemplateError e = render_error("{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", ojson::object(), o);
  EXPECT_EQ(e.kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(e.code(), ErrorCode::kOutOfRange);
  // One huge intermediate value is refused before it is built.
  EXPECT_EQ(render_error("{{ ('x' * 100000000000)|length }}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{{ ([1] * 100000000000)|length }}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{{ 'x'|center(100000000000) }}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{{ '%100000000000s' % 'x' }}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
                         "{% endfor %}").kind(),
            TemplateError::Kind::kLimit);
}

TEST(ChatTemplateLimits, ListsAndPrintedValuesAreCapped) {
  // Item counts are bounded separately from bytes: a million small Values is ~50 MB already.
  EXPECT_EQ(render_error("{{ ([1] * 2000000)|length }}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{% set ns = namespace(l=[1]) %}{% for i in range(30) %}{% set ns.l = ns.l + ns.l %}"
                         "{% endfor %}").kind(),
            TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{% for c in 'x' * 2000000 %}{% endfor %}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{{ ('a,' * 2000000).split(',')|length }}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{{ ('a ' * 2000000).split()|length }}").kind(), TemplateError::Kind::kLimit);
  // Printing a list that references one big string many times is refused while it is built.
  EXPECT_EQ(render_error("{{ ['x' * 1000000] * 1000 }}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{{ (['x' * 1000000] * 1000)|tojson }}").kind(), TemplateError::Kind::kLimit);
}

TEST(ChatTemplateLimits, StepBudgetStopsRunawayLoops) {
  RenderOptions o;
  o.max_steps = 200000;
  const TemplateError e = render_error(
      "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", ojson::object(), o);
  EXPECT_EQ(e.kind(), TemplateError::Kind::kLimit);
  EXPECT_NE(e.detail().find("200000"), std::string::npos) << e.what();
  // Well inside the budget the same loop shape renders.
  const ChatTemplate ok = ChatTemplate::parse("{% for i in range(30) %}{% for j in range(30) %}{% endfor %}{% endfor %}done", "t");
  EXPECT_EQ(ok.render(ojson::object(), o), "done");
}

TEST(ChatTemplateLimits, RecursionIsBounded) {
  EXPECT_EQ(render_error("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}").kind(), TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{% macro a(n) %}{{ b(n) }}{% endmacro %}{% macro b(n) %}{{ a(n) }}{% endmacro %}{{ a(1) }}")
                .kind(),
            TemplateError::Kind::kLimit);
  EXPECT_EQ(render_error("{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}").kind(), TemplateError::Kind::kLimit);
  // A recursion that ends renders (Hermes' json_to_python_type recurses over nested schemas).
  const ChatTemplate t = ChatTemplate::parse(
      "{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(50) }}", "t");
  EXPECT_EQ(t.render(ojson::object()).substr(0, 6), "504948");
}

TEST(ChatTemplateLimits, DeepNestingIsRejectedNotOverflowingTheStack) {
  auto expect_syntax = [](const std::string& src) {
    try {
      ChatTemplate::parse(src, "deep");
      ADD_FAILURE() << "parsed a " << src.size() << "-byte pathological template";
    } catch (const TemplateError& e) {
      EXPECT_EQ(e.kind(), TemplateError::Kind::kSyntax) << e.what();
    }
  };
  expect_syntax("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}");
  expect_syntax("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}");
  expect_syntax("{{ " + std::string(5000, '-') + "1 }}");
  expect_syntax("{{ " + [] {
    std::string s = "not ";
    std::string out;
    for (int i = 0; i < 5000; ++i) out += s;
    return out;
  }() + "1 }}");
  std::string chain = "{{ 1";
  for (int i = 0; i < 20000; ++i) chain += " + 1";
  expect_syntax(chain + " }}");
  std::string blocks;
  for (int i = 0; i < 5000; ++i) blocks += "{% if true %}";
  expect_syntax(blocks);
  // Nested JSON input deeper than the interpreter handles fails cleanly too.
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "[";
  for (int i = 0; i < 1000; ++i) deep += "]";
  const ChatTemplate t = ChatTemplate::parse("{{ x }}", "t");
  EXPECT_THROW(t.render(ojson::parse("{\"x\": " + deep + "}")), TemplateError);
}

TEST(ChatTemplateLimits, SelfReferenceThroughNamespaceIsSafe) {
  // Namespaces are the only mutable objects, so the only way to build a cycle.
  const ChatTemplate t = ChatTemplate::parse(
      "{% set ns = namespace() %}{% set ns.me = ns %}{% macro m() %}{{ ns.me.me.me is defined }}{% endmacro %}"
      "{% set ns.m = m %}{{ ns.m() }}", "t");
  EXPECT_EQ(t.render(ojson::object()), "True");
  EXPECT_EQ(render_error("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}").kind(), TemplateError::Kind::kLimit);
}

TEST(ChatTemplate, ConcurrentRendersOfOneTemplateAgree) {
  const ChatTemplate t = ChatTemplate::parse(std::string(builtin_template_source("llama3")), "llama3");
  const std::string want = t.render(conversation());
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 50; ++i) mismatches[static_cast<size_t>(k)] += t.render(conversation()) != want;
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace muse::text
