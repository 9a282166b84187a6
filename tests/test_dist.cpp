// The data-parallel pieces that need no second process: the distributed sampler's shards, the
// single-process communicator, the launcher detection, and DataParallel / ReducedTask in a world
// of one (where they must change nothing).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include "convkit/autograd.h"
#include "convkit/data/dataset.h"
#include "convkit/dist/communicator.h"
#include "convkit/dist/data_parallel.h"
#include "convkit/dist/sampler.h"
#include "convkit/dist/sync_batch_norm.h"
#include "convkit/nn/layers.h"
#include "convkit/ops/norm.h"
#include "convkit/optim/sgd.h"
#include "convkit/random.h"
#include "convkit/train/classification.h"
#include "support/gradcheck.h"

using namespace convkit;

namespace {
dist::DistributedSampler sampler(int64_t size, int64_t batch, int rank, int world, bool pad,
                                 bool drop_last = false) {
  return dist::DistributedSampler({.size = size,
                                   .batch_size = batch,
                                   .shuffle = true,
                                   .drop_last = drop_last,
                                   .seed = 7,
                                   .rank = rank,
                                   .world_size = world,
                                   .pad = pad});
}
}  // namespace

TEST(DistributedSampler, RanksTogetherMakeTheBatchesOfOneProcessWithTheCombinedBatch) {
  // 3 ranks x batch 4 against one process with batch 12, over 60 examples (5 full steps) and 51
  // (a last step of 3 examples, one per rank); 50 does not divide among 3 ranks, so the order is
  // padded by one example and only the step count is the same.
  for (int64_t size : {60, 51, 50}) {
    const data::ShuffleSampler one(size, 12, true, false, 7);
    for (int64_t epoch : {0, 3}) {
      const auto whole = one.epoch_batches(epoch);
      std::vector<std::vector<std::vector<int64_t>>> ranks;
      for (int r = 0; r < 3; ++r)
        ranks.push_back(sampler(size, 4, r, 3, true).epoch_batches(epoch));
      ASSERT_EQ(int64_t(ranks[0].size()), one.num_batches()) << size;
      for (size_t b = 0; b < whole.size(); ++b) {
        std::multiset<int64_t> together;
        for (int r = 0; r < 3; ++r) {
          ASSERT_EQ(ranks[r].size(), whole.size()) << "every rank takes the same number of steps";
          together.insert(ranks[r][b].begin(), ranks[r][b].end());
        }
        const std::multiset<int64_t> expected(whole[b].begin(), whole[b].end());
        if (size % 3 == 0) {
          EXPECT_EQ(together, expected) << "size " << size << " batch " << b;
        }
      }
    }
  }
}

TEST(DistributedSampler, ShardsAreDisjointAndPaddingRepeatsTheOrdersStart) {
  const int64_t size = 10;
  std::multiset<int64_t> seen;
  for (int r = 0; r < 4; ++r) {
    auto s = sampler(size, 2, r, 4, true);
    EXPECT_EQ(s.shard_size(), 3);
    EXPECT_EQ(s.num_batches(), 2);
    for (int64_t i : s.shard(0)) seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 12u);  // 10 examples + 2 repeated to make 4 equal shards
  for (int64_t i = 0; i < size; ++i) EXPECT_GE(seen.count(i), 1u) << i;
  // Without padding (evaluation) every example is seen exactly once.
  std::multiset<int64_t> once;
  for (int r = 0; r < 4; ++r)
    for (auto& b : sampler(size, 2, r, 4, false).epoch_batches(0)) once.insert(b.begin(), b.end());
  EXPECT_EQ(once.size(), 10u);
  EXPECT_EQ(std::set<int64_t>(once.begin(), once.end()).size(), 10u);
  // drop_last drops each rank's shorter last batch, on every rank alike.
  EXPECT_EQ(sampler(size, 2, 0, 4, true, true).num_batches(), 1);
  EXPECT_EQ(sampler(size, 2, 3, 4, true, true).num_batches(), 1);
  // A smaller dataset than the world: the evaluation shards of the extra ranks are empty.
  EXPECT_EQ(sampler(2, 4, 3, 4, false).num_batches(), 0);
  EXPECT_EQ(sampler(2, 4, 3, 4, true).num_batches(), 1);
}

TEST(DistributedSampler, BadOptionsAreRefused) {
  EXPECT_THROW(sampler(10, 2, 4, 4, true), Error);
  EXPECT_THROW(sampler(10, 2, -1, 4, true), Error);
  EXPECT_THROW(sampler(10, 0, 0, 4, true), Error);
  EXPECT_THROW(sampler(0, 2, 0, 1, true), Error);
}

TEST(Communicator, OneProcessIsTheIdentity) {
  auto c = dist::single_process();
  EXPECT_EQ(c->rank(), 0);
  EXPECT_EQ(c->size(), 1);
  std::vector<float> v = {1.5f, -2.f};
  c->allreduce_sum(v.data(), 2, "test");
  EXPECT_EQ(v, (std::vector<float>{1.5f, -2.f}));
  EXPECT_THROW(c->broadcast(v.data(), 8, 1, "test"), Error);
}

TEST(Communicator, LaunchersAreRecognizedByTheirEnvironment) {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE", "PMIX_RANK",
                        "SLURM_STEP_NUM_TASKS"})
    ::unsetenv(v);
  EXPECT_EQ(dist::launched_world_size(), 1);
  EXPECT_EQ(dist::world()->size(), 1);
  ::setenv("PMI_SIZE", "4", 1);
  EXPECT_EQ(dist::launched_world_size(), 4);
  ::setenv("PMI_SIZE", "four", 1);
  EXPECT_EQ(dist::launched_world_size(), 1);
  ::unsetenv("PMI_SIZE");
  ::setenv("SLURM_STEP_NUM_TASKS", "8", 1);
  EXPECT_EQ(dist::launched_world_size(), 1) << "srun sets PMIX_RANK for the tasks it starts";
  ::setenv("PMIX_RANK", "0", 1);
  EXPECT_EQ(dist::launched_world_size(), 8);
  ::unsetenv("PMIX_RANK");
  ::unsetenv("SLURM_STEP_NUM_TASKS");
}

// In a world of one, DataParallel must leave training exactly as it is (same weights, same logs),
// while its hooks see every gradient.
TEST(DataParallel, InAWorldOfOneTrainingIsUnchanged) {
  auto make_data = [] {
    manual_seed(3);
    Tensor x = Tensor::randn({48, 1, 6, 6});
    std::vector<int64_t> labels(48);
    for (size_t i = 0; i < labels.size(); ++i) labels[i] = int64_t(i % 3);
    return std::make_shared<data::TensorDataset>(x, Tensor::from_vector(labels, {48}), 3);
  };
  auto run = [&](bool data_parallel) {
    manual_seed(11);
    auto model = std::make_shared<nn::Sequential>();
    model->add(std::make_shared<nn::Conv2d>(1, 4, 3));
    model->add(std::make_shared<nn::ReLU>());
    model->add(std::make_shared<nn::Flatten>());
    model->add(std::make_shared<nn::Linear>(64, 3));
    optim::SGD sgd(optim::single_group(*model, 0.1, 0.0), {.momentum = 0.9});
    data::DataLoader loader(make_data(), {.batch_size = 16, .seed = 2, .workers = 1});
    train::ClassificationTask task(3);
    train::Trainer trainer(*model, sgd, task, loader, nullptr, {.epochs = 2});
    std::shared_ptr<dist::DataParallel> dp;
    if (data_parallel) {
      dp = std::make_shared<dist::DataParallel>(dist::single_process(),
                                                dist::DataParallelOptions{.bucket_mb = 0.0005});
      trainer.add_callback(dp);
    }
    EXPECT_TRUE(trainer.run());
    if (dp) {
      EXPECT_EQ(dp->stats().steps, 6);
      EXPECT_GT(dp->stats().buckets, 1) << "a 500-byte bucket limit splits the 4 parameters";
    }
    return std::make_pair(model->state_dict(), trainer.history().back().train);
  };
  auto [plain, plain_logs] = run(false);
  auto [dp, dp_logs] = run(true);
  for (auto& [name, t] : plain) EXPECT_LT(test::max_abs_diff(t, dp[name]), 1e-7) << name;
  for (auto& [name, v] : plain_logs) EXPECT_NEAR(v, dp_logs[name], 1e-9) << name;
}

// In a world of one, synchronized batch norm is batch norm: output, gradients, running statistics.
TEST(SyncBatchNorm, InAWorldOfOneEqualsBatchNorm) {
  auto comm = dist::single_process();
  for (const Shape& shape : {Shape({4, 3, 5, 5}), Shape({6, 3})}) {
    manual_seed(5);
    Tensor x = Tensor::randn(shape).set_requires_grad();
    Tensor w = Tensor::uniform({3}, 0.5, 1.5).set_requires_grad();
    Tensor b = Tensor::randn({3}).set_requires_grad();
    Tensor rm1 = Tensor::randn({3}), rv1 = Tensor::uniform({3}, 0.5, 2);
    Tensor rm2 = rm1.clone(), rv2 = rv1.clone();
    Tensor g = Tensor::randn(shape);
    Tensor y1 = batch_norm(x, w, b, rm1, rv1, true, 0.1, 1e-5);
    auto grads1 = autograd::grad({y1}, {x, w, b}, {g});
    Tensor y2 = dist::sync_batch_norm(x, w, b, rm2, rv2, 0.1, 1e-5, comm);
    auto grads2 = autograd::grad({y2}, {x, w, b}, {g});
    EXPECT_LT(test::max_abs_diff(y1, y2), 1e-5) << shape.to_string();
    for (size_t i = 0; i < 3; ++i)
      EXPECT_LT(test::max_abs_diff(grads1[i], grads2[i]), 1e-4) << shape.to_string() << " " << i;
    EXPECT_LT(test::max_abs_diff(rm1, rm2), 1e-6);
    EXPECT_LT(test::max_abs_diff(rv1, rv2), 1e-6);
  }
  // One value per channel has no variance: refused with the shape.
  Tensor one = Tensor::randn({1, 3});
  Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3});
  EXPECT_THROW(dist::sync_batch_norm(one, Tensor(), Tensor(), rm, rv, 0.1, 1e-5, comm), Error);
}
