#pragma once
// `convkit train` under mpirun / srun: the options and the pieces that make a run data-parallel
// (docs/distributed.md). Outside a launcher the world is one process and nothing changes.
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>

#include "convkit/data/loader.h"
#include "convkit/dist/communicator.h"
#include "convkit/dist/data_parallel.h"
#include "convkit/nn/module.h"

namespace convkit::cli {

struct DistArgs {
  double timeout = 600;  // seconds a collective may wait for another rank
  double bucket_mb = 25;
  bool overlap = true;
  bool sync_bn = false;  // batch-norm statistics over every rank's batch
};
void add_dist_options(CLI::App& cmd, DistArgs& a);

// The world this process belongs to. On ranks other than 0 standard output goes to /dev/null
// (rank 0 prints progress and results; errors still reach standard error). Under a launcher the
// kernel threads default to the cores of this rank's share of the node.
dist::CommunicatorPtr join_world(const DistArgs& a, int requested_threads);

// Loader options for this rank: its shard of every epoch (training: padded to equal steps;
// evaluation: every example once).
data::LoaderOptions shard_loader(data::LoaderOptions o, int64_t dataset_size,
                                 const dist::Communicator& comm, bool training);

// With --sync-bn under a launcher: every batch norm of `model` takes its statistics over all ranks.
void apply_sync_bn(const DistArgs& a, const dist::CommunicatorPtr& comm, nn::Module& model);

// Runs `body`; an error on one rank of several prints "rank R of N: ..." and ends every rank
// (dist::Communicator::abort), so that no rank waits for one that has stopped.
void on_every_rank(dist::Communicator& comm, const std::function<void()>& body);

}  // namespace convkit::cli
