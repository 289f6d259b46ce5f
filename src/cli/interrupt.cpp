#include "cli/interrupt.h"

#include <atomic>
#include <chrono>

#include "core/error.h"

namespace muse::cli {
namespace {

std::atomic<int> g_signal{0};  // the last signal received, 0 if none
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void on_stop_signal(int sig) {
  if (g_signal.exchange(sig) != 0) {  // second signal: give up on a clean stop
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

Interrupt::Interrupt() {
  MUSE_ASSERT(g_signal.load() == 0);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
  watcher_ = std::jthread([this](std::stop_token self) {
    while (!self.stop_requested()) {
      if (g_signal.load() != 0) {
        source_.request_stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
}

Interrupt::~Interrupt() {
  watcher_.request_stop();
  watcher_.join();
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  g_signal.store(0);
}

}  // namespace muse::cli
