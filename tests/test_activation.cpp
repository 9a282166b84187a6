#include <gtest/gtest.h>

#include <cmath>

#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::compare_backends;
using convkit::test::gradcheck;
using convkit::test::rand_var;

namespace {
using Act = std::function<Tensor(const Tensor&)>;

struct Activation {
  const char* name;
  Act op;
  std::function<double(double)> f;  // the textbook formula, the oracle for values
};

std::vector<Activation> activations() {
  return {
      {"relu", [](const Tensor& x) { return relu(x); }, [](double v) { return v > 0 ? v : 0.0; }},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.1); },
       [](double v) { return v > 0 ? v : 0.1 * v; }},
      {"leaky_relu_negative_slope", [](const Tensor& x) { return leaky_relu(x, -0.3); },
       [](double v) { return v > 0 ? v : -0.3 * v; }},
      {"elu", [](const Tensor& x) { return elu(x, 1.3); },
       [](double v) { return v > 0 ? v : 1.3 * (std::exp(v) - 1); }},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); },
       [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"tanh", [](const Tensor& x) { return convkit::tanh(x); },
       [](double v) { return std::tanh(v); }},
      {"relu6", [](const Tensor& x) { return relu6(x); },
       [](double v) { return std::min(std::max(v, 0.0), 6.0); }},
  };
}

// Moves every element at least `gap` away from the kinks at 0 and 6, so finite differences never
// straddle one.
Tensor away_from_kinks(Tensor x, double gap = 0.05) {
  auto fix = [&](auto* p) {
    for (int64_t i = 0; i < x.numel(); ++i)
      for (double kink : {0.0, 6.0})
        if (std::abs(p[i] - kink) < gap) p[i] = kink + (p[i] < kink ? -2 * gap : 2 * gap);
  };
  if (x.dtype() == DType::f64)
    fix(x.data<double>());
  else
    fix(x.data<float>());
  return x;
}
}  // namespace

TEST(Activation, ValuesMatchFormulas) {
  Generator g(7);
  Tensor x = away_from_kinks(mul(Tensor::randn({5, 13}, &g), 4.0));
  for (const Activation& a : activations()) {
    Tensor y = a.op(x);
    ASSERT_EQ(y.shape(), x.shape()) << a.name;
    for (int64_t i = 0; i < x.numel(); ++i)
      EXPECT_NEAR(y.data<float>()[i], a.f(x.data<float>()[i]), 1e-6) << a.name << " at " << i;
  }
}

TEST(Activation, GradientsAtKinksFollowPytorch) {
  Tensor x = Tensor::from_vector<float>({0, 6}, {2}).set_requires_grad(true);
  auto grad_of = [&](const Act& f) {
    x.zero_grad();
    sum(f(x)).backward();
    return std::pair{x.grad().at({0}), x.grad().at({1})};
  };
  EXPECT_EQ(grad_of([](const Tensor& t) { return relu(t); }).first, 0.0);
  EXPECT_FLOAT_EQ(grad_of([](const Tensor& t) { return leaky_relu(t, 0.2); }).first, 0.2f);
  EXPECT_FLOAT_EQ(grad_of([](const Tensor& t) { return elu(t, 1.5); }).first, 1.5f);
  auto r6 = grad_of([](const Tensor& t) { return relu6(t); });
  EXPECT_EQ(r6.first, 0.0);
  EXPECT_EQ(r6.second, 0.0);
}

TEST(Activation, Errors) {
  EXPECT_THROW_WITH(relu(Tensor::zeros({2, 3}, DType::i64)), "relu", "int64");
  EXPECT_THROW_WITH(sigmoid(Tensor::zeros({2}, DType::u8)), "sigmoid", "uint8");
  EXPECT_THROW_WITH(elu(Tensor::zeros({2, 3}), -1.0), "elu", "alpha", "-1", "[2,3]");
}

TEST(Activation, Gradients) {
  for (const Activation& a : activations()) {
    Tensor x = away_from_kinks(rand_var({3, 7}, 11, /*scale=*/4.0));
    EXPECT_TRUE(gradcheck([&](const TensorList& in) { return a.op(in[0]); }, {x})) << a.name;
  }
}

TEST(Activation, BackendsAgree) {
  for (const Activation& a : activations()) {
    for (const Shape& s : {Shape{8, 33}, Shape{2, 3, 17, 5}, Shape{1}}) {
      Generator g(3);
      Tensor x = away_from_kinks(mul(Tensor::randn(s, &g), 4.0)).set_requires_grad(true);
      EXPECT_TRUE(compare_backends([&](const TensorList& in) { return a.op(in[0]); }, {x}))
          << a.name << " " << s.to_string();
    }
  }
}

TEST(Activation, GoldenPytorchParity) {
  auto f = test::load_golden("dense_activation");
  Tensor x = test::golden_tensor(f, "x");
  Tensor dy = test::golden_tensor(f, "dy");
  const std::vector<std::pair<std::string, Act>> ops = {
      {"relu", [](const Tensor& t) { return relu(t); }},
      {"leaky_relu", [](const Tensor& t) { return leaky_relu(t, 0.1); }},
      {"elu", [](const Tensor& t) { return elu(t, 1.3); }},
      {"sigmoid", [](const Tensor& t) { return sigmoid(t); }},
      {"tanh", [](const Tensor& t) { return convkit::tanh(t); }},
      {"relu6", [](const Tensor& t) { return relu6(t); }}};
  for (const auto& [name, op] : ops) {
    Tensor xv = x.clone().set_requires_grad(true);
    Tensor y = op(xv);
    EXPECT_LE(test::rel_error(y, test::golden_tensor(f, "y_" + name)), 1e-4) << name;
    y.backward(dy);
    EXPECT_LE(test::rel_error(xv.grad(), test::golden_tensor(f, "dx_" + name)), 1e-4) << name;
  }
}

TEST(Activation, NoGradForwardMatchesTrainingForward) {
  // Under no-grad the oneDNN path builds forward_inference primitives; results must not change.
  Generator g(2);
  Tensor x = mul(Tensor::randn({6, 11}, &g), 4.0).set_requires_grad(true);
  for (const Activation& a : activations()) {
    Tensor trained = a.op(x);
    NoGradGuard no_grad;
    EXPECT_EQ(test::max_abs_diff(a.op(x), trained), 0.0) << a.name;
  }
}
