// Cross-validation folds: stratified, a partition, balanced to within one, reproducible; and
// prepare_classification_data with a fold as the validation set.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "convkit/data/dataset.h"
#include "convkit/train/classification_data.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

TEST(Folds, StratifiedBalancedPartition) {
  std::vector<int64_t> labels;
  for (int i = 0; i < 103; ++i) labels.push_back(i % 7 == 0 ? 2 : i % 3);  // unequal classes
  const auto folds = data::stratified_folds(labels, 5, 9);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<int64_t> all;
  size_t smallest = labels.size(), largest = 0;
  for (const auto& f : folds) {
    EXPECT_TRUE(std::is_sorted(f.begin(), f.end()));
    all.insert(all.end(), f.begin(), f.end());
    smallest = std::min(smallest, f.size());
    largest = std::max(largest, f.size());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), labels.size());
  for (size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], int64_t(i));
  EXPECT_LE(largest - smallest, 1u);
  // Each class's count differs by at most one between folds.
  for (int64_t c = 0; c < 3; ++c) {
    std::vector<int64_t> per;
    for (const auto& f : folds)
      per.push_back(std::count_if(f.begin(), f.end(), [&](int64_t i) { return labels[i] == c; }));
    EXPECT_LE(*std::max_element(per.begin(), per.end()) - *std::min_element(per.begin(), per.end()),
              1)
        << "class " << c;
  }
  EXPECT_EQ(data::stratified_folds(labels, 5, 9), folds);
  EXPECT_NE(data::stratified_folds(labels, 5, 10), folds);
  EXPECT_THROW_WITH(data::stratified_folds(labels, 1, 9), "1 folds of 103 examples");
  EXPECT_THROW_WITH(data::stratified_folds({0, 1}, 3, 9), "3 folds of 2 examples");
}

TEST(Folds, AFoldIsTheValidationSet) {
  const Tensor x = Tensor::arange(0, 20).reshape({20, 1, 1, 1});
  std::vector<int64_t> y(20);
  for (int i = 0; i < 20; ++i) y[size_t(i)] = i % 2;
  auto full = std::make_shared<data::TensorDataset>(x, Tensor::from_vector(y, {20}), 2);
  const auto folds = data::stratified_folds(y, 4, 1);
  const train::ClassificationData d = train::prepare_classification_data(
      full, nullptr, {.val_fraction = 0.5, .val_indices = folds[2], .normalize = false});
  ASSERT_EQ(d.val->size(), 5);
  ASSERT_EQ(d.train->size(), 15);
  const Tensor v = d.val->get_batch({0, 1, 2, 3, 4}).inputs;
  for (int64_t i = 0; i < 5; ++i) EXPECT_EQ(v.data<float>()[i], float(folds[2][size_t(i)]));
  std::vector<int64_t> t(15);
  for (int64_t i = 0; i < 15; ++i) t[size_t(i)] = i;
  const Tensor tr = d.train->get_batch(t).inputs;
  for (int64_t i = 0; i < 15; ++i)
    EXPECT_EQ(std::count(folds[2].begin(), folds[2].end(), int64_t(tr.data<float>()[i])), 0);
  EXPECT_THROW_WITH(train::prepare_classification_data(
                        full, nullptr, {.val_indices = {0, 25}, .normalize = false}),
                    "validation index 25 is outside the 20 examples");
}

}  // namespace
}  // namespace convkit
