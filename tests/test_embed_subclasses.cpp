// Pseudo-identities by k-means inside each class, and the relabelling wrapper.
#include <gtest/gtest.h>

#include <set>

#include "convkit/embed/subclasses.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

// Class 0: two tight blobs (at 0 and at 10); class 1: one blob at -10. Examples interleaved.
data::DatasetPtr blobs() {
  std::vector<float> x;
  std::vector<int64_t> y;
  Generator gen(2);
  for (int i = 0; i < 30; ++i) {
    const int group = i % 3;  // 0, 1: class 0's blobs; 2: class 1
    const float centre = group == 0 ? 0.f : group == 1 ? 10.f : -10.f;
    for (int k = 0; k < 4; ++k) x.push_back(centre + float(gen.normal(0, 0.1)));
    y.push_back(group == 2 ? 1 : 0);
  }
  return std::make_shared<data::TensorDataset>(Tensor::from_vector(x, {30, 4}),
                                               Tensor::from_vector(y, {30}), 2);
}

TEST(Subclasses, KMeansSplitsEachClassIntoItsBlobs) {
  const data::DatasetPtr ds = blobs();
  const std::vector<int64_t> l = embed::subclass_labels(*ds, /*per_class=*/2, /*seed=*/1);
  // Class 0's two blobs get the two labels 0 and 1, one each; class 1's examples get 2 or 3.
  std::set<int64_t> blob0, blob1;
  for (int i = 0; i < 30; ++i) {
    if (i % 3 == 0) blob0.insert(l[size_t(i)]);
    if (i % 3 == 1) blob1.insert(l[size_t(i)]);
    if (i % 3 == 2) {
      EXPECT_TRUE(l[size_t(i)] == 2 || l[size_t(i)] == 3) << i;
    }
  }
  ASSERT_EQ(blob0.size(), 1u);
  ASSERT_EQ(blob1.size(), 1u);
  EXPECT_NE(*blob0.begin(), *blob1.begin());
  EXPECT_LT(*blob0.begin(), 2);
  EXPECT_LT(*blob1.begin(), 2);
  EXPECT_EQ(embed::subclass_labels(*ds, 2, 1), l);  // seeded
  EXPECT_THROW_WITH(embed::subclass_labels(*ds, 0, 1), "per_class");
}

TEST(Subclasses, RelabelledReplacesOnlyTheLabels) {
  const data::DatasetPtr ds = blobs();
  std::vector<int64_t> l(30);
  for (int i = 0; i < 30; ++i) l[size_t(i)] = 29 - i;
  embed::Relabelled r(ds, l);
  EXPECT_EQ(r.num_classes(), 30);
  const data::Batch b = r.get_batch({3, 7});
  EXPECT_EQ(b.labels.at({0}), 26);
  EXPECT_EQ(b.labels.at({1}), 22);
  EXPECT_EQ(test::max_abs_diff(b.inputs, ds->get_batch({3, 7}).inputs), 0.0);
  EXPECT_THROW_WITH(embed::Relabelled(ds, {1, 2}), "2 labels", "30 examples");
}

}  // namespace
}  // namespace convkit
