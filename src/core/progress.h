// ProgressBar: a one-line progress display on stderr for long work (loading, quantizing, evals).
//
// Redraws in place with '\r' at most every 100 ms when stderr is a terminal; when it is not (logs, CI)
// it prints a plain line at each 10% step so logs stay short. Not thread-safe: update from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace muse::core {

class ProgressBar {
 public:
  // unit: "MiB", "tok", "problems"...; total may be 0 when unknown.
  ProgressBar(std::string label, double total, std::string unit);
  ~ProgressBar();  // finishes the line if update() was ever called

  // done: absolute amount done so far; extra: optional text after the numbers ("loss 1.23").
  void update(double done, const std::string& extra = "");
  void finish(const std::string& extra = "");

 private:
  void draw(double done, const std::string& extra, bool final);

  std::string label_, unit_;
  double total_;
  bool tty_;
  bool drawn_ = false;
  bool finished_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace muse::core
