#pragma once
// Ctrl-C pauses a training command: the Trainer finishes its step, the checkpoint callback saves
// the training state, and the command exits with the shell's status for SIGINT after saying how
// to resume (docs/training.md).
#include "convkit/train/trainer.h"

namespace convkit::cli {

// Exit status of a run stopped by Ctrl-C after saving its state (128 + SIGINT, as the shell).
inline constexpr int kInterruptedStatus = 130;

// The SIGINT (and, under mpirun, SIGTERM) handler: asks the Trainer to stop; a second Ctrl-C
// exits at once.
extern "C" void on_sigint(int);

// trainer.run() with Ctrl-C as a pause: returns when the run finished, otherwise prints the resume
// hint and throws CLI::RuntimeError(kInterruptedStatus).
void run_pausable(train::Trainer& trainer);

}  // namespace convkit::cli
