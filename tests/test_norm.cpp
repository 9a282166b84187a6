// Batch norm and local response norm: hand-formula values, gradient checks (float64, ref),
// ref-vs-dnnl agreement, argument errors, and PyTorch parity (golden files from gen_norm.py).
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::gradcheck;
using convkit::test::rand_var;

namespace {

// Per-channel statistics of [N, C, S] data written out independently of the kernels.
struct ChannelStats {
  std::vector<double> mean, biased_var;
};
ChannelStats channel_stats(const Tensor& x) {
  Tensor xd = x.detach().to(DType::f64);
  const int64_t N = x.size(0), C = x.size(1), S = x.numel() / (N * C);
  ChannelStats s{std::vector<double>(C, 0), std::vector<double>(C, 0)};
  const double* p = xd.data<double>();
  for (int64_t c = 0; c < C; ++c) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i) s.mean[c] += p[(n * C + c) * S + i];
    s.mean[c] /= double(N * S);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < S; ++i)
        s.biased_var[c] += std::pow(p[(n * C + c) * S + i] - s.mean[c], 2);
    s.biased_var[c] /= double(N * S);
  }
  return s;
}

Tensor randn_f32(const Shape& shape, uint64_t seed, double scale = 1.0, double shift = 0.0) {
  Generator g(seed);
  return Tensor::randn(shape, &g) * scale + shift;
}

Tensor positive_f32(const Shape& shape, uint64_t seed) {
  Generator g(seed);
  return Tensor::uniform(shape, 0.5, 1.5, &g);
}

Tensor bn_train(const TensorList& in) {
  Tensor rm, rv;
  return batch_norm(in[0], in[1], in[2], rm, rv, /*training=*/true);
}

}  // namespace

TEST(Norm, BatchNormTrainingMatchesHandFormula) {
  Tensor x = randn_f32({3, 4, 5, 2}, 1, 2.0, 0.7);
  Tensor w = positive_f32({4}, 2), b = randn_f32({4}, 3);
  Tensor rm = randn_f32({4}, 4, 0.1), rv = positive_f32({4}, 5);
  Tensor rm0 = rm.clone(), rv0 = rv.clone();
  const double momentum = 0.25, eps = 1e-3;
  Tensor y = batch_norm(x, w, b, rm, rv, /*training=*/true, momentum, eps);
  ChannelStats s = channel_stats(x);
  const double M = 3 * 5 * 2;
  for (int64_t c = 0; c < 4; ++c) {
    const double istd = 1 / std::sqrt(s.biased_var[c] + eps);
    for (int64_t n : {0, 2})
      for (int64_t h : {0, 4})
        EXPECT_NEAR(y.at({n, c, h, 1}),
                    (x.at({n, c, h, 1}) - s.mean[c]) * istd * w.at({c}) + b.at({c}), 1e-4);
    EXPECT_NEAR(rm.at({c}), (1 - momentum) * rm0.at({c}) + momentum * s.mean[c], 1e-5);
    // The running variance is updated with the unbiased batch variance.
    EXPECT_NEAR(rv.at({c}), (1 - momentum) * rv0.at({c}) + momentum * s.biased_var[c] * M / (M - 1),
                1e-5);
  }
}

TEST(Norm, BatchNormEvalUsesRunningStats) {
  Tensor x = randn_f32({2, 3}, 6);
  Tensor w = positive_f32({3}, 7), b = randn_f32({3}, 8);
  Tensor rm = randn_f32({3}, 9), rv = positive_f32({3}, 10);
  Tensor rm0 = rm.clone(), rv0 = rv.clone();
  Tensor y = batch_norm(x, w, b, rm, rv, /*training=*/false);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_NEAR(
          y.at({n, c}),
          (x.at({n, c}) - rm.at({c})) / std::sqrt(rv.at({c}) + 1e-5) * w.at({c}) + b.at({c}), 1e-5);
  EXPECT_EQ(test::max_abs_diff(rm, rm0), 0.0);  // eval never touches the running stats
  EXPECT_EQ(test::max_abs_diff(rv, rv0), 0.0);
}

TEST(Norm, BatchNormWithoutRunningStatsOrAffine) {
  Tensor x = randn_f32({4, 3, 2, 2}, 11);
  Tensor rm, rv;
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, /*training=*/true);
  EXPECT_FALSE(rm.defined());
  ChannelStats s = channel_stats(y);  // normalized: zero mean, unit (biased) variance
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(s.mean[c], 0.0, 1e-5);
    EXPECT_NEAR(s.biased_var[c], 1.0, 1e-3);  // eps shrinks it slightly below 1
  }
}

TEST(Norm, BatchNormTrainingGradients) {
  EXPECT_TRUE(gradcheck(bn_train, {rand_var({3, 5, 2, 3}, 1), rand_var({5}, 2), rand_var({5}, 3)}));
  EXPECT_TRUE(gradcheck(bn_train, {rand_var({5, 3}, 4), rand_var({3}, 5), rand_var({3}, 6)}));
  EXPECT_TRUE(gradcheck(bn_train, {rand_var({2, 3, 1, 1}, 7), Tensor(), Tensor()}));
  EXPECT_TRUE(gradcheck(bn_train, {rand_var({3, 2, 3, 1}, 8), rand_var({2}, 9), Tensor()}));
  EXPECT_TRUE(gradcheck(bn_train, {rand_var({3, 2, 1, 3}, 10), Tensor(), rand_var({2}, 11)}));
  // With running stats given (they change between evaluations but training output ignores them).
  Tensor rm = Tensor::zeros({3}, DType::f64), rv = Tensor::ones({3}, DType::f64);
  EXPECT_TRUE(gradcheck(
      [&](const TensorList& in) {
        return batch_norm(in[0], in[1], in[2], rm, rv, true, 0.5, 1e-3);
      },
      {rand_var({4, 3}, 12), rand_var({3}, 13), rand_var({3}, 14)}));
}

TEST(Norm, BatchNormEvalGradients) {
  Generator g(15);
  Tensor rm = Tensor::randn({3}, &g, DType::f64), rv = Tensor::uniform({3}, 0.5, 2, &g, DType::f64);
  auto bn_eval = [&](const TensorList& in) {
    return batch_norm(in[0], in[1], in[2], rm, rv, /*training=*/false);
  };
  EXPECT_TRUE(
      gradcheck(bn_eval, {rand_var({2, 3, 3, 2}, 16), rand_var({3}, 17), rand_var({3}, 18)}));
  EXPECT_TRUE(gradcheck(bn_eval, {rand_var({1, 3}, 19), rand_var({3}, 20), rand_var({3}, 21)}));
  EXPECT_TRUE(gradcheck(bn_eval, {rand_var({3, 3, 1, 2}, 22), Tensor(), Tensor()}));
}

TEST(Norm, BatchNormBackendsAgree) {
  struct Case {
    Shape x;
    bool training, weight, bias;
  };
  for (const Case& k : std::vector<Case>{{{8, 16, 7, 7}, true, true, true},
                                         {{32, 10}, true, true, true},
                                         {{4, 3, 5, 5}, true, false, false},
                                         {{4, 3, 5, 5}, true, true, false},
                                         {{4, 3, 5, 5}, true, false, true},
                                         {{5, 16, 6, 6}, false, true, true},
                                         {{7, 6}, false, false, false}}) {
    const int64_t C = k.x[1];
    Tensor x = randn_f32(k.x, 30, 1.5, 0.3).set_requires_grad(true);
    Tensor w = k.weight ? positive_f32({C}, 31).set_requires_grad(true) : Tensor();
    Tensor b = k.bias ? randn_f32({C}, 32).set_requires_grad(true) : Tensor();
    Tensor rm0 = randn_f32({C}, 33, 0.2), rv0 = positive_f32({C}, 34);
    Tensor rm_by_backend[2], rv_by_backend[2];
    int run = 0;
    auto f = [&](const TensorList& in) {
      Tensor rm = rm0.clone(), rv = rv0.clone();
      Tensor y = batch_norm(in[0], in[1], in[2], rm, rv, k.training, 0.1, 1e-5);
      rm_by_backend[run] = rm, rv_by_backend[run] = rv;
      ++run;
      return y;
    };
    EXPECT_TRUE(test::compare_backends(f, {x, w, b}))
        << k.x.to_string() << " training " << k.training;
    EXPECT_LE(test::max_abs_diff(rm_by_backend[0], rm_by_backend[1]), 1e-5);
    EXPECT_LE(test::max_abs_diff(rv_by_backend[0], rv_by_backend[1]), 1e-5);
  }
}

TEST(Norm, BatchNormErrors) {
  Tensor x = Tensor::randn({2, 3, 4, 4});
  Tensor rm = Tensor::zeros({3}), rv = Tensor::ones({3}), none;
  EXPECT_THROW_WITH(batch_norm(x, Tensor::ones({4}), Tensor(), rm, rv, true), "batch_norm",
                    "weight", "[3]", "[4]", "[2,3,4,4]");
  EXPECT_THROW_WITH(batch_norm(x, Tensor(), Tensor::ones({3, 1}), rm, rv, true), "batch_norm",
                    "bias", "[3,1]");
  EXPECT_THROW_WITH(batch_norm(Tensor::randn({2, 3, 4}), Tensor(), Tensor(), rm, rv, true),
                    "batch_norm", "[N, C, H, W] or [N, C]", "[2,3,4]");
  EXPECT_THROW_WITH(batch_norm(x, Tensor(), Tensor(), none, rv, true), "batch_norm",
                    "running_mean and running_var");
  EXPECT_THROW_WITH(batch_norm(x, Tensor(), Tensor(), none, none, false), "batch_norm", "eval",
                    "[2,3,4,4]");
  Tensor rm2 = Tensor::zeros({2});
  EXPECT_THROW_WITH(batch_norm(x, Tensor(), Tensor(), rm2, rv, false), "batch_norm", "running_mean",
                    "[2]");
  Tensor rm64 = Tensor::zeros({3}, DType::f64);
  EXPECT_THROW_WITH(batch_norm(x, Tensor(), Tensor(), rm64, rv, false), "batch_norm",
                    "running_mean", "float64", "float32");
  EXPECT_THROW_WITH(batch_norm(Tensor::randn({1, 3}), Tensor(), Tensor(), rm, rv, true),
                    "batch_norm", "more than 1 value per channel", "[1,3]");
  EXPECT_THROW_WITH(batch_norm(x, Tensor(), Tensor(), rm, rv, true, /*momentum=*/1.5), "batch_norm",
                    "momentum", "1.5");
}

namespace {
void expect_bn_golden(const std::string& name) {
  io::SafetensorsFile f = test::load_golden(name);
  auto t = [&](const char* key) { return test::golden_tensor(f, key); };
  const bool training = f.metadata.at("training") == "True";
  const double momentum = std::stod(f.metadata.at("momentum")),
               eps = std::stod(f.metadata.at("eps"));
  Tensor x = t("x").clone().set_requires_grad(true);
  Tensor w = t("weight").clone().set_requires_grad(true);
  Tensor b = t("bias").clone().set_requires_grad(true);
  Tensor rm = t("running_mean").clone(), rv = t("running_var").clone();
  Tensor y = batch_norm(x, w, b, rm, rv, training, momentum, eps);
  y.backward(t("grad_y"));
  EXPECT_LE(test::rel_error(y, t("y")), 1e-4) << name;
  EXPECT_LE(test::rel_error(x.grad(), t("dx")), 1e-4) << name;
  EXPECT_LE(test::rel_error(w.grad(), t("dweight")), 1e-4) << name;
  EXPECT_LE(test::rel_error(b.grad(), t("dbias")), 1e-4) << name;
  EXPECT_LE(test::rel_error(rm, t("running_mean_after")), 1e-4) << name;
  EXPECT_LE(test::rel_error(rv, t("running_var_after")), 1e-4) << name;
}
}  // namespace

TEST(Norm, BatchNormMatchesPyTorch) {
  expect_bn_golden("norm_bn_train");
  expect_bn_golden("norm_bn_train_2d");
  expect_bn_golden("norm_bn_eval");
}

// ---- local response norm ----

TEST(Norm, LrnMatchesHandFormula) {
  Tensor x = randn_f32({2, 6, 3, 2}, 40, 2.0);
  const double alpha = 0.3, beta = 0.75, k = 1.5;
  for (int64_t size : {1, 2, 3, 4, 5, 9}) {
    Tensor y = local_response_norm(x, size, alpha, beta, k);
    for (int64_t c = 0; c < 6; ++c) {
      double sq = 0;  // PyTorch's window: size/2 channels before c, (size-1)/2 after
      for (int64_t j = c - size / 2; j <= c + (size - 1) / 2; ++j)
        if (j >= 0 && j < 6) sq += std::pow(x.at({1, j, 2, 1}), 2);
      EXPECT_NEAR(y.at({1, c, 2, 1}), x.at({1, c, 2, 1}) / std::pow(k + alpha / size * sq, beta),
                  1e-5)
          << "size " << size << " channel " << c;
    }
  }
}

TEST(Norm, LrnGradients) {
  for (int64_t size : {1, 2, 3, 4, 5, 8}) {
    auto f = [size](const TensorList& in) {
      return local_response_norm(in[0], size, 0.4, 0.75, 1.2);
    };
    EXPECT_TRUE(gradcheck(f, {rand_var({2, 7, 3, 2}, uint64_t(size))})) << "size " << size;
  }
  auto alexnet = [](const TensorList& in) {
    return local_response_norm(in[0], 5, 1e-4, 0.75, 2.0);
  };
  EXPECT_TRUE(gradcheck(alexnet, {rand_var({1, 6, 2, 3}, 50, 3.0)}));
  auto three_d = [](const TensorList& in) { return local_response_norm(in[0], 3, 1.0, 0.5, 1.0); };
  EXPECT_TRUE(gradcheck(three_d, {rand_var({2, 5, 4}, 51)}));
}

TEST(Norm, LrnBackendsAgree) {
  struct Case {
    Shape x;
    int64_t size;
    double alpha, beta, k;
  };
  for (const Case& c : std::vector<Case>{{{4, 16, 13, 13}, 5, 1e-4, 0.75, 2.0},
                                         {{2, 10, 7, 5}, 3, 0.5, 0.75, 1.0},
                                         {{2, 9, 6, 6}, 7, 2.0, 0.6, 1.5},
                                         {{2, 6, 4, 4}, 9, 0.5, 0.75, 1.0},  // window wider than C
                                         {{3, 8, 11}, 5, 0.3, 0.75, 1.0},
                                         {{2, 6, 5, 5}, 4, 0.3, 0.75, 1.0}}) {
    Tensor x = randn_f32(c.x, 60, 2.0).set_requires_grad(true);
    auto f = [&](const TensorList& in) {
      return local_response_norm(in[0], c.size, c.alpha, c.beta, c.k);
    };
    EXPECT_TRUE(test::compare_backends(f, {x})) << c.x.to_string() << " size " << c.size;
  }
}

TEST(Norm, LrnWithoutGradUsesNoWorkspace) {
  // The inference path (no graph recorded) must give the same values as the training path.
  Tensor x = randn_f32({2, 8, 4, 4}, 70);
  Tensor xg = x.clone().set_requires_grad(true);
  Tensor y_infer = local_response_norm(x, 5, 0.5, 0.75, 2.0);
  Tensor y_train = local_response_norm(xg, 5, 0.5, 0.75, 2.0);
  EXPECT_LE(test::max_abs_diff(y_infer, y_train), 1e-6);
}

TEST(Norm, LrnErrors) {
  EXPECT_THROW_WITH(local_response_norm(Tensor::randn({2, 3}), 3), "local_response_norm",
                    "at least 3 dims", "[2,3]");
  EXPECT_THROW_WITH(local_response_norm(Tensor::randn({2, 3, 4}), 0), "local_response_norm", "size",
                    "0", "[2,3,4]");
  EXPECT_THROW_WITH(local_response_norm(Tensor::randn({2, 3, 4}), 3, 1e-4, 0.75, /*k=*/0.0),
                    "local_response_norm", "k must be > 0");
}

TEST(Norm, LrnMatchesPyTorch) {
  for (const char* name : {"norm_lrn_alexnet", "norm_lrn_even", "norm_lrn_3d"}) {
    io::SafetensorsFile f = test::load_golden(name);
    auto meta = [&](const char* key) { return std::stod(f.metadata.at(key)); };
    Tensor x = test::golden_tensor(f, "x").clone().set_requires_grad(true);
    Tensor y =
        local_response_norm(x, int64_t(meta("size")), meta("alpha"), meta("beta"), meta("k"));
    y.backward(test::golden_tensor(f, "grad_y"));
    EXPECT_LE(test::rel_error(y, test::golden_tensor(f, "y")), 1e-4) << name;
    EXPECT_LE(test::rel_error(x.grad(), test::golden_tensor(f, "dx")), 1e-4) << name;
  }
}
