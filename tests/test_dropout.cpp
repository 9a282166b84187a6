// Dropout and dropout2d: statistics of the mask, reproducibility from a seed, identity in eval,
// gradient = the same mask, argument errors.
#include <gtest/gtest.h>

#include <cmath>

#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::gradcheck;
using convkit::test::rand_var;

TEST(Dropout, FractionZeroedAndMeanPreserved) {
  for (double p : {0.1, 0.5, 0.8}) {
    Generator g(1);
    const int64_t n = 100000;
    Tensor y = dropout(Tensor::ones({n}), p, /*training=*/true, &g);
    int64_t zeros = 0;
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float v = y.data<float>()[i];
      zeros += v == 0.0f;
      sum += v;
      if (v != 0.0f) {
        ASSERT_FLOAT_EQ(v, float(1 / (1 - p)));  // kept values are scaled by 1/(1-p)
      }
    }
    // Binomial: std of the zero fraction sqrt(p(1-p)/n) <= 0.0016; 5 sigma tolerances.
    EXPECT_NEAR(double(zeros) / n, p, 0.008) << "p " << p;
    // std of the mean: sqrt(p/((1-p) n)) <= 0.0064 for p = 0.8.
    EXPECT_NEAR(sum / n, 1.0, 5 * std::sqrt(p / ((1 - p) * n))) << "p " << p;
  }
}

TEST(Dropout, SameSeedSameMask) {
  Tensor x = Tensor::randn({4, 50});
  Generator g1(7), g2(7), g3(8);
  Tensor a = dropout(x, 0.5, true, &g1), b = dropout(x, 0.5, true, &g2),
         c = dropout(x, 0.5, true, &g3);
  EXPECT_EQ(test::max_abs_diff(a, b), 0.0);
  EXPECT_GT(test::max_abs_diff(a, c), 0.0);
  // The default generator follows manual_seed.
  manual_seed(3);
  Tensor d = dropout(x, 0.5, true);
  manual_seed(3);
  Tensor e = dropout(x, 0.5, true);
  EXPECT_EQ(test::max_abs_diff(d, e), 0.0);
}

TEST(Dropout, EvalAndZeroProbabilityAreIdentity) {
  Tensor x = Tensor::randn({3, 4}).set_requires_grad(true);
  EXPECT_TRUE(dropout(x, 0.5, /*training=*/false).same_as(x));
  EXPECT_TRUE(dropout(x, /*p=*/0.0, true).same_as(x));
  Tensor maps = Tensor::randn({2, 3, 2, 2});
  EXPECT_TRUE(dropout2d(maps, 0.5, /*training=*/false).same_as(maps));
  EXPECT_TRUE(dropout2d(maps, /*p=*/0.0, true).same_as(maps));
}

TEST(Dropout, ProbabilityOneGivesZerosAndZeroGradient) {
  Tensor x = Tensor::randn({5, 6}).set_requires_grad(true);
  Tensor y = dropout(x, /*p=*/1.0, true);
  EXPECT_EQ(test::max_abs(y), 0.0);
  y.backward(Tensor::ones({5, 6}));
  EXPECT_EQ(test::max_abs(x.grad()), 0.0);
}

TEST(Dropout, BackwardUsesTheSameMask) {
  Generator g(11);
  Tensor x = Tensor::ones({200}).set_requires_grad(true);
  Tensor y = dropout(x, 0.3, true, &g);  // with x = 1, y is the mask itself
  y.backward(Tensor::full({200}, 2.0));
  EXPECT_EQ(test::max_abs_diff(x.grad(), y.detach() * 2.0), 0.0);
}

TEST(Dropout, Gradients) {
  // Re-seeding inside f gives every finite-difference evaluation the same mask.
  auto f = [](const TensorList& in) {
    Generator g(5);
    return dropout(in[0], 0.4, true, &g);
  };
  EXPECT_TRUE(gradcheck(f, {rand_var({3, 7}, 1)}));
  auto f2d = [](const TensorList& in) {
    Generator g(6);
    return dropout2d(in[0], 0.5, true, &g);
  };
  EXPECT_TRUE(gradcheck(f2d, {rand_var({3, 5, 2, 3}, 2)}));
}

TEST(Dropout, Dropout2dDropsWholeChannels) {
  Generator g(9);
  const double p = 0.3;
  Tensor y = dropout2d(Tensor::ones({50, 40, 3, 3}), p, true, &g);
  int64_t dropped = 0;
  for (int64_t n = 0; n < 50; ++n)
    for (int64_t c = 0; c < 40; ++c) {
      const double first = y.at({n, c, 0, 0});
      EXPECT_TRUE(first == 0.0 || std::abs(first - 1 / (1 - p)) < 1e-6);
      for (int64_t h = 0; h < 3; ++h)
        for (int64_t w = 0; w < 3; ++w)
          ASSERT_EQ(y.at({n, c, h, w}), first);  // one decision per map
      dropped += first == 0.0;
    }
  // 2000 maps: std of the fraction sqrt(.21/2000) = 0.010; 5 sigma.
  EXPECT_NEAR(double(dropped) / 2000, p, 0.05);
}

TEST(Dropout, Errors) {
  Tensor x = Tensor::randn({2, 3});
  EXPECT_THROW_WITH(dropout(x, 1.5, true), "dropout", "p must be in [0, 1]", "1.5", "[2,3]");
  EXPECT_THROW_WITH(dropout(x, -0.1, false), "dropout", "-0.1");
  EXPECT_THROW_WITH(dropout2d(x, 0.5, true), "dropout2d", "[N, C, H, W]", "[2,3]");
  EXPECT_THROW_WITH(dropout2d(Tensor::randn({2, 3, 4, 4}), 2.0, true), "dropout2d", "p must be");
}
