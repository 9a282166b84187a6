#include "pausable.h"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

namespace convkit::cli {

extern "C" void on_sigint(int) {
  train::Trainer::request_stop();
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C exits at once
}

void run_pausable(train::Trainer& trainer) {
  train::Trainer::clear_stop();
  std::signal(SIGINT, on_sigint);
  const bool finished = trainer.run();
  std::signal(SIGINT, SIG_DFL);
  if (finished) return;
  std::printf("training paused; resume with the same command and --resume\n");
  std::fflush(stdout);
  throw CLI::RuntimeError(kInterruptedStatus);
}

}  // namespace convkit::cli
