// The P x K sampler: batch structure, epoch semantics, determinism, small classes, bad arguments.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "convkit/embed/pk_sampler.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

// 5 classes of 8 examples, class 5 with 3, class 6 with a single example.
std::vector<int64_t> make_labels() {
  std::vector<int64_t> y;
  for (int64_t c = 0; c < 5; ++c)
    for (int i = 0; i < 8; ++i) y.push_back(c);
  y.insert(y.end(), {5, 5, 5, 6});
  return y;
}

TEST(PKSampler, EveryBatchHoldsKExamplesOfPClasses) {
  const std::vector<int64_t> y = make_labels();
  embed::PKSampler s(y, /*p=*/3, /*k=*/4, /*seed=*/7);
  EXPECT_EQ(s.num_batches(), int64_t(y.size()) / 12);
  EXPECT_EQ(s.usable_classes(), 6);  // class 6 has one example
  for (int64_t epoch = 0; epoch < 20; ++epoch)
    for (const auto& batch : s.epoch_batches(epoch)) {
      ASSERT_EQ(batch.size(), 12u);
      std::map<int64_t, int> per_class;
      for (int64_t i : batch) ++per_class[y[size_t(i)]];
      ASSERT_EQ(per_class.size(), 3u);
      for (auto [c, n] : per_class) {
        EXPECT_EQ(n, 4);
        EXPECT_NE(c, 6);
      }
    }
}

TEST(PKSampler, BatchesDependOnSeedAndEpochOnly) {
  const std::vector<int64_t> y = make_labels();
  embed::PKSampler a(y, 2, 4, 1), b(y, 2, 4, 1), c(y, 2, 4, 2);
  EXPECT_EQ(a.epoch_batches(3), b.epoch_batches(3));
  EXPECT_NE(a.epoch_batches(3), a.epoch_batches(4));
  EXPECT_NE(a.epoch_batches(3), c.epoch_batches(3));
}

// Within an epoch a class's examples are all used once before any is used again.
TEST(PKSampler, ExamplesOfAClassCycleBeforeRepeating) {
  std::vector<int64_t> y;
  for (int64_t c = 0; c < 2; ++c)
    for (int i = 0; i < 6; ++i) y.push_back(c);
  embed::PKSampler s(y, 2, 3, 11);  // every batch takes both classes: 3 of the 6 each
  const auto batches = s.epoch_batches(0);
  ASSERT_EQ(batches.size(), 2u);
  std::multiset<int64_t> seen;
  for (const auto& b : batches) seen.insert(b.begin(), b.end());
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(seen.count(i), 1u) << i;
}

TEST(PKSampler, SmallClassesRepeatTheirExamples) {
  // Class 1 has 2 examples but K = 4: both appear, twice each.
  const std::vector<int64_t> y = {0, 0, 0, 0, 0, 0, 1, 1};
  embed::PKSampler s(y, 2, 4, 3);
  for (const auto& b : s.epoch_batches(0)) {
    std::map<int64_t, int> count;
    for (int64_t i : b) ++count[i];
    EXPECT_EQ(count[6], 2);
    EXPECT_EQ(count[7], 2);
  }
}

TEST(PKSampler, BadArgumentsAreNamed) {
  const std::vector<int64_t> y = make_labels();
  EXPECT_THROW_WITH(embed::PKSampler(y, 1, 4, 0), "P=1");
  EXPECT_THROW_WITH(embed::PKSampler(y, 3, 1, 0), "K=1");
  EXPECT_THROW_WITH(embed::PKSampler(y, 7, 2, 0), "P=7", "only 6 of the 7 classes", "lower P");
}

}  // namespace
}  // namespace convkit
