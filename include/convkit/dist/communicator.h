#pragma once
// Communicator: the collectives data-parallel training needs (docs/distributed.md). Two
// implementations: one process alone (every collective is the identity), and MPI (OpenMPI's
// `mpirun`, Slurm's `srun`) when convkit is built with it.
//
// Every collective is asynchronous: it returns a Work at once and runs in order with the others
// (the MPI one on a communication thread, so that gradient all-reduces overlap backward). Every
// rank must issue the same collectives in the same order with the same sizes. Work::wait() gives up
// after the communicator's timeout and throws CollectiveError naming the operation and the rank:
// a rank that died or hangs ends the job with a message, never a silent hang.
#include <cstdint>
#include <memory>
#include <string>

#include "convkit/error.h"

namespace convkit::dist {

// A collective failed or did not finish within the timeout.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

// The handle of one asynchronous collective.
class Work {
 public:
  struct State;
  Work() = default;  // a finished collective
  explicit Work(std::shared_ptr<State> state) : state_(std::move(state)) {}
  // Blocks until the collective has finished on this rank (its buffer holds the result). Throws
  // CollectiveError when it failed or when the timeout passed first.
  void wait();
  bool done() const;

 private:
  std::shared_ptr<State> state_;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "single" or "mpi".
  virtual std::string backend() const = 0;
  // Seconds a wait() allows a collective before it throws.
  virtual double timeout_seconds() const = 0;

  // In place: data[i] becomes the sum of data[i] over the ranks. `what` names the operation in
  // errors ("gradient bucket 2 (1.2 MB)"). The buffer must stay alive and untouched until the
  // Work is done.
  virtual Work allreduce_sum_async(float* data, int64_t n, const std::string& what) = 0;
  virtual Work allreduce_sum_async(double* data, int64_t n, const std::string& what) = 0;
  // In place: every rank's `bytes` at `data` become root's.
  virtual Work broadcast_async(void* data, int64_t bytes, int root, const std::string& what) = 0;

  void allreduce_sum(float* data, int64_t n, const std::string& what) {
    allreduce_sum_async(data, n, what).wait();
  }
  void allreduce_sum(double* data, int64_t n, const std::string& what) {
    allreduce_sum_async(data, n, what).wait();
  }
  void broadcast(void* data, int64_t bytes, int root, const std::string& what) {
    broadcast_async(data, bytes, root, what).wait();
  }
  // Ends every rank of the job at once with `exit_code` (MPI_Abort): after an error on one rank,
  // so that the others do not wait for it. The single-process one exits this process.
  [[noreturn]] virtual void abort(int exit_code) = 0;
};
using CommunicatorPtr = std::shared_ptr<Communicator>;

// One process: rank 0 of 1.
CommunicatorPtr single_process();

// Whether this build has the MPI communicator (CMake option CONVKIT_MPI, on when MPI is found).
bool mpi_built();
// The number of processes the launcher started, read from its environment (OpenMPI's mpirun,
// MPICH/Intel MPI's PMI, Slurm's srun); 1 outside a launcher.
int launched_world_size();

// MPI_COMM_WORLD. Initializes MPI on the first call (MPI_THREAD_MULTIPLE when the library offers
// it) and finalizes it when the last reference is dropped; MPI cannot start again after that.
// Throws when the build has no MPI or MPI fails to start.
CommunicatorPtr mpi_world(double timeout_seconds = 600);

// mpi_world() when launched with more than one process, else single_process(). Launched with
// several processes by a build without MPI: throws (each would otherwise train alone).
CommunicatorPtr world(double timeout_seconds = 600);

}  // namespace convkit::dist
