// StopMatcher: stop strings across piece boundaries, hold-back of possible prefixes, and the text
// emitted being exactly the text before the first match, for every way of cutting the input.
#include "engine/stop_strings.h"

#include <gtest/gtest.h>

namespace muse::engine {
namespace {

// Feeds `text` in pieces cut at `cuts` and returns what was emitted (push + flush).
std::string feed(StopMatcher& m, const std::string& text, const std::vector<size_t>& cuts) {
  std::string out;
  size_t at = 0;
  for (size_t c : cuts) {
    out += m.push(std::string_view(text).substr(at, c - at));
    at = c;
  }
  out += m.push(std::string_view(text).substr(at));
  out += m.flush();
  return out;
}

TEST(StopStrings, EveryCutGivesTheTextBeforeTheFirstMatch) {
  const std::string text = "The answer is 42.\nUser: thanks";
  const std::vector<std::string> stops = {"\nUser:", "answer was"};
  const std::string want = "The answer is 42.";
  for (size_t a = 0; a <= text.size(); ++a) {
    for (size_t b = a; b <= text.size(); b += 3) {
      StopMatcher m(stops);
      EXPECT_EQ(feed(m, text, {a, b}), want) << "cuts " << a << ", " << b;
      EXPECT_TRUE(m.stopped());
      EXPECT_EQ(m.matched(), "\nUser:");
    }
  }
}

TEST(StopStrings, PossiblePrefixesAreHeldBackThenReleased) {
  StopMatcher m({"STOP"});
  EXPECT_EQ(m.push("abcST"), "abc");
  EXPECT_EQ(m.push("O"), "");
  EXPECT_EQ(m.push("x"), "STOx") << "not a stop string after all";
  EXPECT_EQ(m.push("S"), "");
  EXPECT_EQ(m.flush(), "S") << "the end of generation releases the held tail";
  EXPECT_FALSE(m.stopped());
}

TEST(StopStrings, EarliestMatchWinsAndNothingFollows) {
  StopMatcher m({"cd", "bcde"});
  EXPECT_EQ(m.push("abcdef"), "a");
  EXPECT_EQ(m.matched(), "bcde");
  EXPECT_EQ(m.push("more"), "");
  EXPECT_EQ(m.flush(), "");
}

TEST(StopStrings, NoStopsPassesEverythingThrough) {
  StopMatcher m({"", ""});
  EXPECT_EQ(m.push("x"), "x");
  EXPECT_EQ(m.flush(), "");
  EXPECT_FALSE(m.stopped());
}

}  // namespace
}  // namespace muse::engine
