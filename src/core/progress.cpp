#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

namespace muse::core {

ProgressBar::ProgressBar(std::string label, double total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  if (drawn_ && !finished_) std::fputc('\n', stderr);
}

void ProgressBar::update(double done, const std::string& extra) {
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  } else {
    const int decile = total_ > 0 ? static_cast<int>(done / total_ * 10.0) : -1;
    if (decile == last_decile_) return;
    last_decile_ = decile;
  }
  last_draw_ = now;
  draw(done, extra, false);
}

void ProgressBar::finish(const std::string& extra) {
  if (finished_) return;
  draw(total_, extra, true);
  finished_ = true;
}

void ProgressBar::draw(double done, const std::string& extra, bool final) {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line;
  if (total_ > 0) {
    const double frac = std::min(1.0, done / total_);
    const int width = 24;
    const int filled = static_cast<int>(frac * width);
    std::string bar = std::string(filled, '#') + std::string(width - filled, '.');
    std::string eta;
    if (!final && frac > 0.01) eta = fmt::format(" ETA {:.0f}s", secs / frac - secs);
    line = fmt::format("{} [{}] {:3.0f}% {:.0f}/{:.0f} {} {:.1f}s{}", label_, bar, frac * 100.0, done, total_, unit_,
                       secs, eta);
  } else {
    line = fmt::format("{} {:.0f} {} {:.1f}s", label_, done, unit_, secs);
  }
  if (!extra.empty()) line += "  " + extra;
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace muse::core
