// JSON Schema -> grammar: the grammar accepts exactly the valid documents of a corpus (character
// streams fed byte by byte), agrees with the independent validator, and never accepts a prefix it
// later needs to reject.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "tools/json_schema.h"

#ifdef MUSE_HAVE_RAPIDCHECK
#include <rapidcheck/gtest.h>
#endif

namespace muse::tools {
namespace {

using json = nlohmann::json;

bool accepts(const Grammar& g, std::string_view doc) {
  GrammarMatcher m(g);
  for (char c : doc) {
    if (!m.advance(static_cast<uint8_t>(c))) return false;
  }
  return m.accepting();
}

struct Case {
  const char* schema;
  std::vector<std::string> valid;
  std::vector<std::string> invalid;
};

std::vector<Case> corpus() {
  return {
      {R"({"type":"integer"})",
       {"0", "7", "-12", "123456789012345678901234567890", " 5", "\n5"},
       {"", "5 ", "01", "-", "1.5", "1e3", "+1", "\"1\"", "--1", "00", "   5"}},
      {R"({"type":"integer","minimum":0})", {"0", "42"}, {"-1", "-0"}},
      {R"({"type":"number"})",
       {"0", "-0", "3.25", "1e10", "1E+2", "-2.5e-3", "10"},
       {"", ".5", "5.", "1e", "1e+", "01.5", "NaN", "Infinity", "0x10", "1.2.3"}},
      {R"({"type":"boolean"})", {"true", "false"}, {"True", "1", "tru", "truefalse", "null"}},
      {R"({"type":"null"})", {"null"}, {"nul", "None", "\"null\""}},
      {R"({"type":"string"})",
       {R"("")", R"("hello")", R"("a\"b")", R"("\\")", R"("\n\t\/\b\f\r")", R"("\u00e9\uD83D\uDE00")",
        "\"caf\xc3\xa9\"", "\"\xe2\x82\xac\"", "\"\xf0\x9f\x98\x80\"", "\"\x7f\""},
       {R"(")", R"("abc)", "\"a\nb\"", R"("\x")", R"("\u12")", R"("\u12G4")", "\"\xc3\"", "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"", "\"\xf5\x80\x80\x80\"", "\"\xe2\x82\"", "\"\x80\"", "'a'", "\"a\"\"b\""}},
      {R"({"type":"string","minLength":2,"maxLength":3})",
       {R"("ab")", R"("abc")", "\"\xc3\xa9\xc3\xa9\"", R"("\n\n")"},
       {R"("a")", R"("abcd")", R"("")"}},
      {R"({"enum":["red","green",3,null,{"a":1}]})",
       {R"("red")", R"("green")", "3", "null", R"({"a":1})"},
       {R"("blue")", R"("re")", "4", R"("Red")", R"({"a":2})"}},
      {R"({"const":"fixed"})", {R"("fixed")"}, {R"("fixe")", R"("fixed2")"}},
      {R"({"type":"array","items":{"type":"integer"}})",
       {"[]", "[1]", "[1,2,3]", "[ 1 , 2 ]", "[\n1\n]"},
       {"[", "[1,]", "[,1]", "[1 2]", "[\"a\"]", "[1]]", "[[1]]"}},
      {R"({"type":"array","items":{"type":"boolean"},"minItems":1,"maxItems":2})",
       {"[true]", "[true,false]"},
       {"[]", "[true,true,true]"}},
      {R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]})",
       {R"({"name":"x"})", R"({"age":3,"name":"x"})", R"({ "age" : 3 , "name" : "x" })"},
       {R"({})", R"({"age":3})", R"({"name":1})", R"({"name":"x","extra":1})", R"({"name":"x",})",
        R"({"name":"x" "age":3})", R"({"name":"x","name":"y"})", R"({"nam":"x"})"}},
      {R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"},"c":{"type":"integer"}}})",
       {"{}", R"({"a":1})", R"({"b":2})", R"({"c":3})", R"({"a":1,"c":3})", R"({"a":1,"b":2,"c":3})"},
       {R"({,"a":1})", R"({"a":1,})", R"({"a":1,,"b":2})", R"({"d":1})"}},
      {R"({"type":"object","properties":{"p":{"type":"object","properties":{"q":{"type":"array","items":{"type":"object","properties":{"r":{"enum":[1,2]}},"required":["r"]}}},"required":["q"]}},"required":["p"]})",
       {R"({"p":{"q":[]}})", R"({"p":{"q":[{"r":1},{"r":2}]}})"},
       {R"({"p":{"q":[{"r":3}]}})", R"({"p":{}})", R"({"p":{"q":[{}]}})", R"({"p":{"q":[{"r":1}]})"}},
      {R"({"type":"object","properties":{"k":{"type":"integer"}},"additionalProperties":{"type":"string"}})",
       {R"({})", R"({"k":1})", R"({"k":1,"x":"s"})", R"({"x":"s","y":"t"})"},
       {R"({"x":1})", R"({"x":"s","k":1})"}},
      {R"({"type":"object","additionalProperties":true})",
       {R"({})", R"({"a":[1,{"b":null}],"c":"d"})"},
       {R"({"a"})", R"({"a":})"}},
      {R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":1}]})",
       {"5", R"("x")"},
       {R"("xy")", "true"}},
      {R"({"type":["string","null"]})", {R"("s")", "null"}, {"1", "[]"}},
      {R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["next","v"]}},"$ref":"#/$defs/node"})",
       {R"({"next":null,"v":1})", R"({"next":{"next":{"next":null,"v":3},"v":2},"v":1})"},
       {R"({"next":{"v":2},"v":1})", R"({"v":1})"}},
      {R"({})",
       {"1", "\"s\"", "[1,[2,[3]]]", R"({"a":{"b":[true,false,null]}})", "-1.5e3"},
       {"[1,", "{\"a\"}", "tru", "{1:2}", "[1]x"}},
  };
}

TEST(JsonSchemaGrammar, AcceptsExactlyTheValidDocumentsOfTheCorpus) {
  for (const Case& c : corpus()) {
    const json schema = json::parse(c.schema);
    CompiledSchema cs = compile_json_schema(schema);
    for (const std::string& doc : c.valid) {
      EXPECT_TRUE(accepts(cs.grammar, doc)) << c.schema << " should accept " << doc << "\n" << cs.grammar.to_string();
      // The independent validator agrees (the documents parse and are valid).
      EXPECT_EQ(validate_json(schema, json::parse(doc)), "") << c.schema << " / " << doc;
    }
    for (const std::string& doc : c.invalid) {
      EXPECT_FALSE(accepts(cs.grammar, doc)) << c.schema << " should reject " << doc;
    }
  }
}

TEST(JsonSchemaGrammar, ValidatorRejectsTheSchemaInvalidDocuments) {
  struct V {
    const char* schema;
    const char* doc;
  };
  for (const V& v : std::vector<V>{{R"({"type":"integer"})", "1.5"},
                                   {R"({"type":"object","required":["a"]})", "{}"},
                                   {R"({"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false})",
                                    R"({"b":1})"},
                                   {R"({"type":"array","items":{"enum":[1]},"maxItems":1})", "[1,1]"},
                                   {R"({"type":"string","maxLength":1})", "\"ab\""},
                                   {R"({"type":"number","minimum":2})", "1"}}) {
    EXPECT_NE(validate_json(json::parse(v.schema), json::parse(v.doc)), "") << v.schema << " / " << v.doc;
  }
}

TEST(JsonSchemaGrammar, WhitespaceIsBoundedPerGap) {
  SchemaOptions compact;
  compact.max_whitespace = 0;
  CompiledSchema cs = compile_json_schema(json::parse(R"({"type":"array","items":{"type":"integer"}})"), compact);
  EXPECT_TRUE(accepts(cs.grammar, "[1,2]"));
  EXPECT_FALSE(accepts(cs.grammar, "[1, 2]"));
  CompiledSchema loose = compile_json_schema(json::parse(R"({"type":"array"})"));
  EXPECT_TRUE(accepts(loose.grammar, "[  1]"));
  EXPECT_FALSE(accepts(loose.grammar, "[   1]"));  // 3 > the default 2
}

TEST(JsonSchemaGrammar, UnenforcedKeywordsAreReportedAsNotes) {
  CompiledSchema cs = compile_json_schema(json::parse(R"({"type":"string","pattern":"^a+$","description":"d"})"));
  ASSERT_EQ(cs.notes.size(), 1u);
  EXPECT_NE(cs.notes[0].find("pattern"), std::string::npos);
}

TEST(JsonSchemaGrammar, BadSchemasThrowNamingThePlace) {
  for (const char* s : {R"({"type":"integr"})", R"({"enum":[]})", R"({"$ref":"#/$defs/missing"})",
                        R"({"properties":{"a":{"type":5}}})", "3", R"({"type":"array","minItems":-1})"}) {
    try {
      compile_json_schema(json::parse(s));
      ADD_FAILURE() << "accepted " << s;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << s;
      EXPECT_NE(std::string(e.what()).find("json schema"), std::string::npos);
    }
  }
}

TEST(JsonSchemaGrammar, DeadPrefixesAreRejectedAtTheirFirstBadByte) {
  CompiledSchema cs = compile_json_schema(json::parse(R"({"type":"object","properties":{"a":{"type":"boolean"}},"required":["a"]})"));
  GrammarMatcher m(cs.grammar);
  EXPECT_TRUE(m.advance(std::string_view("{\"a\":t")));
  EXPECT_FALSE(m.advance(static_cast<uint8_t>('x')));
  EXPECT_TRUE(m.advance(std::string_view("rue}")));
  EXPECT_TRUE(m.accepting());
  EXPECT_TRUE(m.finished());
  EXPECT_FALSE(m.advance(static_cast<uint8_t>(' ')) && m.advance(static_cast<uint8_t>('x')));
}

// Random JSON values (canonical order: nlohmann dumps keys sorted, as the grammar expects) against a
// fixed schema: the grammar accepts the compact dump exactly when the validator says valid.
json random_value(std::mt19937& rng, int depth) {
  switch (rng() % (depth > 2 ? 5 : 7)) {
    case 0: return nullptr;
    case 1: return rng() % 2 == 0;
    case 2: return static_cast<int64_t>(rng() % 2000) - 1000;
    case 3: return static_cast<double>(rng() % 1000) / 8.0 + 0.5;
    case 4: {
      static const char* strs[] = {"", "a", "tool", "\"q\"", "\\", "\xc3\xa9t\xc3\xa9", "\n", "x y"};
      return strs[rng() % 8];
    }
    case 5: {
      json a = json::array();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
    default: {
      static const char* keys[] = {"id", "name", "tags", "on", "x"};
      json o = json::object();
      for (int i = static_cast<int>(rng() % 4); i > 0; --i) o[keys[rng() % 5]] = random_value(rng, depth + 1);
      return o;
    }
  }
}

TEST(JsonSchemaGrammar, AgreesWithTheValidatorOnRandomDocuments) {
  const json schema = json::parse(R"({"type":"object","properties":{
      "id":{"type":"integer"},"name":{"type":"string","maxLength":4},"on":{"type":"boolean"},
      "tags":{"type":"array","items":{"anyOf":[{"type":"string"},{"type":"null"}]},"maxItems":2},
      "x":{"type":["number","object"],"additionalProperties":false}},"required":["id"],"additionalProperties":false})");
  CompiledSchema cs = compile_json_schema(schema);
  SchemaOptions wide;
  wide.max_whitespace = 16;
  CompiledSchema pretty = compile_json_schema(schema, wide);
  std::mt19937 rng(7);
  int valid = 0;
  for (int i = 0; i < 3000; ++i) {
    json doc = random_value(rng, 0);
    if (doc.is_object() && rng() % 2) doc["id"] = static_cast<int64_t>(rng() % 50);  // make valid ones common
    const bool ok = validate_json(schema, doc).empty();
    valid += ok;
    EXPECT_EQ(accepts(cs.grammar, doc.dump()), ok) << doc.dump();
    if (ok) {
      EXPECT_TRUE(accepts(pretty.grammar, doc.dump(1))) << doc.dump(1);  // pretty-printed: 1-space indent
    }
  }
  EXPECT_GT(valid, 50);  // enough valid documents for the comparison to mean something (84 with this seed)
}

}  // namespace
}  // namespace muse::tools

namespace muse::tools {
namespace {

// Fixed text around schema'd values: each choice keeps its own texts and its own $ref document, and a
// document is one choice whole (no mixing one choice's prefix with another's value or suffix); blank space
// only leads the document (the texts are exact).
TEST(JsonSchemaGrammar, WrappedChoicesKeepTheirTextsAndTheirOwnRefs) {
  const json a = json::parse(R"({"$defs":{"v":{"type":"integer"}},"$ref":"#/$defs/v"})");
  const json b = json::parse(R"({"$defs":{"v":{"type":"boolean"}},"$ref":"#/$defs/v"})");
  const CompiledSchema cs = compile_wrapped_json({{"A(", a, ")"}, {"B[", b, "]"}, {"", json{{"type", "null"}}, ""}});
  for (const char* ok : {"A(12)", "B[true]", " A(0)", "null"}) EXPECT_TRUE(accepts(cs.grammar, ok)) << ok;
  for (const char* bad : {"A(true)", "B[12]", "A(12]", "B[false)", "A(1", "12", "A()", "nullnull", "A( 7)"}) {
    EXPECT_FALSE(accepts(cs.grammar, bad)) << bad;
  }
  EXPECT_THROW(compile_wrapped_json({}), Error);
}

}  // namespace
}  // namespace muse::tools
