#include <gtest/gtest.h>

#include <limits>

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

// Issue 16 item 1: every comparison with NaN is false, so a row of NaN scores used to count as
// correct for any k (a diverged model scored 100%). Non-finite rows are wrong, everywhere.
TEST(Metrics, NonFiniteScoresCountAsWrong) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Tensor logits = Tensor::from_vector<float>({nan, nan, nan,    // all NaN
                                              0.1f, nan, 0.2f,  // one NaN, label would "win"
                                              inf, 0.0f, 0.0f,  // +inf on the label
                                              0.0f, 2.0f, 1.0f},
                                             {4, 3});
  Tensor labels = Tensor::from_vector<int64_t>({0, 2, 0, 1}, {4});
  EXPECT_EQ(topk_correct(logits, labels, 1), 1);  // only the finite last row
  EXPECT_EQ(topk_correct(logits, labels, 3), 1);  // k = C used to count every row
  EXPECT_EQ(topk_correct(logits.to(DType::f64), labels, 5), 1);

  ConfusionMatrix cm(3);
  cm.add(logits, labels);
  EXPECT_EQ(cm.total(), 4);
  EXPECT_EQ(cm.non_finite(), 3);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 0.25);
  int64_t in_matrix = 0;
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) in_matrix += cm.count(i, j);
  EXPECT_EQ(in_matrix, 1);
  const auto r = cm.per_class();
  EXPECT_EQ(r[0].support, 2);  // both class-0 rows were non-finite: misses
  EXPECT_DOUBLE_EQ(r[0].recall, 0.0);
  EXPECT_DOUBLE_EQ(r[1].recall, 1.0);
  EXPECT_NE(cm.to_string().find("non-finite"), std::string::npos) << cm.to_string();
  EXPECT_THROW_WITH(cm.add_non_finite(3), "true class 3");

  RunningMetrics m;
  m.add(0.5, logits, labels);
  EXPECT_DOUBLE_EQ(m.top1(), 0.25);
  EXPECT_DOUBLE_EQ(m.top5(), 0.25);
}
