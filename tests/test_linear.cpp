#include <gtest/gtest.h>

#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::compare_backends;
using convkit::test::gradcheck;
using convkit::test::rand_var;

namespace {
// Naive product in double, independent of every kernel: the oracle for matmul values.
double dot_at(const Tensor& a, const Tensor& b, int64_t bi, int64_t m, int64_t n) {
  double acc = 0;
  for (int64_t k = 0; k < a.size(-1); ++k) {
    double av = a.ndim() == 3 ? a.at({a.size(0) == 1 ? 0 : bi, m, k}) : a.at({m, k});
    double bv = b.ndim() == 3 ? b.at({b.size(0) == 1 ? 0 : bi, k, n}) : b.at({k, n});
    acc += av * bv;
  }
  return acc;
}
Tensor randn32(const Shape& s, uint64_t seed) {
  Generator g(seed);
  return Tensor::randn(s, &g);
}
}  // namespace

TEST(Linear, MatmulValuesAndShapes) {
  struct Case {
    Shape a, b, out;
  };
  for (const Case& c : std::vector<Case>{{{3, 5}, {5, 4}, {3, 4}},
                                         {{2, 3, 5}, {2, 5, 7}, {2, 3, 7}},
                                         {{3, 5}, {4, 5, 2}, {4, 3, 2}},
                                         {{4, 3, 5}, {5, 2}, {4, 3, 2}},
                                         {{1, 3, 5}, {4, 5, 2}, {4, 3, 2}}}) {
    Tensor a = randn32(c.a, 1), b = randn32(c.b, 2);
    Tensor y = matmul(a, b);
    ASSERT_EQ(y.shape(), c.out) << c.a.to_string() << c.b.to_string();
    for (int64_t bi = 0; bi < (y.ndim() == 3 ? y.size(0) : 1); ++bi)
      for (int64_t m = 0; m < y.size(-2); ++m)
        for (int64_t n = 0; n < y.size(-1); ++n) {
          double got = y.ndim() == 3 ? y.at({bi, m, n}) : y.at({m, n});
          EXPECT_NEAR(got, dot_at(a, b, bi, m, n), 1e-5) << c.a.to_string() << c.b.to_string();
        }
  }
}

TEST(Linear, MatmulErrors) {
  EXPECT_THROW_WITH(matmul(Tensor::ones({3, 4}), Tensor::ones({5, 2})), "matmul", "inner sizes",
                    "[3,4]", "[5,2]");
  EXPECT_THROW_WITH(matmul(Tensor::ones({2, 3, 4}), Tensor::ones({3, 4, 2})), "matmul", "batch",
                    "[2,3,4]", "[3,4,2]");
  EXPECT_THROW_WITH(matmul(Tensor::ones({4}), Tensor::ones({4, 2})), "matmul", "2-D or 3-D", "[4]");
  EXPECT_THROW_WITH(matmul(Tensor::ones({3, 4}), Tensor::ones({4, 2}, DType::f64)), "matmul",
                    "float32", "float64");
}

TEST(Linear, MatmulGradients) {
  for (auto [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{3, 5}, {5, 4}},
                                                            {{2, 3, 5}, {2, 5, 7}},
                                                            {{3, 5}, {3, 5, 2}},
                                                            {{3, 3, 5}, {5, 2}},
                                                            {{1, 3, 5}, {2, 5, 3}},
                                                            {{2, 3, 5}, {1, 5, 3}}}) {
    EXPECT_TRUE(gradcheck([](const TensorList& in) { return matmul(in[0], in[1]); },
                          {rand_var(sa, 1), rand_var(sb, 2)}))
        << sa.to_string() << sb.to_string();
  }
}

TEST(Linear, MatmulBackendsAgree) {
  for (auto [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{17, 33}, {33, 9}},
                                                            {{3, 8, 16}, {3, 16, 5}},
                                                            {{8, 16}, {3, 16, 5}},
                                                            {{3, 8, 16}, {16, 5}},
                                                            {{64, 128}, {128, 96}}}) {
    Tensor a = randn32(sa, 3).set_requires_grad(true), b = randn32(sb, 4).set_requires_grad(true);
    EXPECT_TRUE(compare_backends([](const TensorList& in) { return matmul(in[0], in[1]); }, {a, b}))
        << sa.to_string() << sb.to_string();
  }
}

TEST(Linear, LinearValues) {
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = Tensor::from_vector<float>({1, 0, -1, 2, 1, 0}, {2, 3});
  Tensor b = Tensor::from_vector<float>({0.5f, -1}, {2});
  Tensor y = linear(x, w, b);
  ASSERT_EQ(y.shape(), Shape({2, 2}));
  EXPECT_FLOAT_EQ(y.at({0, 0}), 1 - 3 + 0.5f);
  EXPECT_FLOAT_EQ(y.at({0, 1}), 2 + 2 - 1);
  EXPECT_FLOAT_EQ(y.at({1, 0}), 4 - 6 + 0.5f);
  EXPECT_FLOAT_EQ(y.at({1, 1}), 8 + 5 - 1);
  EXPECT_FLOAT_EQ(linear(x, w).at({1, 1}), 8 + 5);
  // Leading dims are flattened and restored.
  Tensor x3 = randn32({2, 3, 5}, 5), w3 = randn32({4, 5}, 6);
  Tensor y3 = linear(x3, w3);
  ASSERT_EQ(y3.shape(), Shape({2, 3, 4}));
  EXPECT_NEAR(y3.at({1, 2, 3}), linear(x3.select(1), w3).at({2, 3}), 1e-6);
}

TEST(Linear, LinearErrors) {
  Tensor x = Tensor::ones({4, 3});
  EXPECT_THROW_WITH(linear(x, Tensor::ones({5, 2})), "linear", "3 features", "expects 2", "[4,3]",
                    "[5,2]");
  EXPECT_THROW_WITH(linear(x, Tensor::ones({5, 3, 1})), "linear", "[out, in]", "[5,3,1]");
  EXPECT_THROW_WITH(linear(x, Tensor::ones({5, 3}), Tensor::ones({4})), "linear", "bias", "[5]",
                    "[4]");
  EXPECT_THROW_WITH(linear(x, Tensor::ones({5, 3}, DType::f64)), "linear", "float32", "float64");
}

TEST(Linear, LinearGradients) {
  auto with_bias = [](const TensorList& in) { return linear(in[0], in[1], in[2]); };
  auto no_bias = [](const TensorList& in) { return linear(in[0], in[1]); };
  EXPECT_TRUE(gradcheck(with_bias, {rand_var({3, 5}, 1), rand_var({7, 5}, 2), rand_var({7}, 3)}));
  EXPECT_TRUE(gradcheck(no_bias, {rand_var({3, 5}, 4), rand_var({7, 5}, 5)}));
  EXPECT_TRUE(
      gradcheck(with_bias, {rand_var({2, 3, 5}, 6), rand_var({4, 5}, 7), rand_var({4}, 8)}));
  // Only the weight requires grad (frozen input): the bias-free path of backward-weights.
  Tensor x = rand_var({3, 5}, 9);
  x.set_requires_grad(false);
  EXPECT_TRUE(gradcheck(no_bias, {x, rand_var({2, 5}, 10)}));
}

TEST(Linear, LinearBackendsAgree) {
  auto with_bias = [](const TensorList& in) { return linear(in[0], in[1], in[2]); };
  auto no_bias = [](const TensorList& in) { return linear(in[0], in[1]); };
  for (auto [n, in, out] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {1, 3, 2}, {7, 13, 5}, {32, 128, 10}, {64, 400, 120}}) {
    Tensor x = randn32({n, in}, 1).set_requires_grad(true);
    Tensor w = randn32({out, in}, 2).set_requires_grad(true);
    Tensor b = randn32({out}, 3).set_requires_grad(true);
    EXPECT_TRUE(compare_backends(with_bias, {x, w, b})) << n << "x" << in << "->" << out;
    EXPECT_TRUE(compare_backends(no_bias, {x, w})) << n << "x" << in << "->" << out;
  }
}

TEST(Linear, GoldenPytorchParity) {
  auto f = test::load_golden("dense_linear");
  Tensor x = test::golden_tensor(f, "x").set_requires_grad(true);
  Tensor w = test::golden_tensor(f, "w").set_requires_grad(true);
  Tensor b = test::golden_tensor(f, "b").set_requires_grad(true);
  Tensor y = linear(x, w, b);
  EXPECT_LE(test::rel_error(y, test::golden_tensor(f, "y")), 1e-4);
  y.backward(test::golden_tensor(f, "dy"));
  EXPECT_LE(test::rel_error(x.grad(), test::golden_tensor(f, "dx")), 1e-4);
  EXPECT_LE(test::rel_error(w.grad(), test::golden_tensor(f, "dw")), 1e-4);
  EXPECT_LE(test::rel_error(b.grad(), test::golden_tensor(f, "db")), 1e-4);
}

TEST(Linear, EmptyInnerDimensionGivesZeros) {
  Tensor y = matmul(Tensor::ones({3, 0}), Tensor::ones({0, 4}));
  ASSERT_EQ(y.shape(), Shape({3, 4}));
  EXPECT_EQ(test::max_abs(y), 0.0);
  Tensor l = linear(Tensor::ones({2, 0}), Tensor::ones({5, 0}), Tensor::full({5}, 2.0));
  ASSERT_EQ(l.shape(), Shape({2, 5}));
  EXPECT_EQ(l.at({1, 4}), 2.0);
}

TEST(Linear, NoGradForwardMatchesTrainingForward) {
  // Under no-grad the oneDNN path builds forward_inference primitives; results must not change.
  Tensor x = randn32({9, 20}, 1).set_requires_grad(true), w = randn32({6, 20}, 2),
         b = randn32({6}, 3);
  Tensor trained = linear(x, w, b);
  NoGradGuard no_grad;
  EXPECT_LE(test::max_abs_diff(linear(x, w, b), trained), 1e-6);
}
