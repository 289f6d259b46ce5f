// Tool-call parsing per format: whole replies, every split of the stream into two deltas at every byte
// boundary (and byte-by-byte), calls inside <think>, malformed calls kept as text, and round trips
// through the real chat templates (the template renders an assistant tool call; the parser reads it back).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "text/chat_template.h"
#include "tools/registry.h"
#include "tools/tool_calls.h"

namespace muse::tools {
namespace {

using json = nlohmann::json;

// A compact summary of events: C:text R:text T:name(args)[r] E:... ; adjacent text events merged.
std::string summary(const std::vector<ParseEvent>& evs) {
  std::string out;
  char last = 0;
  for (const ParseEvent& e : evs) {
    char k = e.kind == ParseEvent::kContent ? 'C' : e.kind == ParseEvent::kReasoning ? 'R' : e.kind == ParseEvent::kToolCall ? 'T' : 'E';
    if ((k == 'C' || k == 'R') && k == last) {
      out += e.text;
      continue;
    }
    out += std::string(out.empty() ? "" : "|") + k + ":";
    if (k == 'T') {
      out += e.call.name + e.call.arguments.dump() + (e.call.in_reasoning ? "[r]" : "");
    } else if (k != 'E') {
      out += e.text;
    }
    last = k;
  }
  return out;
}

std::string parse_split(ToolFormat f, const std::vector<std::string>& parts, bool in_reasoning = false) {
  ParserOptions po;
  po.starts_in_reasoning = in_reasoning;
  ToolCallParser p(f, po);
  std::vector<ParseEvent> out;
  for (const std::string& s : parts) p.push(s, out);
  p.finish(out);
  return summary(out);
}

struct Case {
  ToolFormat format;
  std::string text;
  std::string expected;
};

std::vector<Case> cases() {
  return {
      {ToolFormat::kHermes, "Let me check.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
       "C:Let me check.\n|T:get_weather{\"city\":\"Paris\"}"},
      {ToolFormat::kHermes,
       "<tool_call>{\"name\":\"a\",\"arguments\":{}}</tool_call>\n<tool_call>{\"name\":\"b\",\"arguments\":\"{\\\"x\\\":1}\"}</tool_call>",
       "T:a{}|C:\n|T:b{\"x\":1}"},
      {ToolFormat::kHermes, "<think>I should call <tool_call>{\"name\":\"calc\",\"arguments\":{\"e\":\"1+1\"}}</tool_call> now</think>Done",
       "R:I should call |T:calc{\"e\":\"1+1\"}[r]|R: now|C:Done"},
      {ToolFormat::kHermes, "a < b and <tool_ca are not calls; \xc3\xa9t\xc3\xa9 <tool_call>{bad json}</tool_call>",
       "C:a < b and <tool_ca are not calls; \xc3\xa9t\xc3\xa9 |E:|C:<tool_call>{bad json}</tool_call>"},
      {ToolFormat::kHermes, "<tool_call>\n{\"name\": \"x\", \"arguments\": {\"s\": \"</tool\"}}", "T:x{\"s\":\"</tool\"}"},
      {ToolFormat::kLlama3, "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}",
       "T:get_weather{\"city\":\"Paris\"}"},
      {ToolFormat::kLlama3, "<|python_tag|>{\"name\": \"f\", \"parameters\": {\"q\": \"}{\"}}; {\"name\": \"g\", \"parameters\": {}}",
       "T:f{\"q\":\"}{\"}|T:g{}"},
      {ToolFormat::kLlama3, "The answer is {not a call}.", "C:The answer is {not a call}."},
      {ToolFormat::kLlama3, "{\"answer\": 42}", "C:{\"answer\": 42}"},
      {ToolFormat::kLlama3, "<think>hmm</think>\n{\"name\": \"f\", \"parameters\": {\"a\": [1, {\"b\": 2}]}}",
       "R:hmm|T:f{\"a\":[1,{\"b\":2}]}"},
      {ToolFormat::kMistral, "[TOOL_CALLS][{\"name\": \"f\", \"arguments\": {\"a\": 1}}, {\"name\": \"g\", \"arguments\": {}}]",
       "T:f{\"a\":1}|T:g{}"},
      {ToolFormat::kMistral, "Sure. [TOOL_CALLS]get_weather[ARGS]{\"city\": \"[Paris]\"}", "C:Sure. |T:get_weather{\"city\":\"[Paris]\"}"},
      {ToolFormat::kMistral, "[TOOL_CALLS][{\"name\": \"f\", \"argu", "E:|C:[TOOL_CALLS][{\"name\": \"f\", \"argu"},
      {ToolFormat::kMistral, "No tools [TOOL here.", "C:No tools [TOOL here."},
  };
}

TEST(ToolCallParser, WholeReplies) {
  for (const Case& c : cases()) {
    EXPECT_EQ(parse_split(c.format, {c.text}), c.expected) << tool_format_name(c.format) << ": " << c.text;
  }
}

TEST(ToolCallParser, EverySplitPointGivesTheSameEvents) {
  for (const Case& c : cases()) {
    for (size_t i = 0; i <= c.text.size(); ++i) {
      ASSERT_EQ(parse_split(c.format, {c.text.substr(0, i), c.text.substr(i)}), c.expected)
          << tool_format_name(c.format) << " split at " << i << ": " << c.text;
    }
    std::vector<std::string> bytes;
    for (char ch : c.text) bytes.emplace_back(1, ch);
    EXPECT_EQ(parse_split(c.format, bytes), c.expected) << "byte by byte: " << c.text;
  }
}

TEST(ToolCallParser, TextIsReleasedAsSoonAsItCannotBeAMarker) {
  ToolCallParser p(ToolFormat::kHermes);
  std::vector<ParseEvent> out;
  p.push("Hello <tool", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].text, "Hello ");  // "<tool" is held back
  p.push("box> there", out);
  EXPECT_EQ(summary(out), "C:Hello <toolbox> there");
}

TEST(ToolCallParser, StartsInsideAnOpenThinkBlock) {
  EXPECT_EQ(parse_split(ToolFormat::kHermes, {"plan</think>answer"}, true), "R:plan|C:answer");
}

TEST(ToolCallParser, DetectsTheFormatFromTheTemplate) {
  EXPECT_EQ(detect_tool_format("{{ '[TOOL_CALLS]' }}"), ToolFormat::kMistral);
  EXPECT_EQ(detect_tool_format("<tool_call>"), ToolFormat::kHermes);
  EXPECT_EQ(detect_tool_format("<|start_header_id|>"), ToolFormat::kLlama3);
  EXPECT_EQ(detect_tool_format("{{ messages }}"), ToolFormat::kHermes);
}

std::string read(const std::string& name) {
  std::ifstream in(std::string(MUSE_SHARED_DATA) + "/templates/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The template renders a conversation whose assistant turn calls two tools; the reply part of the
// rendering, fed to the parser of the family the template is detected as, gives back both calls.
TEST(ToolCallParser, RoundTripThroughRealChatTemplates) {
  const char* files[] = {"Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen-Qwen3-0.6B.jinja",
                         "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja",
                         "mistralai-Mistral-Nemo-Instruct-2407.jinja"};
  nlohmann::ordered_json tools = nlohmann::ordered_json::parse(
      R"([{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])");
  for (const char* f : files) {
    const std::string src = read(f);
    ASSERT_FALSE(src.empty()) << f;
    const ToolFormat fmt = detect_tool_format(src);
    text::ChatTemplate t = text::ChatTemplate::parse(src, f);
    nlohmann::ordered_json vars;
    // Llama 3.1's template raises for more than one call per turn: it gets one.
    if (fmt == ToolFormat::kLlama3) {
      vars["messages"] = nlohmann::ordered_json::parse(
          R"([{"role":"user","content":"Weather in Paris?"},
              {"role":"assistant","content":"","tool_calls":[
                {"id":"abcdefghi","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}]},
              {"role":"tool","tool_call_id":"abcdefghi","name":"get_weather","content":"12C"}])");
    } else vars["messages"] = nlohmann::ordered_json::parse(
        R"([{"role":"user","content":"Weather in Paris and Oslo?"},
            {"role":"assistant","content":"","tool_calls":[
              {"id":"abcdefghi","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}},
              {"id":"abcdefghj","type":"function","function":{"name":"get_weather","arguments":{"city":"Oslo"}}}]},
            {"role":"tool","tool_call_id":"abcdefghi","name":"get_weather","content":"12C"},
            {"role":"tool","tool_call_id":"abcdefghj","name":"get_weather","content":"3C"}])");
    vars["tools"] = tools;
    vars["add_generation_prompt"] = true;
    vars["bos_token"] = "<s>";
    vars["eos_token"] = "</s>";
    std::string rendered;
    try {
      rendered = t.render(vars);
    } catch (const Error& e) {
      ADD_FAILURE() << f << ": " << e.what();
      continue;
    }
    // The tool description reaches the prompt.
    EXPECT_NE(rendered.find("get_weather"), std::string::npos) << f;
    EXPECT_NE(rendered.find("12C"), std::string::npos) << f;
    std::vector<ParseEvent> evs = parse_tool_calls(fmt, rendered);
    std::vector<std::string> cities;
    for (const ParseEvent& e : evs) {
      if (e.kind == ParseEvent::kToolCall && e.call.name == "get_weather") cities.push_back(e.call.arguments.value("city", ""));
    }
    if (fmt == ToolFormat::kLlama3) {
      // The calls sit after the assistant header, not at the start of the text: parse that part.
      const size_t p = rendered.find("<|start_header_id|>assistant<|end_header_id|>\n\n");
      ASSERT_NE(p, std::string::npos) << f;
      std::string reply = rendered.substr(p + 47);
      reply = reply.substr(0, reply.find("<|eot_id|>"));
      cities.clear();
      for (const ParseEvent& e : parse_tool_calls(fmt, reply)) {
        if (e.kind == ParseEvent::kToolCall) cities.push_back(e.call.arguments.value("city", ""));
      }
      ASSERT_EQ(cities.size(), 1u) << f << "\n" << reply;
      EXPECT_EQ(cities[0], "Paris") << f;
    } else {
      ASSERT_EQ(cities.size(), 2u) << f << "\n" << rendered;
      EXPECT_EQ(cities[0], "Paris");
      EXPECT_EQ(cities[1], "Oslo");
    }
  }
}

TEST(ToolCallParser, FormatToolCallParsesBack) {
  ToolCall c;
  c.name = "calc";
  c.arguments = json{{"expression", "1 + \"2\""}};
  for (ToolFormat f : {ToolFormat::kHermes, ToolFormat::kLlama3, ToolFormat::kMistral}) {
    std::vector<ParseEvent> evs = parse_tool_calls(f, format_tool_call(f, c));
    ASSERT_EQ(evs.size(), 1u) << tool_format_name(f);
    EXPECT_EQ(evs[0].kind, ParseEvent::kToolCall);
    EXPECT_EQ(evs[0].call.arguments, c.arguments);
  }
}

}  // namespace
}  // namespace muse::tools

namespace muse::tools {
namespace {

// The call grammar of each format accepts what the parser reads back as that call (and nothing naming
// another tool or breaking the arguments' schema): constrained decoding and parsing agree.
TEST(ToolCallParser, CallGrammarDocumentsParseBackToTheCall) {
  const json params = json::parse(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})");
  const std::vector<ToolSpec> specs = {{"weather", "", params}, {"time", "", json::parse(R"({"type":"object"})")}};
  struct Form {
    ToolFormat format;
    std::string open, key, close;
  };
  for (const Form& f : {Form{ToolFormat::kHermes, "<tool_call>\n", "arguments", "}\n</tool_call>"},
                        Form{ToolFormat::kLlama3, "", "parameters", "}"},
                        Form{ToolFormat::kMistral, "[TOOL_CALLS][", "arguments", "}]"}}) {
    const CompiledSchema cs = compile_wrapped_json(call_choices(f.format, specs));
    auto accepts = [&](const std::string& doc) {
      GrammarMatcher m(cs.grammar);
      return m.advance(doc) && m.accepting();
    };
    const std::string doc = f.open + "{\"name\": \"weather\", \"" + f.key + "\": {\"city\": \"Oslo\"}" + f.close;
    ASSERT_TRUE(accepts(doc)) << tool_format_name(f.format) << ": " << doc;
    EXPECT_TRUE(accepts(f.open + "{\"name\": \"time\", \"" + f.key + "\": {}" + f.close)) << tool_format_name(f.format);
    EXPECT_FALSE(accepts(f.open + "{\"name\": \"date\", \"" + f.key + "\": {}" + f.close)) << tool_format_name(f.format);
    EXPECT_FALSE(accepts(f.open + "{\"name\": \"weather\", \"" + f.key + "\": {}" + f.close)) << tool_format_name(f.format);
    const std::vector<ParseEvent> evs = parse_tool_calls(f.format, doc);
    std::vector<ToolCall> calls;
    for (const ParseEvent& e : evs) {
      if (e.kind == ParseEvent::kToolCall) calls.push_back(e.call);
    }
    ASSERT_EQ(calls.size(), 1u) << tool_format_name(f.format) << ": " << summary(evs);
    EXPECT_EQ(calls[0].name, "weather");
    EXPECT_EQ(calls[0].arguments, json({{"city", "Oslo"}}));
  }
}

}  // namespace
}  // namespace muse::tools
