// OpenMP's wait policy for the CLI. libgomp's default lets a thread that finished its share of a
// parallel region spin for a while before it sleeps; on a busy machine those spinning threads take
// the cores from the threads still working, and a ResNet-20 epoch measured 3.5 s quiet went to
// 235 s beside two busy processes (docs/benchmarks.md). Passive waiting sleeps at once. libgomp
// reads the policy once, when it is loaded, before main(): so when the user has not chosen one,
// the process sets OMP_WAIT_POLICY=passive and executes itself again, once.
//
// Not for `convkit serve` and `convkit bench`: there every forward pass is latency, and a passive
// thread is woken through the kernel at each of the ~60 parallel regions of one ResNet-20 image.
// Measured on this (virtual) machine: 3.2 ms per image instead of 1.3 ms (docs/serving.md). The
// server keeps one OpenMP team (infer::BatcherOptions::threads), so its spinning takes no core from
// another team.
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#include "commands.h"

namespace convkit::cli {

void choose_omp_wait_policy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;  // the user's
  if (std::getenv("CONVKIT_OMP_REEXEC")) return;  // already re-executed; never loop
  if (argv[0] && argv[1] &&
      (std::string_view(argv[1]) == "serve" || std::string_view(argv[1]) == "bench"))
    return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  setenv("CONVKIT_OMP_REEXEC", "1", 1);
  execv("/proc/self/exe", argv);
  // No /proc (or exec refused): run on with libgomp's default policy.
}

}  // namespace convkit::cli
