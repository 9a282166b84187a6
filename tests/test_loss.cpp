#include <gtest/gtest.h>

#include <cmath>

#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::compare_backends;
using convkit::test::gradcheck;
using convkit::test::rand_var;

namespace {
const Reduction kReductions[] = {Reduction::mean, Reduction::sum, Reduction::none};
const char* name(Reduction r) {
  return r == Reduction::mean ? "mean" : r == Reduction::sum ? "sum" : "none";
}
Tensor labels(const std::vector<int64_t>& v, const Shape& s) {
  return Tensor::from_vector<int64_t>(v, s);
}
Tensor golden(const io::SafetensorsFile& f, const std::string& key) {
  return test::golden_tensor(f, key);
}
}  // namespace

TEST(Loss, CrossEntropyValues) {
  Tensor logits = Tensor::from_vector<float>({1, 2, 3, -1, 0, 4}, {2, 3});
  Tensor target = labels({2, 0}, {2});
  for (double eps : {0.0, 0.1}) {
    Tensor none = cross_entropy(logits, target, eps, Reduction::none);
    ASSERT_EQ(none.shape(), Shape({2}));
    double total = 0;
    for (int64_t n = 0; n < 2; ++n) {
      double lse = 0;
      for (int64_t c = 0; c < 3; ++c) lse += std::exp(logits.at({n, c}));
      lse = std::log(lse);
      double expected = 0;
      for (int64_t c = 0; c < 3; ++c) {
        const double q = (c == target.at({n}) ? 1 - eps : 0) + eps / 3;
        expected -= q * (logits.at({n, c}) - lse);
      }
      EXPECT_NEAR(none.at({n}), expected, 1e-5) << "eps " << eps;
      total += expected;
    }
    EXPECT_NEAR(cross_entropy(logits, target, eps).item(), total / 2, 1e-5);
    EXPECT_NEAR(cross_entropy(logits, target, eps, Reduction::sum).item(), total, 1e-5);
  }
}

TEST(Loss, CrossEntropyErrors) {
  Tensor logits = Tensor::zeros({4, 5});
  EXPECT_THROW_WITH(cross_entropy(logits, labels({0, 1, 7, 2}, {4})), "cross_entropy", "label 7",
                    "target[2]", "[0, 5)");
  EXPECT_THROW_WITH(cross_entropy(logits, labels({0, -1, 2, 2}, {4})), "label -1", "target[1]");
  EXPECT_THROW_WITH(cross_entropy(logits, labels({0, 1, 2}, {3})), "cross_entropy", "[3]", "[4,5]");
  EXPECT_THROW_WITH(cross_entropy(logits, Tensor::zeros({4})), "cross_entropy", "int64", "float32");
  EXPECT_THROW_WITH(cross_entropy(logits, labels({0, 1, 2, 3}, {4}), 1.5), "cross_entropy",
                    "label_smoothing", "1.5");
  EXPECT_THROW_WITH(cross_entropy(Tensor::zeros({4}), labels({0, 1, 2, 3}, {4})), "cross_entropy",
                    "[N, C]", "[4]");
  EXPECT_THROW_WITH(
      cross_entropy(Tensor::zeros({2, 3, 2, 2}), labels({0, 1, 2, 3, 0, 0, 0, 0}, {2, 2, 2})),
      "label 3", "target[0,1,1]");
}

TEST(Loss, CrossEntropyGradients) {
  Tensor target = labels({0, 4, 2, 2, 1}, {5});
  for (double eps : {0.0, 0.1})
    for (Reduction r : kReductions)
      EXPECT_TRUE(
          gradcheck([&](const TensorList& in) { return cross_entropy(in[0], target, eps, r); },
                    {rand_var({5, 5}, 1, 2.0)}))
          << "eps " << eps << " " << name(r);
  Tensor pix_target = labels({0, 2, 1, 1, 2, 0, 0, 1, 2, 2, 1, 0}, {2, 2, 3});
  EXPECT_TRUE(gradcheck([&](const TensorList& in) { return cross_entropy(in[0], pix_target, 0.2); },
                        {rand_var({2, 3, 2, 3}, 2)}));
}

TEST(Loss, SoftCrossEntropyGradients) {
  for (Reduction r : kReductions)
    EXPECT_TRUE(gradcheck([r](const TensorList& in) { return soft_cross_entropy(in[0], in[1], r); },
                          {rand_var({4, 3}, 1), rand_var({4, 3}, 2)}))
        << name(r);
  EXPECT_TRUE(gradcheck([](const TensorList& in) { return soft_cross_entropy(in[0], in[1]); },
                        {rand_var({2, 3, 2, 2}, 3), rand_var({2, 3, 2, 2}, 4)}));
  EXPECT_THROW_WITH(soft_cross_entropy(Tensor::zeros({4, 3}), Tensor::zeros({4, 2})),
                    "soft_cross_entropy", "[4,3]", "[4,2]");
}

TEST(Loss, CrossEntropyMatchesSoftFormWithOneHot) {
  // Two independent code paths: integer labels vs. their smoothed one-hot as soft targets.
  Generator g(4);
  Tensor logits = Tensor::randn({6, 4}, &g);
  Tensor target = labels({3, 0, 1, 1, 2, 0}, {6});
  const double eps = 0.1;
  Tensor q = Tensor::full({6, 4}, eps / 4);
  for (int64_t n = 0; n < 6; ++n) q.data<float>()[n * 4 + int64_t(target.at({n}))] += 1 - eps;
  EXPECT_LE(test::max_abs_diff(cross_entropy(logits, target, eps, Reduction::none),
                               soft_cross_entropy(logits, q, Reduction::none)),
            1e-5);
}

TEST(Loss, CrossEntropyBackendsAgree) {
  for (auto [n, c] : std::vector<std::pair<int64_t, int64_t>>{{5, 3}, {32, 10}, {64, 1000}}) {
    std::vector<int64_t> t(n);
    for (int64_t i = 0; i < n; ++i) t[i] = (i * 7 + 3) % c;
    Tensor target = labels(t, {n});
    Generator g(5);
    Tensor logits = mul(Tensor::randn({n, c}, &g), 3.0).set_requires_grad(true);
    for (double eps : {0.0, 0.1})
      EXPECT_TRUE(compare_backends(
          [&](const TensorList& in) { return cross_entropy(in[0], target, eps); }, {logits}))
          << n << "x" << c << " eps " << eps;
    Tensor soft = softmax(Tensor::randn({n, c}, &g), 1).set_requires_grad(true);
    EXPECT_TRUE(compare_backends(
        [](const TensorList& in) { return soft_cross_entropy(in[0], in[1], Reduction::none); },
        {logits, soft}))
        << n << "x" << c;
  }
}

TEST(Loss, RegressionLossGradients) {
  for (Reduction r : kReductions) {
    EXPECT_TRUE(gradcheck([r](const TensorList& in) { return mse_loss(in[0], in[1], r); },
                          {rand_var({3, 5}, 1), rand_var({3, 5}, 2)}))
        << name(r);
    for (double beta : {1.0, 0.5, 0.0})
      EXPECT_TRUE(gradcheck(
          [r, beta](const TensorList& in) { return smooth_l1_loss(in[0], in[1], beta, r); },
          {rand_var({3, 5}, 3), rand_var({3, 5}, 4)}))
          << name(r) << " beta " << beta;
  }
  EXPECT_THROW_WITH(mse_loss(Tensor::zeros({3, 5}), Tensor::zeros({5, 3})), "mse_loss", "[3,5]",
                    "[5,3]");
  EXPECT_THROW_WITH(smooth_l1_loss(Tensor::zeros({3}), Tensor::zeros({4})), "smooth_l1_loss", "[3]",
                    "[4]");
  EXPECT_THROW_WITH(smooth_l1_loss(Tensor::zeros({3}), Tensor::zeros({3}), -1.0), "smooth_l1_loss",
                    "beta", "-1");
}

TEST(Loss, BceWithLogitsIsStableAndDifferentiable) {
  // Extreme logits: the naive -t log(sigmoid(x)) - (1-t) log(1 - sigmoid(x)) gives inf here.
  Tensor x = Tensor::from_vector<float>({100, -100, 0}, {3});
  Tensor t = Tensor::from_vector<float>({0, 1, 1}, {3});
  Tensor l = binary_cross_entropy_with_logits(x, t, Reduction::none);
  EXPECT_NEAR(l.at({0}), 100, 1e-4);
  EXPECT_NEAR(l.at({1}), 100, 1e-4);
  EXPECT_NEAR(l.at({2}), std::log(2.0), 1e-6);
  for (Reduction r : kReductions) {
    EXPECT_TRUE(gradcheck(
        [r](const TensorList& in) { return binary_cross_entropy_with_logits(in[0], in[1], r); },
        {rand_var({4, 3}, 1, 3.0), rand_var({4, 3}, 2)}))
        << name(r);
    Tensor pw = rand_var({3}, 3);
    pw.set_requires_grad(false);
    EXPECT_TRUE(gradcheck(
        [r, pw](const TensorList& in) {
          return binary_cross_entropy_with_logits(in[0], in[1], r, pw);
        },
        {rand_var({4, 3}, 4, 3.0), rand_var({4, 3}, 5)}))
        << name(r) << " pos_weight";
  }
  EXPECT_THROW_WITH(binary_cross_entropy_with_logits(Tensor::zeros({4, 3}), Tensor::zeros({4, 2})),
                    "binary_cross_entropy_with_logits", "[4,3]", "[4,2]");
  EXPECT_THROW_WITH(binary_cross_entropy_with_logits(Tensor::zeros({4, 3}), Tensor::zeros({4, 3}),
                                                     Reduction::mean, Tensor::ones({2})),
                    "binary_cross_entropy_with_logits", "[2]", "[4,3]");
}

TEST(Loss, GoldenCrossEntropy) {
  auto f = test::load_golden("loss_cross_entropy");
  Tensor target = golden(f, "target");
  for (auto [tag, eps] : {std::pair{"ls0", 0.0}, std::pair{"ls01", 0.1}}) {
    for (Reduction r : kReductions) {
      const std::string key = std::string(tag) + "_" + name(r);
      Tensor logits = golden(f, "logits").clone().set_requires_grad(true);
      Tensor loss = cross_entropy(logits, target, eps, r);
      EXPECT_LE(test::rel_error(loss, golden(f, "loss_" + key)), 1e-4) << key;
      loss.backward(Tensor::ones(loss.shape()));
      EXPECT_LE(test::rel_error(logits.grad(), golden(f, "dlogits_" + key)), 1e-4) << key;
    }
  }
  Tensor pix = golden(f, "pix_logits").clone().set_requires_grad(true);
  Tensor loss = cross_entropy(pix, golden(f, "pix_target"), 0.1);
  EXPECT_LE(test::rel_error(loss, golden(f, "pix_loss")), 1e-4);
  loss.backward();
  EXPECT_LE(test::rel_error(pix.grad(), golden(f, "pix_dlogits")), 1e-4);

  Tensor logits = golden(f, "logits").clone().set_requires_grad(true);
  Tensor soft = golden(f, "soft_target").clone().set_requires_grad(true);
  loss = soft_cross_entropy(logits, soft);
  EXPECT_LE(test::rel_error(loss, golden(f, "soft_loss")), 1e-4);
  loss.backward();
  EXPECT_LE(test::rel_error(logits.grad(), golden(f, "soft_dlogits")), 1e-4);
  EXPECT_LE(test::rel_error(soft.grad(), golden(f, "soft_dtarget")), 1e-4);
}

TEST(Loss, GoldenBceWithLogits) {
  auto f = test::load_golden("loss_bce_with_logits");
  auto check = [&](Reduction r, const Tensor& pw, const std::string& key) {
    Tensor x = golden(f, "logits").clone().set_requires_grad(true);
    Tensor t = golden(f, "target").clone().set_requires_grad(true);
    Tensor loss = binary_cross_entropy_with_logits(x, t, r, pw);
    EXPECT_LE(test::rel_error(loss, golden(f, "loss_" + key)), 1e-4) << key;
    loss.backward(Tensor::ones(loss.shape()));
    EXPECT_LE(test::rel_error(x.grad(), golden(f, "dlogits_" + key)), 1e-4) << key;
    EXPECT_LE(test::rel_error(t.grad(), golden(f, "dtarget_" + key)), 1e-4) << key;
  };
  for (Reduction r : kReductions) check(r, Tensor(), name(r));
  check(Reduction::mean, golden(f, "pos_weight"), "pw");
}

TEST(Loss, GoldenRegression) {
  auto f = test::load_golden("loss_regression");
  auto check = [&](const std::string& key,
                   const std::function<Tensor(const Tensor&, const Tensor&)>& op) {
    Tensor x = golden(f, "pred").clone().set_requires_grad(true);
    Tensor t = golden(f, "target").clone().set_requires_grad(true);
    Tensor loss = op(x, t);
    EXPECT_LE(test::rel_error(loss, golden(f, key)), 1e-4) << key;
    loss.backward(Tensor::ones(loss.shape()));
    const size_t cut = key.rfind('_');
    const std::string prefix = key.substr(0, cut), red = key.substr(cut + 1);
    EXPECT_LE(test::rel_error(x.grad(), golden(f, prefix + "_dpred_" + red)), 1e-4) << key;
    EXPECT_LE(test::rel_error(t.grad(), golden(f, prefix + "_dtarget_" + red)), 1e-4) << key;
  };
  for (Reduction r : kReductions) {
    check(std::string("mse_") + name(r),
          [r](const Tensor& x, const Tensor& t) { return mse_loss(x, t, r); });
    for (auto [tag, beta] : {std::pair{"b1", 1.0}, std::pair{"b05", 0.5}, std::pair{"b0", 0.0}})
      check(std::string("sl1_") + tag + "_" + name(r),
            [r, b = beta](const Tensor& x, const Tensor& t) { return smooth_l1_loss(x, t, b, r); });
  }
}
