#include "convkit/dist/communicator.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "work_state.h"

namespace convkit::dist {

void Work::wait() {
  if (!state_) return;
  State& s = *state_;
  std::unique_lock lock(s.mu);
  const auto limit = std::chrono::duration<double>(s.timeout_seconds);
  std::string failure;
  if (!s.cv.wait_for(lock, limit, [&] { return s.done; }))
    failure = s.what + " did not finish within " + std::to_string(int64_t(s.timeout_seconds)) +
              " s on rank " + std::to_string(s.rank) +
              ": another rank has stopped (see its message) or is stuck; raise the limit with "
              "--dist-timeout if a step can be that slow";
  else if (!s.error.empty())
    failure = s.what + " failed on rank " + std::to_string(s.rank) + ": " + s.error;
  if (failure.empty()) return;
  lock.unlock();
  if (s.fatal) s.fatal(failure);
  throw CollectiveError(failure);
}

bool Work::done() const {
  if (!state_) return true;
  std::lock_guard lock(state_->mu);
  return state_->done;
}

namespace {
class SingleProcess : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "single"; }
  double timeout_seconds() const override { return 0; }
  Work allreduce_sum_async(float*, int64_t n, const std::string& what) override {
    CONVKIT_CHECK(n >= 0, what, ": negative element count ", n);
    return Work();
  }
  Work allreduce_sum_async(double*, int64_t n, const std::string& what) override {
    CONVKIT_CHECK(n >= 0, what, ": negative element count ", n);
    return Work();
  }
  Work broadcast_async(void*, int64_t bytes, int root, const std::string& what) override {
    CONVKIT_CHECK(root == 0 && bytes >= 0, what, ": broadcast from rank ", root, " of ", bytes,
                  " bytes in a world of one process");
    return Work();
  }
  [[noreturn]] void abort(int exit_code) override {
    std::fflush(nullptr);
    std::_Exit(exit_code);
  }
};

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == '\0' && n > 0 && n < (1 << 24) ? int(n) : 0;
}
}  // namespace

CommunicatorPtr single_process() { return std::make_shared<SingleProcess>(); }

int launched_world_size() {
  // OpenMPI's mpirun, PMI-1/2 launchers (MPICH's hydra, Intel MPI, srun --mpi=pmi2), MVAPICH2.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"})
    if (int n = env_int(name)) return n;
  // srun with PMIx (OpenMPI's default under Slurm): every task of the step sees the step's size.
  if (std::getenv("PMIX_RANK"))
    if (int n = env_int("SLURM_STEP_NUM_TASKS")) return n;
  return 1;
}

CommunicatorPtr world(double timeout_seconds) {
  const int launched = launched_world_size();
  if (launched <= 1) return single_process();
  CONVKIT_CHECK(mpi_built(), "this process is one of ", launched,
                " started by an MPI launcher, but this convkit was built without MPI: install "
                "libopenmpi-dev and rebuild (CMake option CONVKIT_MPI), or run a single process");
  return mpi_world(timeout_seconds);
}

}  // namespace convkit::dist
