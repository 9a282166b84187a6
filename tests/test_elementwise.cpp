#include <gtest/gtest.h>

#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::gradcheck;
using convkit::test::rand_var;

TEST(Elementwise, BroadcastingValues) {
  Tensor a = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = Tensor::from_vector<float>({10, 20, 30}, {3});
  Tensor c = Tensor::from_vector<float>({100, 200}, {2, 1});
  Tensor ab = a + b;
  EXPECT_EQ(ab.at({1, 2}), 36.0);
  Tensor ac = a * c;
  EXPECT_EQ(ac.at({1, 0}), 800.0);
  EXPECT_EQ((a - 1.0).at({0, 0}), 0.0);
  EXPECT_EQ((a / b).at({0, 1}), 0.1f);
  EXPECT_THROW_WITH(a + Tensor::ones({2}), "add", "[2,3]", "[2]");
  EXPECT_THROW_WITH(a + Tensor::ones({3}, DType::f64), "add", "float32", "float64");
}

TEST(Elementwise, GradientsWithBroadcasting) {
  auto run = [](auto op, Shape sa, Shape sb) {
    return gradcheck([op](const TensorList& in) { return op(in[0], in[1]); },
                     {rand_var(sa, 1), rand_var(sb, 2)});
  };
  auto add_f = [](const Tensor& a, const Tensor& b) { return a + b; };
  auto sub_f = [](const Tensor& a, const Tensor& b) { return a - b; };
  auto mul_f = [](const Tensor& a, const Tensor& b) { return a * b; };
  auto div_f = [](const Tensor& a, const Tensor& b) { return a / (b * b + 1.0); };
  for (auto [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{2, 3}, {2, 3}},
                                                            {{2, 3}, {3}},
                                                            {{2, 1, 4}, {3, 1}},
                                                            {{1}, {2, 2}},
                                                            {{2, 3, 1, 1}, {3, 5, 5}}}) {
    EXPECT_TRUE(run(add_f, sa, sb)) << sa.to_string() << sb.to_string();
    EXPECT_TRUE(run(sub_f, sa, sb)) << sa.to_string() << sb.to_string();
    EXPECT_TRUE(run(mul_f, sa, sb)) << sa.to_string() << sb.to_string();
    EXPECT_TRUE(run(div_f, sa, sb)) << sa.to_string() << sb.to_string();
  }
}

TEST(Elementwise, UnaryGradients) {
  auto positive = [](const TensorList& in) { return in[0] * in[0] + 0.5; };
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return exp(in[0]); }, {rand_var({3, 5}, 1)}));
  EXPECT_TRUE(
      gradcheck([&](const TensorList& in) { return log(positive(in)); }, {rand_var({7}, 2)}));
  EXPECT_TRUE(
      gradcheck([&](const TensorList& in) { return sqrt(positive(in)); }, {rand_var({7}, 3)}));
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return abs(in[0]); }, {rand_var({9}, 4)}));
  EXPECT_TRUE(
      gradcheck([&](const TensorList& in) { return pow(positive(in), 1.5); }, {rand_var({6}, 5)}));
  EXPECT_TRUE(
      gradcheck([](const TensorList& in) { return -in[0] * 3.0 - 1.0; }, {rand_var({4}, 6)}));
}

TEST(Elementwise, BackendsAgree) {
  Tensor a = Tensor::randn({64, 128}).set_requires_grad(true);
  Tensor b = Tensor::randn({64, 128}).set_requires_grad(true);
  EXPECT_TRUE(test::compare_backends([](const TensorList& in) { return in[0] + in[1]; }, {a, b}));
}

TEST(Reduce, SumAndMean) {
  Tensor t = Tensor::arange(24).reshape({2, 3, 4});
  EXPECT_EQ(sum(t).item(), 276.0);
  Tensor s = sum(t, {0, 2});
  EXPECT_EQ(s.shape(), Shape({3}));
  EXPECT_EQ(s.at({0}), 0 + 1 + 2 + 3 + 12 + 13 + 14 + 15);
  EXPECT_EQ(sum(t, {-1}, true).shape(), Shape({2, 3, 1}));
  EXPECT_EQ(mean(t, {1}).at({1, 3}), (15 + 19 + 23) / 3.0);
  EXPECT_THROW_WITH(sum(t, {3}), "sum", "dimension 3");
  EXPECT_THROW_WITH(sum(t, {1, -2}), "listed twice");
  EXPECT_TRUE(gradcheck(
      [](const TensorList& in) {
        return sum(in[0], {1, 3});
      },
      {rand_var({2, 3, 4, 5}, 1)}));
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return mean(in[0], {0}, true); },
                        {rand_var({3, 4}, 2)}));
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return mean(in[0]); }, {rand_var({3, 4}, 3)}));
}
