// Chat-template conformance: every line of ${MUSE_SHARED_DATA}/templates/cases.jsonl (real model
// templates x conversation fixtures, rendered by Python jinja2 the way transformers does) must render
// byte-identically to `expected`, or fail where the reference failed. For raise_exception failures
// the template's own message must come through verbatim. See templates/README.md.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "text/chat_template.h"

namespace muse::text {
namespace {

const std::string kDir = std::string(MUSE_SHARED_DATA) + "/templates/";

struct Case {
  std::string id;  // template + fixture, for the test name
  std::string template_file;
  std::string fixture;
  nlohmann::ordered_json variables;
  std::optional<std::string> expected;
  std::optional<std::string> error;
  std::string error_type;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::ifstream in(kDir + "cases.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // ordered_json keeps the key order of tools and arguments, which tojson output depends on.
    const auto j = nlohmann::ordered_json::parse(line);
    Case c;
    c.template_file = j.at("template").get<std::string>();
    c.fixture = j.at("fixture").get<std::string>();
    c.variables = j.at("variables");
    if (!j.at("expected").is_null()) c.expected = j.at("expected").get<std::string>();
    if (!j.at("error").is_null()) c.error = j.at("error").get<std::string>();
    if (!j.at("error_type").is_null()) c.error_type = j.at("error_type").get<std::string>();
    c.id = c.template_file.substr(0, c.template_file.size() - 6) + "__" + c.fixture;
    for (char& ch : c.id) {
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\t') {
      out += "\\t";
    } else {
      out += ch;
    }
  }
  return out;
}

// "first difference at byte N" with ~60 bytes of context from both sides.
std::string diff_context(const std::string& got, const std::string& want) {
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  const size_t from = i > 60 ? i - 60 : 0;
  return "lengths: got " + std::to_string(got.size()) + ", expected " + std::to_string(want.size()) +
         "; first difference at byte " + std::to_string(i) + "\n  got:      ..." + escape(got.substr(from, 120)) +
         "\n  expected: ..." + escape(want.substr(from, 120));
}

RenderOptions reference_options() {
  RenderOptions o;
  o.clock = fixed_clock(2026, 4, 8);  // the instant the reference pinned strftime_now to
  return o;
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, MatchesTransformers) {
  const Case& c = GetParam();
  const ChatTemplate tmpl = ChatTemplate::parse(slurp(kDir + c.template_file), c.template_file);
  if (c.expected) {
    std::string got;
    try {
      got = tmpl.render(c.variables, reference_options());
    } catch (const TemplateError& e) {
      FAIL() << c.fixture << ": threw " << e.what();
    }
    if (got != *c.expected) ADD_FAILURE() << c.template_file << " / " << c.fixture << "\n" << diff_context(got, *c.expected);
    return;
  }
  ASSERT_TRUE(c.error.has_value());
  try {
    const std::string got = tmpl.render(c.variables, reference_options());
    FAIL() << "rendered where the reference raised " << c.error_type << " (" << *c.error << "):\n" << got;
  } catch (const TemplateError& e) {
    if (c.error_type == "raise_exception") {
      EXPECT_EQ(e.kind(), TemplateError::Kind::kRaised) << e.what();
      EXPECT_EQ(e.detail(), *c.error);  // verbatim
      EXPECT_NE(std::string(e.what()).find(*c.error), std::string::npos) << e.what();
    } else {
      EXPECT_EQ(e.kind(), TemplateError::Kind::kRender) << e.what();
      EXPECT_EQ(e.python_class(), c.error_type) << e.what();
    }
    EXPECT_GE(e.line(), 1u) << "render errors name the template line: " << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, Conformance, ::testing::ValuesIn(load_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.id; });

// Guards the parameterised test against passing vacuously (missing or truncated data file).
TEST(ConformanceData, AllCasesLoadAndEveryTemplateParses) {
  const std::vector<Case> cases = load_cases();
  ASSERT_GE(cases.size(), 100u) << "cases.jsonl missing or truncated in " << kDir;
  size_t raised = 0, failed = 0;
  for (const Case& c : cases) {
    EXPECT_NO_THROW(ChatTemplate::parse(slurp(kDir + c.template_file), c.template_file)) << c.template_file;
    raised += c.error_type == "raise_exception";
    failed += c.error.has_value();
  }
  EXPECT_GT(raised, 0u);
  EXPECT_GT(failed, raised);
}

}  // namespace
}  // namespace muse::text
