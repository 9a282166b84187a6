#pragma once
// The distributed sampler: each rank of a data-parallel run trains on its own disjoint part of
// every epoch (docs/distributed.md).
//
// Epoch e's order is the one ShuffleSampler(size, ..., seed) draws (the same on every rank); rank r
// of N takes positions r, r + N, r + 2N, ... of it and cuts them into batches of batch_size. So
// batch b of all ranks together holds exactly the examples of batch b of one process whose batch
// is N x batch_size over the same order: the run equals that process's (tests/test_dist_cli.cpp).
// With `pad` (training) the order is first extended by its own start to a multiple of N, so every
// rank takes the same number of steps (PyTorch's DistributedSampler); without it (evaluation)
// every example is seen exactly once and the ranks' shards differ by at most one example.
#include "convkit/data/loader.h"

namespace convkit::dist {

struct DistributedSamplerOptions {
  int64_t size = 0;        // examples in the dataset
  int64_t batch_size = 1;  // per rank
  bool shuffle = true;
  bool drop_last = false;  // drop each rank's last, shorter batch
  uint64_t seed = 0;
  int rank = 0, world_size = 1;
  bool pad = true;
};

class DistributedSampler : public data::Sampler {
 public:
  explicit DistributedSampler(DistributedSamplerOptions options);
  int64_t num_batches() const override;
  std::vector<std::vector<int64_t>> epoch_batches(int64_t epoch) const override;
  // This rank's examples of epoch `epoch`, in order.
  std::vector<int64_t> shard(int64_t epoch) const;
  // Examples in this rank's shard (the same every epoch).
  int64_t shard_size() const;

 private:
  DistributedSamplerOptions opt_;
  data::ShuffleSampler order_;
};

}  // namespace convkit::dist
