#include "train_dist.h"

#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <thread>

#include "convkit/dist/sampler.h"
#include "convkit/dist/sync_batch_norm.h"

namespace convkit::cli {

void add_dist_options(CLI::App& cmd, DistArgs& a) {
  const char* g = "Data-parallel (under mpirun or srun; docs/distributed.md)";
  cmd.add_option("--dist-timeout", a.timeout,
                 "Seconds a rank waits for the others in a collective before ending the job")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->group(g);
  cmd.add_option("--bucket-mb", a.bucket_mb, "Gradient megabytes per all-reduce")
      ->capture_default_str()
      ->check(CLI::PositiveNumber)
      ->group(g);
  cmd.add_flag("--sync-bn", a.sync_bn,
               "Batch-norm statistics over every rank's batch (default: each rank its own)")
      ->group(g);
  cmd.add_flag("!--no-overlap", a.overlap,
               "All-reduce the gradients after backward instead of during it (for measuring)")
      ->group(g);
}

dist::CommunicatorPtr join_world(const DistArgs& a, int requested_threads) {
  dist::CommunicatorPtr comm = dist::world(a.timeout);
  if (comm->size() == 1) return comm;
  if (comm->rank() != 0 && !std::freopen("/dev/null", "w", stdout))
    std::fprintf(stderr, "convkit train: rank %d could not silence its output\n", comm->rank());
  if (requested_threads <= 0) {
    // OpenMPI binds each rank to its cores (then OpenMP already sees only those); otherwise share
    // the node's hardware threads among the ranks on it.
    int local = 1;
    if (const char* s = std::getenv("OMPI_COMM_WORLD_LOCAL_SIZE"))
      local = std::max(1, std::atoi(s));
    const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
    omp_set_num_threads(std::max(1, std::min(omp_get_max_threads(), hw / local)));
  }
  std::printf("data-parallel: %d processes (%s), %d kernel threads each\n", comm->size(),
              comm->backend().c_str(), omp_get_max_threads());
  return comm;
}

data::LoaderOptions shard_loader(data::LoaderOptions o, int64_t dataset_size,
                                 const dist::Communicator& comm, bool training) {
  if (comm.size() == 1) return o;
  o.sampler = std::make_shared<dist::DistributedSampler>(
      dist::DistributedSamplerOptions{.size = dataset_size,
                                      .batch_size = o.batch_size,
                                      .shuffle = o.shuffle,
                                      .drop_last = o.drop_last,
                                      .seed = o.seed,
                                      .rank = comm.rank(),
                                      .world_size = comm.size(),
                                      .pad = training});
  return o;
}

void apply_sync_bn(const DistArgs& a, const dist::CommunicatorPtr& comm, nn::Module& model) {
  if (!a.sync_bn || comm->size() == 1) return;
  const int n = dist::convert_sync_batch_norm(model, comm);
  std::printf("synchronized batch norm: %d layers\n", n);
}

void on_every_rank(dist::Communicator& comm, const std::function<void()>& body) {
  if (comm.size() == 1) return body();
  try {
    body();
  } catch (const CLI::RuntimeError&) {
    throw;  // a paused run: every rank stopped after the same step and exits with its status
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convkit train: rank %d of %d: error: %s\n", comm.rank(), comm.size(),
                 e.what());
    comm.abort(1);
  }
}

}  // namespace convkit::cli
