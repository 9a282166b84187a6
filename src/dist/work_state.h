#pragma once
// What a Work handle shares with the communicator that runs its collective.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "convkit/dist/communicator.h"

namespace convkit::dist {

struct Work::State {
  State(std::string what, double timeout_seconds, int rank,
        std::function<void(const std::string&)> fatal = {})
      : what(std::move(what)),
        timeout_seconds(timeout_seconds),
        rank(rank),
        fatal(std::move(fatal)) {}
  // Marks the collective finished; a non-empty `failure` makes wait() throw with it.
  void finish(std::string failure = {}) {
    {
      std::lock_guard lock(mu);
      done = true;
      error = std::move(failure);
    }
    cv.notify_all();
  }

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::string error;
  const std::string what;
  const double timeout_seconds;
  const int rank;
  // Set by a communicator for which a failed or late collective is the end (MPI cannot cancel
  // one, and its buffers may still be written): wait() calls it with the message instead of
  // throwing, and it does not return.
  const std::function<void(const std::string&)> fatal;
};

}  // namespace convkit::dist
