#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "convkit/data/dataset.h"
#include "convkit/data/idx.h"
#include "convkit/data/loader.h"
#include "support/gradcheck.h"

using namespace convkit;
using namespace convkit::data;

namespace {
// 103 examples whose input value is the index, labels cycling over 3 classes.
DatasetPtr counting_set(int64_t n = 103) {
  Tensor x = Tensor::arange(double(n)).reshape({n, 1});
  std::vector<int64_t> l(n);
  for (int64_t i = 0; i < n; ++i) l[i] = i % 3;
  return std::make_shared<TensorDataset>(x, Tensor::from_vector<int64_t>(l, {n}));
}

std::vector<int64_t> drain(DataLoader& dl, std::vector<int64_t>* sizes = nullptr) {
  std::vector<int64_t> seen;
  while (auto b = dl.next()) {
    EXPECT_EQ(b->inputs.size(0), b->labels.size(0));
    for (int64_t k = 0; k < b->inputs.size(0); ++k) {
      auto v = int64_t(b->inputs.at({k, 0}));
      EXPECT_EQ(b->labels.at({k}), v % 3);
      EXPECT_EQ(b->indices[k], v);
      seen.push_back(v);
    }
    if (sizes) sizes->push_back(b->inputs.size(0));
  }
  return seen;
}
}  // namespace

TEST(Loader, EpochCoversEveryExampleOnceInBatches) {
  DataLoader dl(counting_set(), {.batch_size = 10, .shuffle = true, .seed = 7});
  EXPECT_EQ(dl.num_batches(), 11);
  dl.start_epoch(0);
  std::vector<int64_t> sizes;
  std::vector<int64_t> seen = drain(dl, &sizes);
  EXPECT_EQ(sizes.back(), 3);
  std::vector<int64_t> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 103; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(seen, sorted);  // shuffled
}

TEST(Loader, DropLastAndNoShuffle) {
  DataLoader dl(counting_set(), {.batch_size = 10, .shuffle = false, .drop_last = true});
  EXPECT_EQ(dl.num_batches(), 10);
  dl.start_epoch(3);
  std::vector<int64_t> seen = drain(dl);
  ASSERT_EQ(seen.size(), 100u);
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(Loader, OrderDependsOnlyOnSeedAndEpoch) {
  LoaderOptions o{.batch_size = 16, .seed = 42};
  DataLoader a(counting_set(), o), b(counting_set(), {.batch_size = 16, .seed = 42, .prefetch = 0});
  a.start_epoch(2);
  b.start_epoch(2);
  EXPECT_EQ(drain(a), drain(b));
  EXPECT_NE(a.epoch_order(1), a.epoch_order(2));
  DataLoader c(counting_set(), {.batch_size = 16, .seed = 43});
  EXPECT_NE(a.epoch_order(2), c.epoch_order(2));
}

TEST(Loader, ResumeMidEpochSeesTheRemainingBatches) {
  DataLoader dl(counting_set(), {.batch_size = 8, .seed = 5});
  dl.start_epoch(4);
  std::vector<int64_t> full = drain(dl);
  dl.start_epoch(4, 3);
  std::vector<int64_t> tail = drain(dl);
  EXPECT_EQ(tail, std::vector<int64_t>(full.begin() + 24, full.end()));
  // Abandoning an epoch half way and starting another must not hang or leak.
  dl.start_epoch(5);
  ASSERT_TRUE(dl.next().has_value());
  dl.start_epoch(6);
  EXPECT_EQ(drain(dl).size(), 103u);
  EXPECT_THROW_WITH(dl.start_epoch(0, 99), "DataLoader", "batch 99");
}

TEST(Loader, ProducerErrorsReachTheConsumer) {
  struct Broken : TensorDataset {
    using TensorDataset::TensorDataset;
    Batch get_batch(const std::vector<int64_t>& idx) const override {
      for (int64_t i : idx) CONVKIT_CHECK(i != 50, "Broken: cannot read example ", i);
      return TensorDataset::get_batch(idx);
    }
  };
  auto ds = std::make_shared<Broken>(Tensor::zeros({60, 2}), Tensor::zeros({60}, DType::i64));
  DataLoader dl(ds, {.batch_size = 10, .shuffle = false});
  dl.start_epoch(0);
  int ok = 0;
  EXPECT_THROW_WITH(while (dl.next())++ ok, "cannot read example 50");
  EXPECT_EQ(ok, 5);
}

TEST(Dataset, StratifiedSplitIsDisjointAndProportional) {
  auto [train, val] = train_val_split(counting_set(300), 0.2, 1);
  EXPECT_EQ(train->size() + val->size(), 300);
  EXPECT_EQ(val->size(), 60);
  std::vector<int64_t> per_class(3, 0);
  for (int64_t l : val->labels()) ++per_class[l];
  EXPECT_EQ(per_class, (std::vector<int64_t>{20, 20, 20}));
  std::set<int64_t> seen;
  for (auto* ds : {train.get(), val.get()})
    for (int64_t i = 0; i < ds->size(); ++i) seen.insert(int64_t(ds->get(i).inputs.at({0, 0})));
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_THROW_WITH(counting_set()->get(103), "index 103", "103 examples");
  EXPECT_THROW_WITH(TensorDataset(Tensor::zeros({3, 2}), Tensor::zeros({2}, DType::i64)),
                    "3 inputs but 2 labels");
}

TEST(Dataset, FashionMnistHasTenNamedClasses) {
  auto ds = fashion_mnist(kFashionMnistDir, false);
  EXPECT_EQ(ds->size(), 10000);
  EXPECT_EQ(ds->example_shape(), Shape({1, 28, 28}));
  EXPECT_EQ(ds->class_names()[9], "Ankle boot");
}

TEST(Dataset, NormalizedHasZeroMeanUnitStd) {
  Tensor x = Tensor::randn({50, 2, 3, 3});
  auto base = std::make_shared<TensorDataset>(mul(x, 3.0) + 1.0, Tensor::zeros({50}, DType::i64));
  ChannelStats st = channel_stats(*base);
  ASSERT_EQ(st.mean.size(), 2u);
  EXPECT_NEAR(st.mean[0], 1.0, 0.5);
  EXPECT_NEAR(st.std[1], 3.0, 0.5);
  Normalized norm(base, st);
  ChannelStats after = channel_stats(norm);
  for (int c = 0; c < 2; ++c) {
    EXPECT_NEAR(after.mean[c], 0.0, 1e-5);
    EXPECT_NEAR(after.std[c], 1.0, 1e-5);
  }
  EXPECT_THROW_WITH(Normalized(base, ChannelStats{{0.0}, {1.0}}), "Normalized", "2 channels");
}
