// Ctrl-C / SIGTERM for long commands: while an Interrupt is alive, SIGINT and SIGTERM request a stop
// on its stop_token instead of killing the process, so the command can finish its step, save a
// checkpoint and exit cleanly. A second signal while a stop is pending gets the default action
// (the process dies at once), so a stuck command can still be killed.
//
//   cli::Interrupt interrupt;                        // installs the handlers
//   train::run_sft(cfg, data, pool, interrupt.token());
//   if (interrupt.requested()) ...                   // restores the old handlers when it goes
//
// One Interrupt at a time per process (the handler writes one process-wide flag); a watcher thread
// turns the flag into stop_source.request_stop(), which is not async-signal-safe itself.
#pragma once

#include <csignal>
#include <stop_token>
#include <thread>

namespace muse::cli {

class Interrupt {
 public:
  Interrupt();
  ~Interrupt();
  Interrupt(const Interrupt&) = delete;
  Interrupt& operator=(const Interrupt&) = delete;

  std::stop_token token() const { return source_.get_token(); }
  bool requested() const { return source_.stop_requested(); }

 private:
  std::stop_source source_;
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
  std::jthread watcher_;
};

}  // namespace muse::cli
