// Optimizers and LR schedules against torch.optim on the same tensors (tests/golden/gen_optim.py).
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>

#include "convkit/nn/module.h"
#include "convkit/optim/adam.h"
#include "convkit/optim/schedule.h"
#include "convkit/optim/sgd.h"
#include "support/golden.h"
#include "support/gradcheck.h"

using namespace convkit;
using namespace convkit::optim;
using test::golden_tensor;
using test::load_golden;

namespace {

using MakeOpt = std::function<std::unique_ptr<Optimizer>(std::vector<ParamGroup>)>;

std::vector<ParamGroup> group_of(const Tensor& p, double lr, double wd = 0) {
  ParamGroup g;
  g.params = {p};
  g.lr = lr;
  g.weight_decay = wd;
  return {g};
}

// Replays the golden file's gradients through `make`'s optimizer (float64) and compares the final
// parameter with torch's.
void expect_matches_torch(const std::string& name, double lr, double wd, const MakeOpt& make) {
  auto f = load_golden("optim_" + name);
  Tensor p = golden_tensor(f, "p0").clone();
  p.set_requires_grad(true);
  Tensor grads = golden_tensor(f, "grads");
  auto opt = make(group_of(p, lr, wd));
  for (int64_t k = 0; k < grads.size(0); ++k) {
    p.set_grad(grads.select(k).clone());
    opt->step();
  }
  EXPECT_LT(test::rel_error(p, golden_tensor(f, "p_final")), 1e-12) << name;
}

template <class O, class Opts>
MakeOpt maker(Opts o) {
  return [o](std::vector<ParamGroup> g) { return std::make_unique<O>(std::move(g), o); };
}

}  // namespace

TEST(Optim, SGDMatchesTorch) {
  expect_matches_torch("sgd_plain", 0.1, 0, maker<SGD>(SGDOptions{}));
  expect_matches_torch("sgd_momentum_wd", 0.1, 5e-4, maker<SGD>(SGDOptions{.momentum = 0.9}));
  expect_matches_torch("sgd_nesterov", 0.05, 1e-3,
                       maker<SGD>(SGDOptions{.momentum = 0.9, .nesterov = true}));
  expect_matches_torch("sgd_dampening", 0.1, 0,
                       maker<SGD>(SGDOptions{.momentum = 0.8, .dampening = 0.3}));
}

TEST(Optim, AdamMatchesTorch) {
  expect_matches_torch("adam", 0.01, 0, maker<Adam>(AdamOptions{}));
  expect_matches_torch("adam_wd", 0.01, 0.1,
                       maker<Adam>(AdamOptions{.beta1 = 0.8, .beta2 = 0.99, .eps = 1e-6}));
  expect_matches_torch("adamw", 0.01, 0.1, maker<AdamW>(AdamOptions{}));
}

TEST(Optim, StateRoundTripContinuesExactly) {
  auto f = load_golden("optim_adam_wd");
  Tensor grads = golden_tensor(f, "grads");
  for (int which = 0; which < 2; ++which) {
    auto make = [&](const Tensor& p) -> std::unique_ptr<Optimizer> {
      if (which == 0)
        return std::make_unique<SGD>(group_of(p, 0.1, 1e-3), SGDOptions{.momentum = 0.9});
      return std::make_unique<Adam>(group_of(p, 0.01, 0.1));
    };
    Tensor a = golden_tensor(f, "p0").clone().set_requires_grad(true);
    Tensor b = a.detach().clone().set_requires_grad(true);
    auto oa = make(a);
    auto ob = make(b);
    for (int64_t k = 0; k < 2; ++k) {
      b.set_grad(grads.select(k).clone());
      ob->step();
    }
    // Resume b's run in a fresh optimizer from its saved state.
    auto ob2 = make(b);
    ob2->load_state(ob->state());
    for (int64_t k = 0; k < grads.size(0); ++k) {
      a.set_grad(grads.select(k).clone());
      oa->step();
      if (k >= 2) {
        b.set_grad(grads.select(k).clone());
        ob2->step();
      }
    }
    EXPECT_EQ(test::max_abs_diff(a, b), 0.0) << which;
  }
}

TEST(Optim, LoadStateRejectsMismatch) {
  Tensor p = Tensor::zeros({2, 2}, DType::f64).set_requires_grad(true);
  SGD opt(group_of(p, 0.1), SGDOptions{.momentum = 0.9});
  p.set_grad(Tensor::ones({2, 2}, DType::f64));
  opt.step();
  auto st = opt.state();
  ASSERT_FALSE(st.empty());
  for (auto& [k, v] : st) v = Tensor::zeros({3}, DType::f64);
  SGD fresh(group_of(p, 0.1), SGDOptions{.momentum = 0.9});
  EXPECT_THROW_WITH(fresh.load_state(st), "shape", "[3]", "[2,2]");
}

TEST(Optim, InvalidOptionsAreRejected) {
  Tensor p = Tensor::zeros({2}).set_requires_grad(true);
  EXPECT_THROW_WITH(SGD(group_of(p, -1.0)), "negative learning rate");
  EXPECT_THROW_WITH(SGD(group_of(p, 0.1), SGDOptions{.nesterov = true}), "esterov");
}

TEST(Optim, SkipsParametersWithoutGradient) {
  Tensor p = Tensor::ones({3}).set_requires_grad(true);
  SGD opt(group_of(p, 0.5), SGDOptions{.momentum = 0.9});
  opt.step();
  EXPECT_EQ(p.at({0}), 1.0);
}

TEST(Optim, ClipGradNormScalesToMaxNorm) {
  Tensor a = Tensor::zeros({2}).set_requires_grad(true);
  Tensor b = Tensor::zeros({1}).set_requires_grad(true);
  a.set_grad(Tensor::from_vector<float>({3, 0}, {2}));
  b.set_grad(Tensor::from_vector<float>({4}, {1}));
  double norm = clip_grad_norm({a, b}, 1.0);
  EXPECT_NEAR(norm, 5.0, 1e-6);
  EXPECT_NEAR(a.grad().at({0}), 0.6, 1e-5);
  EXPECT_NEAR(b.grad().at({0}), 0.8, 1e-5);
  // Below the limit nothing changes.
  clip_grad_norm({a, b}, 10.0);
  EXPECT_NEAR(b.grad().at({0}), 0.8, 1e-6);
}

TEST(Optim, NoDecayGroupsSplitByRank) {
  struct Net : nn::Module {
    Net() : Module("Net") {
      register_parameter("weight", Tensor::zeros({4, 3}));
      register_parameter("bias", Tensor::zeros({4}));
      register_parameter("bn_weight", Tensor::zeros({4}));
    }
  } net;
  auto groups = groups_no_decay_on_bias_and_bn(net, 0.1, 5e-4);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].params.size(), 1u);
  EXPECT_EQ(groups[0].weight_decay, 5e-4);
  EXPECT_EQ(groups[1].params.size(), 2u);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
}

TEST(Schedules, CurvesMatchTorch) {
  auto f = load_golden("schedules");
  const double base = 0.5;
  auto check = [&](const std::string& key, const LRSchedule& s) {
    Tensor want = golden_tensor(f, key);
    for (int64_t t = 0; t < want.numel(); ++t)
      EXPECT_NEAR(s.lr_at(t, base), want.at({t}), 1e-12) << key << " at t=" << t;
  };
  check("step", *step_lr(7, 0.5));
  check("multistep", *multi_step_lr({5, 12, 30}, 0.2));
  check("exponential", *exponential_lr(0.93));
  check("cosine", *cosine_lr(40, 0.001));
  check("warmup_cosine", *with_warmup(cosine_lr(35), 5, 0.1));
}

TEST(Schedules, ApplyScheduleUsesEachGroupsBaseRate) {
  Tensor p = Tensor::zeros({1}).set_requires_grad(true);
  Tensor q = Tensor::zeros({1}).set_requires_grad(true);
  std::vector<ParamGroup> groups = group_of(p, 0.4);
  groups.push_back(group_of(q, 0.04)[0]);  // e.g. a pretrained base at a tenth of the rate
  SGD opt(groups);
  apply_schedule(*step_lr(2, 0.5), opt, 5);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].lr, 0.1);
  EXPECT_DOUBLE_EQ(opt.param_groups()[1].lr, 0.01);
  EXPECT_DOUBLE_EQ(linear_scaled_lr(0.1, 512), 0.2);
  EXPECT_THROW_WITH(with_warmup(nullptr, 5), "with_warmup");
}

TEST(Schedules, ReduceOnPlateauMatchesTorch) {
  auto f = load_golden("schedules");
  Tensor metrics = golden_tensor(f, "plateau_metrics");
  Tensor want = golden_tensor(f, "plateau");
  Tensor p = Tensor::zeros({1}).set_requires_grad(true);
  SGD opt(group_of(p, 0.5));
  ReduceOnPlateau plateau(
      PlateauOptions{.factor = 0.5, .patience = 2, .cooldown = 1, .min_lr = 0.01});
  for (int64_t t = 0; t < metrics.numel(); ++t) {
    plateau.step(metrics.at({t}), opt);
    EXPECT_NEAR(opt.param_groups()[0].lr, want.at({t}), 1e-12) << "epoch " << t;
  }
}
