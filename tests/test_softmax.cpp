#include <gtest/gtest.h>

#include <cmath>

#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::compare_backends;
using convkit::test::gradcheck;
using convkit::test::rand_var;

TEST(Softmax, ValuesAlongEachDim) {
  Generator g(5);
  Tensor x = mul(Tensor::randn({3, 4, 5}, &g), 3.0);
  for (int dim : {0, 1, 2, -1}) {
    Tensor y = softmax(x, dim), ly = log_softmax(x, dim);
    const int d = dim < 0 ? dim + 3 : dim;
    // Direct formula per slice, in double, as the oracle.
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 4; ++j)
        for (int64_t k = 0; k < 5; ++k) {
          std::vector<int64_t> idx{i, j, k};
          double denom = 0;
          for (int64_t a = 0; a < x.size(d); ++a) {
            auto jdx = idx;
            jdx[d] = a;
            denom += std::exp(x.at({jdx[0], jdx[1], jdx[2]}));
          }
          const double v = x.at({i, j, k});
          EXPECT_NEAR(y.at({i, j, k}), std::exp(v) / denom, 1e-6) << "dim " << dim;
          EXPECT_NEAR(ly.at({i, j, k}), v - std::log(denom), 1e-5) << "dim " << dim;
        }
  }
}

TEST(Softmax, LargeLogitsDoNotOverflow) {
  Tensor x = Tensor::from_vector<float>({1000, 1001, 999, -1000}, {1, 4});
  Tensor y = softmax(x, 1), ly = log_softmax(x, 1);
  const double s = 1 + std::exp(1.0) + std::exp(-1.0);
  EXPECT_NEAR(y.at({0, 1}), std::exp(1.0) / s, 1e-6);
  EXPECT_EQ(y.at({0, 3}), 0.0);
  EXPECT_NEAR(ly.at({0, 1}), 1 - std::log(s), 1e-5);
  EXPECT_NEAR(ly.at({0, 3}), -2000 - std::log(s), 1e-2);  // finite, not -inf
}

TEST(Softmax, Errors) {
  EXPECT_THROW_WITH(softmax(Tensor::ones({2, 3}), 2), "softmax", "dimension 2", "[2,3]");
  EXPECT_THROW_WITH(log_softmax(Tensor::ones({2, 3}), -3), "log_softmax", "dimension -3", "[2,3]");
  EXPECT_THROW_WITH(softmax(Tensor::zeros({2, 3}, DType::i64), 1), "softmax", "int64");
}

TEST(Softmax, Gradients) {
  for (int dim : {0, 1, -1}) {
    EXPECT_TRUE(gradcheck([dim](const TensorList& in) { return softmax(in[0], dim); },
                          {rand_var({3, 4, 5}, 1)}))
        << "softmax dim " << dim;
    EXPECT_TRUE(gradcheck([dim](const TensorList& in) { return log_softmax(in[0], dim); },
                          {rand_var({3, 4, 5}, 2)}))
        << "log_softmax dim " << dim;
  }
}

TEST(Softmax, BackendsAgree) {
  for (const Shape& s : {Shape{7, 10}, Shape{4, 3, 5, 6}, Shape{64, 1000}}) {
    for (int dim : {0, 1, -1}) {
      Generator g(9);
      Tensor x = mul(Tensor::randn(s, &g), 3.0).set_requires_grad(true);
      EXPECT_TRUE(
          compare_backends([dim](const TensorList& in) { return softmax(in[0], dim); }, {x}))
          << "softmax " << s.to_string() << " dim " << dim;
      EXPECT_TRUE(
          compare_backends([dim](const TensorList& in) { return log_softmax(in[0], dim); }, {x}))
          << "log_softmax " << s.to_string() << " dim " << dim;
    }
  }
}

TEST(Softmax, GoldenPytorchParity) {
  auto f = test::load_golden("dense_softmax");
  Tensor x = test::golden_tensor(f, "x");
  Tensor dy = test::golden_tensor(f, "dy");
  for (int dim : {0, 1, 2}) {
    for (bool log : {false, true}) {
      const std::string name =
          std::string(log ? "log_softmax" : "softmax") + "_d" + std::to_string(dim);
      Tensor xv = x.clone().set_requires_grad(true);
      Tensor y = log ? log_softmax(xv, dim) : softmax(xv, dim);
      EXPECT_LE(test::rel_error(y, test::golden_tensor(f, name)), 1e-4) << name;
      y.backward(dy);
      EXPECT_LE(test::rel_error(xv.grad(), test::golden_tensor(f, "d" + name)), 1e-4) << name;
    }
  }
}

TEST(Softmax, NoGradForwardMatchesTrainingForward) {
  // Under no-grad the oneDNN path builds forward_inference primitives; results must not change.
  Generator g(2);
  Tensor x = Tensor::randn({6, 11}, &g).set_requires_grad(true);
  Tensor s = softmax(x, 1), ls = log_softmax(x, 0);
  NoGradGuard no_grad;
  EXPECT_LE(test::max_abs_diff(softmax(x, 1), s), 1e-7);
  EXPECT_LE(test::max_abs_diff(log_softmax(x, 0), ls), 1e-6);
}
