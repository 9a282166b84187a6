#include <gtest/gtest.h>

#include "convkit/metrics/classification.h"
#include "support/gradcheck.h"

using namespace convkit;
using namespace convkit::metrics;

TEST(Metrics, TopK) {
  Tensor logits = Tensor::from_vector<float>({0.1f, 0.5f, 0.2f, 0.9f,   // order 3,1,2,0
                                              0.3f, 0.3f, 0.1f, 0.0f},  // tie 0,1
                                             {2, 4});
  Tensor labels = Tensor::from_vector<int64_t>({2, 1}, {2});
  EXPECT_EQ(topk_correct(logits, labels, 1), 0);
  EXPECT_EQ(topk_correct(logits, labels, 2), 1);  // row 1: label 1 ties with 0, lower index first
  EXPECT_EQ(topk_correct(logits, labels, 3), 2);
  EXPECT_EQ(argmax_rows(logits).at({0}), 3);
  EXPECT_THROW_WITH(topk_correct(logits, Tensor::from_vector<int64_t>({7, 0}, {2}), 1), "label 7",
                    "row 0");
  EXPECT_THROW_WITH(topk_correct(logits, Tensor::zeros({3}, DType::i64), 1), "[2]");
}

TEST(Metrics, ConfusionMatrixReports) {
  ConfusionMatrix cm(3);
  // truth, predicted
  for (auto [t, p] :
       std::vector<std::pair<int, int>>{{0, 0}, {0, 0}, {0, 1}, {1, 1}, {2, 1}, {2, 2}})
    cm.add(t, p);
  EXPECT_EQ(cm.total(), 6);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 4.0 / 6.0);
  auto r = cm.per_class();
  EXPECT_DOUBLE_EQ(r[0].precision, 1.0);
  EXPECT_DOUBLE_EQ(r[0].recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r[1].precision, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(r[1].recall, 1.0);
  EXPECT_DOUBLE_EQ(r[1].f1, 0.5);
  EXPECT_EQ(r[2].support, 2);
  EXPECT_EQ(cm.matrix().at({2, 1}), 1);
  std::string s = cm.to_string({"cat", "dog", "bird"});
  EXPECT_NE(s.find("bird"), std::string::npos);
  EXPECT_NE(s.find("accuracy 0.6667"), std::string::npos);
  EXPECT_THROW_WITH(cm.add(3, 0), "true 3", "3 classes");
}
