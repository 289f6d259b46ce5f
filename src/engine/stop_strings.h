// StopMatcher: ends generation at user-given stop strings in streamed text.
//
// Text arrives in pieces (decoded tokens); a stop string may straddle pieces. push() returns the text
// that can safely be shown: everything before a match, minus any tail that could still grow into a stop
// string (held back until the next push or flush). After a match, stopped() is true, the stop string and
// everything after it are dropped, and further pushes return nothing.
//
// One matcher per stream; not thread-safe. Never throws. Empty stop strings are ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace muse::engine {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops = {});

  std::string push(std::string_view text);
  // The held-back tail (call once at the end of generation); empty after a match.
  std::string flush();
  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string that matched, or ""

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace muse::engine
