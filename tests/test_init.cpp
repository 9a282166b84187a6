#include <gtest/gtest.h>

#include <cmath>

#include "convkit/nn/init.h"
#include "support/gradcheck.h"

using namespace convkit;
using namespace convkit::nn::init;

namespace {
struct Stats {
  double mean, std, max_abs;
};
Stats stats(const Tensor& t) {
  Tensor d = t.to(DType::f64);
  const double* p = d.data<double>();
  double s = 0, s2 = 0, m = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s += p[i];
    s2 += p[i] * p[i];
    m = std::max(m, std::abs(p[i]));
  }
  double mean = s / double(t.numel());
  return {mean, std::sqrt(s2 / double(t.numel()) - mean * mean), m};
}
}  // namespace

TEST(Init, FansAndGains) {
  Fans f = compute_fans(Tensor::empty({64, 32, 3, 3}));
  EXPECT_EQ(f.fan_in, 32 * 9);
  EXPECT_EQ(f.fan_out, 64 * 9);
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::relu), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(calculate_gain(Nonlinearity::tanh), 5.0 / 3.0);
  EXPECT_THROW_WITH(compute_fans(Tensor::empty({5})), "rank >= 2", "[5]");
}

TEST(Init, DistributionsHaveTheDocumentedSpread) {
  Generator g(3);
  Tensor w = Tensor::empty({256, 128, 3, 3});  // fan_in 1152, fan_out 2304
  xavier_uniform_(w, 1.0, &g);
  double a = std::sqrt(6.0 / (1152 + 2304));
  Stats s = stats(w);
  EXPECT_LE(s.max_abs, a);
  EXPECT_NEAR(s.std, a / std::sqrt(3.0), 0.01 * a);
  xavier_normal_(w, 2.0, &g);
  EXPECT_NEAR(stats(w).std, 2.0 * std::sqrt(2.0 / (1152 + 2304)), 0.01 * stats(w).std);
  kaiming_normal_(w, 0, FanMode::fan_out, Nonlinearity::relu, &g);
  EXPECT_NEAR(stats(w).std, std::sqrt(2.0 / 2304), 0.01 * std::sqrt(2.0 / 2304));
  EXPECT_NEAR(stats(w).mean, 0.0, 1e-3);
  kaiming_uniform_(w, 0, FanMode::fan_in, Nonlinearity::relu, &g);
  EXPECT_LE(stats(w).max_abs, std::sqrt(3.0) * std::sqrt(2.0 / 1152));
  Tensor b = Tensor::empty({256});
  torch_default_(w, &b, &g);
  EXPECT_LE(stats(w).max_abs, 1.0 / std::sqrt(1152.0));
  EXPECT_GT(stats(w).max_abs, 0.95 / std::sqrt(1152.0));
  EXPECT_LE(stats(b).max_abs, 1.0 / std::sqrt(1152.0));
  constant_(b, 0.25);
  EXPECT_EQ(stats(b).std, 0.0);
}

TEST(Init, SameSeedSameWeights) {
  Generator g1(9), g2(9);
  Tensor a = Tensor::empty({8, 4}), b = Tensor::empty({8, 4});
  kaiming_uniform_(a, 0, FanMode::fan_in, Nonlinearity::relu, &g1);
  kaiming_uniform_(b, 0, FanMode::fan_in, Nonlinearity::relu, &g2);
  EXPECT_EQ(test::max_abs_diff(a, b), 0.0);
}

namespace convkit {
namespace {
TEST(Init, SkipInitGuardFillsZerosDrawsNothingAndRestores) {
  Generator a(7), b(7);
  Tensor t = Tensor::ones({4, 3});
  {
    nn::init::SkipInitGuard skip;
    EXPECT_TRUE(nn::init::SkipInitGuard::active());
    nn::init::kaiming_normal_(t, 0, nn::init::FanMode::fan_in, nn::init::Nonlinearity::relu, &a);
    for (int64_t i = 0; i < t.numel(); ++i) EXPECT_EQ(t.data<float>()[i], 0.0f);
  }
  EXPECT_FALSE(nn::init::SkipInitGuard::active());
  // The generator was not advanced: both now draw the same sequence.
  EXPECT_EQ(a.uniform(0, 1), b.uniform(0, 1));
  nn::init::normal_(t, 0, 1, &a);
  EXPECT_NE(t.data<float>()[0], 0.0f);
}
}  // namespace
}  // namespace convkit
