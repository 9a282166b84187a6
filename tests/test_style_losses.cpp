// Style-transfer losses (style/losses.h): values and input gradients against PyTorch
// (tests/golden/gen_style.py), finite differences in float64, both backends in float32, bad shapes.
#include <gtest/gtest.h>

#include "convkit/ops.h"
#include "convkit/style/losses.h"
#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using test::golden_tensor;
using test::load_golden;
using test::rel_error;

namespace {

// Value and gradient of loss(features) against the golden entries `name` and `name_grad`.
void expect_matches_torch(const std::string& name,
                          const std::function<Tensor(const Tensor&)>& loss) {
  auto f = load_golden("style_losses");
  Tensor x = golden_tensor(f, "features").clone().set_requires_grad(true);
  Tensor l = loss(x);
  EXPECT_LE(rel_error(l.detach(), golden_tensor(f, name)), 1e-10) << name;
  Tensor g = autograd::grad({l}, {x})[0];
  EXPECT_LE(rel_error(g, golden_tensor(f, name + "_grad")), 1e-10) << name;
}

}  // namespace

TEST(StyleLosses, MatchPyTorch) {
  auto f = load_golden("style_losses");
  Tensor up = golden_tensor(f, "gram_upstream");
  Tensor content = golden_tensor(f, "content_target");
  Tensor gram_target = golden_tensor(f, "gram_target");
  EXPECT_LE(rel_error(style::gram_matrix(golden_tensor(f, "features")), golden_tensor(f, "gram")),
            1e-10);
  auto x = golden_tensor(f, "features").clone().set_requires_grad(true);
  Tensor dg = autograd::grad({sum(style::gram_matrix(x) * up)}, {x})[0];
  EXPECT_LE(rel_error(dg, golden_tensor(f, "gram_grad")), 1e-10);
  expect_matches_torch("content", [&](const Tensor& x) { return style::content_loss(x, content); });
  expect_matches_torch("style", [&](const Tensor& x) { return style::style_loss(x, gram_target); });
  expect_matches_torch("tv", [&](const Tensor& x) { return style::total_variation(x); });
}

TEST(StyleLosses, FiniteDifferences) {
  Tensor target = test::rand_var({1, 3, 3, 3}, 7).detach();
  Tensor gram_target = style::gram_matrix(test::rand_var({1, 3, 5, 2}, 8).detach());
  EXPECT_TRUE(test::gradcheck([](const TensorList& in) { return style::gram_matrix(in[0]); },
                              {test::rand_var({2, 3, 4, 5}, 1)}));
  EXPECT_TRUE(
      test::gradcheck([&](const TensorList& in) { return style::style_loss(in[0], gram_target); },
                      {test::rand_var({2, 3, 3, 4}, 2)}));
  EXPECT_TRUE(
      test::gradcheck([&](const TensorList& in) { return style::content_loss(in[0], target); },
                      {test::rand_var({1, 3, 3, 3}, 3)}));
  EXPECT_TRUE(test::gradcheck([](const TensorList& in) { return style::total_variation(in[0]); },
                              {test::rand_var({2, 2, 3, 4}, 4)}));
}

TEST(StyleLosses, BackendsAgreeInFloat32) {
  Tensor x = Tensor::randn({2, 8, 6, 7}).set_requires_grad(true);
  Tensor gram_target = style::gram_matrix(Tensor::randn({1, 8, 5, 5}));
  EXPECT_TRUE(test::compare_backends(
      [&](const TensorList& in) {
        return style::style_loss(in[0], gram_target) + style::total_variation(in[0]);
      },
      {x}));
}

TEST(StyleLosses, RefuseBadShapes) {
  EXPECT_THROW_WITH(style::gram_matrix(Tensor::zeros({3, 4, 5})), "gram_matrix", "[3,4,5]");
  EXPECT_THROW_WITH(style::content_loss(Tensor::zeros({1, 2, 3, 3}), Tensor::zeros({1, 2, 3, 4})),
                    "content_loss", "[1,2,3,4]");
  EXPECT_THROW_WITH(style::style_loss(Tensor::zeros({1, 4, 3, 3}), Tensor::zeros({1, 3, 3})),
                    "style_loss", "[1,3,3]", "[1,4,3,3]", "C = 4");
  EXPECT_THROW_WITH(style::total_variation(Tensor::zeros({1, 3, 1, 5})), "total_variation",
                    "H, W >= 2");
}
