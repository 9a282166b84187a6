// infer::InferencePlan (include/convkit/infer/plan.h): the planned path answers like the model on
// zoo networks (batch norm folded, activations and residual sums fused), counts what it fused, and
// refuses what it cannot plan (unknown ops, values the trace cannot see, training mode), in which
// case a Session runs the model itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include "convkit/backend.h"
#include "convkit/infer/plan.h"
#include "convkit/infer/session.h"
#include "convkit/models/registry.h"
#include "convkit/nn/layers.h"
#include "convkit/ops.h"
#include "convkit/random.h"
#include "support/gradcheck.h"
#include "support/test_budget.h"

namespace convkit {
namespace {

// Random batch-norm statistics and affine parameters, so that folding them is not the identity.
void randomize_batch_norms(nn::Module& m) {
  Generator gen(11);
  for (auto& [name, t] : m.named_buffers()) {
    if (t.dtype() != DType::f32) continue;
    const bool var = name.size() > 11 && name.substr(name.size() - 11) == "running_var";
    const Tensor r = Tensor::uniform(t.shape(), 0, 1, &gen);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data<float>()[i] = var ? 0.5f + r.data<float>()[i] : 0.2f * (r.data<float>()[i] - 0.5f);
  }
  for (auto& [name, t] : m.named_parameters())
    if (t.ndim() == 1 && name.find("bn") != std::string::npos) {
      const Tensor r = Tensor::uniform(t.shape(), 0, 1, &gen);
      for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 0.5f + r.data<float>()[i];
    }
}

struct ZooCase {
  std::string name;
  int64_t size;
  int64_t folded, sums, activations;  // expected fusion counts
};

class PlanZoo : public ::testing::TestWithParam<ZooCase> {};

TEST_P(PlanZoo, AnswersLikeTheModelWithEverythingFused) {
  const ZooCase& c = GetParam();
  if (c.size > 32 && !test::large_models_run_here()) GTEST_SKIP() << "too slow here";
  manual_seed(5);
  auto model = models::create_model(c.name, {3, 10, c.size});
  randomize_batch_norms(*model);
  model->eval();
  const Shape shape{2, 3, c.size, c.size};
  const auto plan = infer::InferencePlan::build(*model, shape);
  const infer::PlanStats& s = plan->stats();
  EXPECT_EQ(s.folded_batch_norms, c.folded) << s.to_string();
  EXPECT_EQ(s.fused_sums, c.sums) << s.to_string();
  EXPECT_EQ(s.fused_activations, c.activations) << s.to_string();
  EXPECT_LT(s.steps, s.traced_ops) << s.to_string();
  Generator gen(9);
  for (int rep = 0; rep < 2; ++rep) {  // the plan is reused
    const Tensor x = Tensor::randn(shape, &gen);
    Tensor want;
    {
      NoGradGuard no_grad;
      want = (*model)(x);
    }
    const Tensor got = plan->run(x);
    EXPECT_LE(test::max_abs_diff(got, want), 1e-4 * std::max(1.0, test::max_abs(want)))
        << c.name << " " << s.to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(Zoo, PlanZoo,
                         ::testing::Values(ZooCase{"small-cnn", 16, 0, 0, 2},
                                           ZooCase{"resnet20", 28, 21, 9, 19},
                                           ZooCase{"resnet18", 64, 20, 8, 17},
                                           ZooCase{"mobilenet_v2", 64, 52, 10, 35}),
                         [](const ::testing::TestParamInfo<ZooCase>& info) {
                           std::string n = info.param.name;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

TEST(Plan, WrongShapesAndTrainingModeAreRefused) {
  manual_seed(1);
  auto model = models::create_model("small-cnn", {1, 5, 16});
  EXPECT_THROW(infer::InferencePlan::build(*model, {1, 1, 16, 16}), Error);  // training mode
  model->eval();
  const auto plan = infer::InferencePlan::build(*model, {1, 1, 16, 16});
  try {
    plan->run(Tensor::zeros({2, 1, 16, 16}));
    ADD_FAILURE() << "a batch of 2 ran through a plan for 1";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("planned for inputs [1,1,16,16], got [2,1,16,16]"),
              std::string::npos)
        << e.what();
  }
}

// x -> topk values (an op the planner does not replay).
struct TopKNet : nn::Module {
  TopKNet() : Module("TopKNet") {}
  Tensor forward(const Tensor& x) override {
    return topk(relu(x).reshape({x.size(0), -1}), TopKParams{}.set_k(3).set_dim(1)).values;
  }
};
// A value computed from the input behind the tracer's back (a copy through raw memory): the trace
// sees a constant, and only the check on a second input can tell.
struct HiddenNet : nn::Module {
  HiddenNet() : Module("HiddenNet") {}
  Tensor forward(const Tensor& x) override {
    Tensor copy = Tensor::empty(x.shape());
    std::copy(x.data<float>(), x.data<float>() + x.numel(), copy.data<float>());
    return add(relu(copy), mul(x, 0.0)).reshape({x.size(0), -1});
  }
};

TEST(Plan, WhatCannotBePlannedIsRefusedAndTheSessionRunsTheModel) {
  auto topk_net = std::make_shared<TopKNet>();
  topk_net->eval();
  try {
    infer::InferencePlan::build(*topk_net, {2, 1, 4, 4});
    ADD_FAILURE() << "topk was planned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'topk', which the planner cannot replay"),
              std::string::npos)
        << e.what();
  }
  auto hidden = std::make_shared<HiddenNet>();
  hidden->eval();
  try {
    infer::InferencePlan::build(*hidden, {2, 1, 4, 4});
    ADD_FAILURE() << "a detached input was frozen into the plan";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("differs from the model's"), std::string::npos)
        << e.what();
  }
  infer::ModelBundle b;
  b.module = topk_net;
  b.name = "topk-net";
  b.in_channels = 1;
  b.image_size = 4;
  b.num_classes = 3;
  const infer::Session session(b);
  Generator gen(3);
  const Tensor x = Tensor::randn({2, 1, 4, 4}, &gen);
  Tensor want;
  {
    NoGradGuard no_grad;
    want = (*topk_net)(x);
  }
  EXPECT_LE(test::max_abs_diff(session.logits(x), want), 0.0);
  const std::vector<std::string> report = session.plan_report();
  ASSERT_EQ(report.size(), 1u);
  EXPECT_NE(report[0].find("[2,1,4,4]: not planned: inference plan: the forward pass uses 'topk'"),
            std::string::npos)
      << report[0];
}

// A 1 x 28 x 28, 10-class ResNet-20 with random batch-norm statistics, weights seeded by `seed`.
infer::ModelBundle resnet20_bundle(uint64_t seed) {
  manual_seed(seed);
  infer::ModelBundle b;
  b.module = models::create_model("resnet20", {1, 10, 28});
  randomize_batch_norms(*b.module);
  b.name = "resnet20";
  b.in_channels = 1;
  b.image_size = 28;
  b.num_classes = 10;
  return b;
}

TEST(Plan, SessionPlansEachShapeAndAnswersLikeTheModel) {
  const infer::ModelBundle b = resnet20_bundle(2);
  infer::SessionOptions off;
  off.plan = false;
  const infer::Session planned(b, {}), plain(b, off);
  Generator gen(4);
  for (int64_t n : {1, 3, 1}) {
    const Tensor x = Tensor::randn({n, 1, 28, 28}, &gen);
    EXPECT_LE(test::max_abs_diff(planned.logits(x), plain.logits(x)), 1e-4) << n;
  }
  const std::vector<std::string> report = planned.plan_report();
  ASSERT_EQ(report.size(), 2u);  // two shapes, each planned once
  EXPECT_NE(report[0].find("[1,1,28,28]: "), std::string::npos) << report[0];
  EXPECT_NE(report[0].find("21 batch norms folded"), std::string::npos) << report[0];
  EXPECT_TRUE(plain.plan_report().empty());
}

// Rows of `logits` whose float32 winner leads the runner-up by more than `margin`.
std::vector<int64_t> decided_rows(const Tensor& logits, double margin) {
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < logits.size(0); ++i) {
    std::vector<float> r(logits.data<float>() + i * logits.size(1),
                         logits.data<float>() + (i + 1) * logits.size(1));
    std::partial_sort(r.begin(), r.begin() + 2, r.end(), std::greater<float>());
    if (r[0] - r[1] > margin) rows.push_back(i);
  }
  return rows;
}

int64_t argmax_row(const Tensor& logits, int64_t i) {
  const float* r = logits.data<float>() + i * logits.size(1);
  return std::max_element(r, r + logits.size(1)) - r;
}

bool cpu_has_bf16() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) return line.find(" avx512_bf16") != std::string::npos;
  return false;
}

// bfloat16 convolutions: close to float32 (not identical: the flag reaches the kernels), the same
// class wherever float32 is decided, and refused where they cannot run.
TEST(PlanBf16, AgreesWithFloat32AndIsRefusedWithoutOneDnn) {
  const infer::ModelBundle b = resnet20_bundle(6);
  b.module->eval();
  const Shape shape{64, 1, 28, 28};
  infer::PlanOptions bf16;
  bf16.bf16 = true;
  infer::SessionOptions bf16_session;
  bf16_session.bf16 = true;
  if (backend() == Backend::ref) {
    try {
      infer::InferencePlan::build(*b.module, shape, bf16);
      ADD_FAILURE() << "a bfloat16 plan was built on the reference backend";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("bfloat16 convolutions need the oneDNN backend"),
                std::string::npos)
          << e.what();
    }
    const infer::Session s(b, bf16_session);  // no silent float32 fallback
    EXPECT_THROW(s.logits(Tensor::zeros(shape)), Error);
    return;
  }
  if (!cpu_has_bf16()) GTEST_SKIP() << "this CPU has no AVX-512 BF16";
  const auto f32_plan = infer::InferencePlan::build(*b.module, shape);
  const auto bf16_plan = infer::InferencePlan::build(*b.module, shape, bf16);
  EXPECT_TRUE(bf16_plan->stats().bf16);
  EXPECT_NE(bf16_plan->stats().to_string().find("bfloat16 fused convolutions"), std::string::npos)
      << bf16_plan->stats().to_string();
  Generator gen(8);
  const Tensor x = Tensor::randn(shape, &gen);
  const Tensor want = f32_plan->run(x), got = bf16_plan->run(x);
  const double scale = std::max(1.0, test::max_abs(want)), diff = test::max_abs_diff(got, want);
  EXPECT_LE(diff, 2e-2 * scale);
  EXPECT_GT(diff, 1e-6 * scale) << "identical to float32: the convolutions did not run in bf16";
  const std::vector<int64_t> decided = decided_rows(want, 0.05 * scale);
  EXPECT_GE(decided.size(), 16u) << "too few decided rows for the comparison to mean anything";
  for (int64_t i : decided) EXPECT_EQ(argmax_row(got, i), argmax_row(want, i)) << "row " << i;

  const infer::Session s(b, bf16_session);
  EXPECT_LE(test::max_abs_diff(s.logits(x), got), 0.0);
  EXPECT_NE(s.plan_report().at(0).find("bfloat16"), std::string::npos);
  infer::SessionOptions off = bf16_session;
  off.plan = false;
  EXPECT_THROW(infer::Session(b, off), Error);  // bfloat16 exists only on the planned path
  auto topk_net = std::make_shared<TopKNet>();
  infer::ModelBundle t = b;
  t.module = topk_net;
  t.image_size = 4;
  t.num_classes = 3;
  const infer::Session unplannable(t, bf16_session);
  try {
    unplannable.logits(Tensor::zeros({2, 1, 4, 4}));
    ADD_FAILURE() << "an unplannable model ran in float32 when bfloat16 was asked";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bfloat16 inference of [2,1,4,4] needs a plan"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace convkit
