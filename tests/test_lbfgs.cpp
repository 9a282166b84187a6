// L-BFGS against torch.optim.LBFGS on the same problems (tests/golden/gen_style.py): the
// parameters after each step(closure) agree to 1e-4 (relative), with and without the strong-Wolfe
// line search, on a quadratic and on a small style-transfer problem.
#include <gtest/gtest.h>

#include "convkit/ops.h"
#include "convkit/optim/lbfgs.h"
#include "convkit/style/losses.h"
#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using namespace convkit::optim;
using test::golden_tensor;
using test::load_golden;
using test::rel_error;

namespace {

using Objective = std::function<Tensor(const Tensor&)>;

// Runs as many steps as the golden file has iterates and compares each one and each returned loss.
void expect_iterates_match(const std::string& golden, const Objective& objective,
                           LBFGSOptions options) {
  auto f = load_golden(golden);
  Tensor iterates = golden_tensor(f, "iterates");
  Tensor losses = golden_tensor(f, "losses");
  Tensor x = golden_tensor(f, "x0").clone().set_requires_grad(true);
  LBFGS opt({x}, options);
  for (int64_t k = 0; k < iterates.size(0); ++k) {
    const double loss = opt.step([&] {
      opt.zero_grad();
      Tensor l = objective(x);
      l.backward();
      return l.item();
    });
    EXPECT_NEAR(loss, losses.at({k}), 1e-4 * std::max(1.0, std::abs(losses.at({k}))))
        << golden << " step " << k;
    EXPECT_LE(rel_error(x.detach(), iterates.select(k)), 1e-4) << golden << " step " << k;
  }
}

Objective quadratic(const io::SafetensorsFile& f) {
  Tensor a = golden_tensor(f, "a");
  Tensor b = golden_tensor(f, "b").reshape({-1, 1});
  return [a, b](const Tensor& x) {
    Tensor col = x.reshape({-1, 1});  // [n] -> [n, 1]
    Tensor xax = matmul(transpose(col, 0, 1), matmul(a, col));
    return sum(xax * 0.5 - matmul(transpose(b, 0, 1), col));
  };
}

}  // namespace

TEST(LBFGS, QuadraticFixedStepMatchesTorch) {
  expect_iterates_match("lbfgs_quadratic", quadratic(load_golden("lbfgs_quadratic")),
                        {.lr = 0.5, .max_iter = 4, .history_size = 3});
}

TEST(LBFGS, QuadraticStrongWolfeMatchesTorch) {
  expect_iterates_match("lbfgs_quadratic_wolfe", quadratic(load_golden("lbfgs_quadratic_wolfe")),
                        {.max_iter = 4, .history_size = 3, .strong_wolfe = true});
}

TEST(LBFGS, StyleProblemMatchesTorch) {
  auto f = load_golden("lbfgs_style");
  Tensor w1 = golden_tensor(f, "w1"), w2 = golden_tensor(f, "w2");
  Conv2dParams pad1;
  pad1.pad_h = pad1.pad_w = 1;
  auto feats = [&](const Tensor& x) {
    Tensor h1 = relu(conv2d(x, w1, Tensor(), pad1));
    return std::make_pair(h1, relu(conv2d(h1, w2, Tensor(), pad1)));
  };
  Tensor c2, s1, s2;
  {
    NoGradGuard no_grad;
    c2 = feats(golden_tensor(f, "content")).second;
    auto [h1, h2] = feats(golden_tensor(f, "style"));
    s1 = style::gram_matrix(h1);
    s2 = style::gram_matrix(h2);
  }
  expect_iterates_match("lbfgs_style",
                        [&](const Tensor& x) {
                          auto [h1, h2] = feats(x);
                          return style::content_loss(h2, c2) + style::style_loss(h1, s1) * 100 +
                                 style::style_loss(h2, s2) * 50 + style::total_variation(x) * 0.1;
                        },
                        {.max_iter = 5, .history_size = 4, .strong_wolfe = true});
}

TEST(LBFGS, MinimisesRosenbrock) {
  // A non-convex valley: strong-Wolfe L-BFGS reaches the minimum (1, 1) from torch's usual start.
  Tensor x = Tensor::from_vector<double>({-1.2, 1.0}, {2}).set_requires_grad(true);
  LBFGS opt({x}, {.max_iter = 100, .strong_wolfe = true});
  opt.step([&] {
    opt.zero_grad();
    Tensor a = x.slice(0, 1), b = x.slice(1, 2);
    Tensor l = sum(pow(1.0 - a, 2) + 100 * pow(b - a * a, 2));
    l.backward();
    return l.item();
  });
  EXPECT_NEAR(x.at({0}), 1.0, 1e-4);
  EXPECT_NEAR(x.at({1}), 1.0, 1e-4);
  EXPECT_LT(opt.n_iter(), 100);
}

TEST(LBFGS, StopsWhenTheGradientIsBelowTolerance) {
  Tensor x = Tensor::from_vector<double>({0.5, -0.5}, {2}).set_requires_grad(true);
  LBFGS opt({x}, {.tolerance_grad = 2.0});
  opt.step([&] {
    opt.zero_grad();
    Tensor l = sum(x * x);  // gradient 2x: max |g| = 1 <= 2
    l.backward();
    return l.item();
  });
  EXPECT_EQ(opt.func_evals(), 1);
  EXPECT_EQ(opt.n_iter(), 0);
  EXPECT_EQ(x.at({0}), 0.5);
}

TEST(LBFGS, StateRoundTripContinuesTheSameRun) {
  auto f = load_golden("lbfgs_quadratic");
  Objective q = quadratic(f);
  auto closure_for = [&](LBFGS& opt, Tensor& x) {
    return [&, q] {
      opt.zero_grad();
      Tensor l = q(x);
      l.backward();
      return l.item();
    };
  };
  LBFGSOptions o{.lr = 0.5, .max_iter = 4, .history_size = 3};
  Tensor a = golden_tensor(f, "x0").clone().set_requires_grad(true);
  Tensor b = a.detach().clone().set_requires_grad(true);
  LBFGS oa({a}, o), ob({b}, o);
  oa.step(closure_for(oa, a));
  ob.step(closure_for(ob, b));
  LBFGS ob2({b}, o);
  ob2.load_state(ob.state());
  oa.step(closure_for(oa, a));
  ob2.step(closure_for(ob2, b));
  EXPECT_EQ(test::max_abs_diff(a.detach(), b.detach()), 0.0);
  EXPECT_EQ(ob2.n_iter(), oa.n_iter());
}

TEST(LBFGS, RefusesBadOptionsAndClosurelessStep) {
  Tensor x = Tensor::zeros({3}).set_requires_grad(true);
  EXPECT_THROW_WITH(LBFGS({x}, {.lr = 0}), "LBFGS", "lr");
  EXPECT_THROW_WITH(LBFGS({x}, {.history_size = 0}), "history_size");
  EXPECT_THROW_WITH(LBFGS({x, Tensor::zeros({2}, DType::f64)}), "parameter 1", "float64");
  EXPECT_THROW_WITH(LBFGS({Tensor::zeros({2}, DType::i64)}), "floating");
  LBFGS opt({x});
  EXPECT_THROW_WITH(opt.step(), "closure");
  LBFGS other({Tensor::zeros({5})});
  EXPECT_THROW_WITH(other.load_state({{"n_iter", Tensor::full({}, 1, DType::i64)},
                                      {"func_evals", Tensor::full({}, 1, DType::i64)},
                                      {"d", Tensor::zeros({3})}}),
                    "'d'", "5 elements");
}
