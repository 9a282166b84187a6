#include <gtest/gtest.h>

#include "support/gradcheck.h"

using namespace convkit;
using convkit::test::gradcheck;
using convkit::test::rand_var;

TEST(Autograd, SharedSubexpressionAndDiamond) {
  // y = (a*b) + (a*b)*a: a feeds three paths, a*b feeds two.
  auto f = [](const TensorList& in) {
    Tensor ab = in[0] * in[1];
    return ab + ab * in[0];
  };
  EXPECT_TRUE(gradcheck(f, {rand_var({3, 4}, 1), rand_var({3, 4}, 2)}));
  // Exact values: y = a*b + a^2 b, dy/da = b + 2ab, dy/db = a + a^2.
  Tensor a = Tensor::full({1}, 3.0, DType::f64).set_requires_grad(true);
  Tensor b = Tensor::full({1}, 2.0, DType::f64).set_requires_grad(true);
  sum(f({a, b})).backward();
  EXPECT_DOUBLE_EQ(a.grad().item(), 2 + 2 * 3 * 2);
  EXPECT_DOUBLE_EQ(b.grad().item(), 3 + 9);
}

TEST(Autograd, AccumulatesOverTwoBackwardCalls) {
  Tensor x = Tensor::full({2}, 1.0, DType::f64).set_requires_grad(true);
  Tensor y = sum(x * 3.0);
  y.backward();
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().at({0}), 6.0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NoGradAndDetach) {
  Tensor x = Tensor::ones({2}).set_requires_grad(true);
  {
    NoGradGuard ng;
    Tensor y = x * 2.0;
    EXPECT_FALSE(y.requires_grad());
  }
  Tensor d = (x * 2.0).detach();
  EXPECT_FALSE(d.requires_grad());
  Tensor z = sum(d * x);
  z.backward();
  EXPECT_DOUBLE_EQ(x.grad().at({0}), 2.0);  // d is a constant: dz/dx = d
  EXPECT_THROW_WITH(sum(d).backward(), "does not require grad");
}

TEST(Autograd, GradWithRespectToInputAndIntermediate) {
  Tensor img = rand_var({1, 3, 4, 4}, 5);
  Tensor w = rand_var({1, 3, 1, 1}, 6);
  Tensor feat = img * w;
  feat.retain_grad();
  Tensor loss = sum(feat * feat);
  loss.backward();
  // d loss / d feat = 2 feat; d loss / d img = 2 feat * w
  Tensor expect_feat = feat.detach() * 2.0;
  EXPECT_LT(test::max_abs_diff(feat.grad(), expect_feat), 1e-12);
  EXPECT_LT(test::max_abs_diff(img.grad(), expect_feat * w.detach()), 1e-12);
  TensorList g = autograd::grad({sum(img * img)}, {img});
  EXPECT_LT(test::max_abs_diff(g[0], img.detach() * 2.0), 1e-12);
}

TEST(Autograd, HooksCaptureAndReplace) {
  Tensor x = Tensor::ones({3}, DType::f64).set_requires_grad(true);
  Tensor h = x * 2.0;
  Tensor seen;
  h.register_hook([&](const Tensor& g) {
    seen = g.clone();
    return g * 10.0;  // replaces the gradient flowing on to x
  });
  sum(h * 3.0).backward();
  EXPECT_DOUBLE_EQ(seen.at({0}), 3.0);
  EXPECT_DOUBLE_EQ(x.grad().at({0}), 60.0);
}

TEST(Autograd, GraphFreedWhenOutputDies) {
  std::weak_ptr<autograd::Node> node;
  std::weak_ptr<detail::TensorImpl> mid;
  Tensor x = Tensor::ones({4}).set_requires_grad(true);
  {
    Tensor m = x * 2.0;
    Tensor y = exp(m) * m;
    node = y.grad_fn();
    mid = m.impl_ptr();
    EXPECT_FALSE(node.expired());
  }
  EXPECT_TRUE(node.expired());
  EXPECT_TRUE(mid.expired());
}

TEST(Autograd, ViewsPropagateGradients) {
  auto f = [](const TensorList& in) { return in[0].reshape({4, 3}).slice(1, 3).select(1) * 2.0; };
  EXPECT_TRUE(gradcheck(f, {rand_var({2, 6}, 3)}));
}
