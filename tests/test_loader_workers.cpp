// The multi-worker DataLoader: same batches for any worker count, order, bounded prefetch, errors,
// shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "convkit/data/augment.h"
#include "convkit/data/augmented.h"
#include "convkit/data/loader.h"
#include "support/gradcheck.h"

using namespace convkit;
using namespace convkit::data;
using namespace std::chrono_literals;

namespace {
// n grey 8x8 images with pixel values from the index, labels i % 3.
DatasetPtr small_images(int64_t n) {
  std::vector<float> v(size_t(n * 64));
  for (size_t k = 0; k < v.size(); ++k) v[k] = float((k * 37 + k / 64) % 256) / 255.f;
  std::vector<int64_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[i] = i % 3;
  return std::make_shared<TensorDataset>(Tensor::from_vector<float>(v, {n, 1, 8, 8}),
                                         Tensor::from_vector<int64_t>(labels, {n}));
}

// A dataset wrapper that sleeps a pseudo-random time per batch (so workers finish out of order),
// counts calls, and fails on one example.
struct Slow : Dataset {
  DatasetPtr base;
  int64_t fail_at = -1;
  mutable std::atomic<int> calls{0};
  explicit Slow(DatasetPtr b) : base(std::move(b)) {}
  int64_t size() const override { return base->size(); }
  Shape example_shape() const override { return base->example_shape(); }
  int64_t num_classes() const override { return base->num_classes(); }
  Batch get_batch(const std::vector<int64_t>& idx) const override { return base->get_batch(idx); }
  Batch get_epoch_batch(const std::vector<int64_t>& idx, uint64_t seed) const override {
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds((idx[0] * 7) % 5));
    for (int64_t i : idx) CONVKIT_CHECK(i != fail_at, "Slow: cannot read example ", i);
    return base->get_epoch_batch(idx, seed);
  }
};

std::vector<std::vector<float>> all_batches(DataLoader& dl, int64_t epoch) {
  std::vector<std::vector<float>> out;
  dl.start_epoch(epoch);
  while (auto b = dl.next()) {
    const float* p = b->inputs.data<float>();
    std::vector<float> v(p, p + b->inputs.numel());
    for (int64_t i : b->indices) v.push_back(float(i));
    out.push_back(std::move(v));
  }
  return out;
}
}  // namespace

TEST(LoaderWorkers, BatchesAreTheSameForAnyNumberOfWorkers) {
  auto aug = std::make_shared<Augmented>(
      std::make_shared<Slow>(small_images(90)),
      compose({random_crop({.padding = 2}), horizontal_flip(), random_erasing({.p = 0.5})}));
  std::vector<std::vector<std::vector<float>>> runs;
  for (auto [workers, prefetch] :
       {std::pair{1, 2}, std::pair{3, 2}, std::pair{4, 6}, std::pair{1, 0}}) {
    DataLoader dl(aug, {.batch_size = 8, .seed = 3, .prefetch = prefetch, .workers = workers});
    auto e1 = all_batches(dl, 1), e2 = all_batches(dl, 2);
    ASSERT_EQ(e1.size(), 12u);
    EXPECT_NE(e1, e2);
    e1.insert(e1.end(), e2.begin(), e2.end());
    runs.push_back(e1);
  }
  for (size_t r = 1; r < runs.size(); ++r) EXPECT_EQ(runs[r], runs[0]) << "run " << r;
}

TEST(LoaderWorkers, PrefetchIsBounded) {
  auto slow = std::make_shared<Slow>(small_images(200));
  DataLoader dl(slow, {.batch_size = 10, .shuffle = false, .prefetch = 3, .workers = 2});
  dl.start_epoch(0);
  ASSERT_TRUE(dl.next().has_value());
  // One delivered + three ahead of the consumer, and no more however long we wait.
  for (int k = 0; k < 200 && slow->calls.load() < 4; ++k) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(slow->calls.load(), 4);
}

TEST(LoaderWorkers, ErrorsArriveInOrderAfterTheBatchesBeforeThem) {
  auto slow = std::make_shared<Slow>(small_images(100));
  slow->fail_at = 47;
  DataLoader dl(slow, {.batch_size = 10, .shuffle = false, .prefetch = 4, .workers = 3});
  dl.start_epoch(0);
  std::vector<int64_t> firsts;
  EXPECT_THROW_WITH(while (auto b = dl.next()) firsts.push_back(b->indices[0]),
                    "cannot read example 47");
  EXPECT_EQ(firsts, (std::vector<int64_t>{0, 10, 20, 30}));
  EXPECT_FALSE(dl.next().has_value());
  // The loader is usable again after an error.
  slow->fail_at = -1;
  dl.start_epoch(1);
  int n = 0;
  while (dl.next()) ++n;
  EXPECT_EQ(n, 10);
}

TEST(LoaderWorkers, StopsPromptlyWhenWorkersAreBlockedOrBusy) {
  auto slow = std::make_shared<Slow>(small_images(400));
  for (int taken : {0, 1, 5}) {
    auto t0 = std::chrono::steady_clock::now();
    {
      DataLoader dl(slow, {.batch_size = 4, .prefetch = 2, .workers = 3});
      dl.start_epoch(0);
      for (int k = 0; k < taken; ++k) ASSERT_TRUE(dl.next().has_value());
      if (taken == 1) std::this_thread::sleep_for(30ms);  // workers now wait on a full window
    }                                                     // the destructor joins every worker
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << taken;
  }
  EXPECT_THROW_WITH(DataLoader(slow, {.workers = 0}), "DataLoader", "at least one worker");
}
