// int8 inference plans (include/convkit/infer/plan.h, PlanOptions::int8): calibrated input ranges,
// per-channel weight scales, saturation outside the range, closeness to float32 on zoo networks,
// non-finite inputs marked rather than quantized, and the refusals (reference backend, another
// input size, non-finite calibration images, bfloat16 and int8 at once).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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

// x uniform in [lo, hi] with both ends present, shape [n, 1, 4, 4].
Tensor uniform_with_ends(int64_t n, float lo, float hi, uint64_t seed) {
  Generator gen(seed);
  Tensor x = Tensor::uniform({n, 1, 4, 4}, lo, hi, &gen);
  x.data<float>()[0] = lo;
  x.data<float>()[1] = hi;
  return x;
}

std::shared_ptr<nn::Conv2d> one_by_one(float w, float b) {
  auto conv = std::make_shared<nn::Conv2d>(1, 1, 1);
  conv->weight.data<float>()[0] = w;
  conv->bias.data<float>()[0] = b;
  conv->eval();
  return conv;
}

// One 1x1 convolution y = w x + b: the input is quantized on the calibrated range (u8 for a
// non-negative range, s8 otherwise), values outside it saturate, and the bias lands in the right
// units (a wrong bias scale would be off by far more than one step).
TEST(PlanInt8, QuantizesOnTheCalibratedRangeAndSaturatesOutsideIt) {
  if (backend() != Backend::dnnl) GTEST_SKIP() << "int8 plans run on oneDNN";
  struct Case {
    float lo, hi, w, b;
    double step;  // the input's quantization step
  };
  for (const Case& c : {Case{0, 2, 1, 0.5f, 2.0 / 255}, Case{-1, 1, -0.75f, 0.25f, 1.0 / 127}}) {
    auto conv = one_by_one(c.w, c.b);
    infer::PlanOptions o;
    o.int8 = infer::InferencePlan::calibrate(*conv, uniform_with_ends(40, c.lo, c.hi, 1));
    ASSERT_EQ(o.int8->inputs.size(), 1u);
    EXPECT_FLOAT_EQ(o.int8->inputs[0].min, c.lo);
    EXPECT_FLOAT_EQ(o.int8->inputs[0].max, c.hi);
    EXPECT_EQ(o.int8->images, 40);
    const auto plan = infer::InferencePlan::build(*conv, {8, 1, 4, 4}, o);
    EXPECT_TRUE(plan->stats().int8);
    EXPECT_NE(plan->stats().to_string().find("int8 fused convolutions"), std::string::npos);
    // Twice the calibrated range: the outer half saturates.
    const Tensor x = uniform_with_ends(8, 2 * c.lo, 2 * c.hi, 2);
    const Tensor y = plan->run(x).to(DType::f32);
    // The quantization model: q = round(x / step) saturated to u8 [0, 255] or s8 [-128, 127]
    // (so a negative input saturates one step beyond -range), y = w * q * step + b; the weight
    // itself is exact (one value per channel, quantized to +-127).
    const double qlo = c.lo >= 0 ? 0 : -128, qhi = c.lo >= 0 ? 255 : 127;
    double worst = 0, moved = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double xi = x.data<float>()[i];
      const double q = std::clamp(std::nearbyint(xi / c.step), qlo, qhi);
      const double want = double(c.w) * q * c.step + c.b;
      worst = std::max(worst, std::abs(double(y.data<float>()[i]) - want));
      moved = std::max(moved, std::abs(double(y.data<float>()[i]) - (double(c.w) * xi + c.b)));
    }
    EXPECT_LE(worst, 1e-5) << c.lo << ".." << c.hi;
    EXPECT_GT(moved, 0.5 * std::abs(c.w) * (c.hi - c.lo) / 2) << "nothing saturated";
  }
}

// Zoo networks with random weights and batch-norm statistics: close to float32 on images from the
// calibration's distribution (not the calibration images themselves), not identical to it (the
// convolutions ran in int8), grouped/depthwise convolutions included (MobileNet v2).
TEST(PlanInt8, ZooNetworksStayCloseToFloat32) {
  if (backend() != Backend::dnnl) GTEST_SKIP() << "int8 plans run on oneDNN";
  for (const char* name : {"resnet20", "mobilenet_v2"}) {
    if (std::string(name) == "mobilenet_v2" && !test::large_models_run_here()) continue;
    manual_seed(3);
    const int64_t size = std::string(name) == "resnet20" ? 28 : 32;
    auto model = models::create_model(name, {3, 10, size});
    model->eval();
    Generator gen(5);
    infer::PlanOptions o;
    o.int8 = infer::InferencePlan::calibrate(*model, Tensor::randn({24, 3, size, size}, &gen), 8);
    const Shape shape{8, 3, size, size};
    const auto f32 = infer::InferencePlan::build(*model, shape);
    const auto q = infer::InferencePlan::build(*model, shape, o);
    EXPECT_EQ(q->stats().fused_convolutions, f32->stats().fused_convolutions);
    EXPECT_LE(q->stats().relative_rms_error, infer::InferencePlan::kInt8MaxError);
    const Tensor x = Tensor::randn(shape, &gen);
    const Tensor want = f32->run(x), got = q->run(x);
    const double rel = test::relative_rms(got, want);
    // Random weights spread the error evenly over the classes; trained networks keep their top-1
    // class (docs/performance.md, "int8"): here only the plan's own limit is asserted.
    EXPECT_LT(rel, infer::InferencePlan::kInt8MaxError) << name;
    EXPECT_GT(rel, 1e-4) << name << ": identical to float32, the convolutions did not run in int8";
  }
}

TEST(PlanInt8, NonFiniteInputsGiveNonFiniteRowsNotNumbers) {
  if (backend() != Backend::dnnl) GTEST_SKIP() << "int8 plans run on oneDNN";
  auto conv = one_by_one(1, 0);
  infer::PlanOptions o;
  o.int8 = infer::InferencePlan::calibrate(*conv, uniform_with_ends(8, 0, 1, 3));
  const auto plan = infer::InferencePlan::build(*conv, {3, 1, 4, 4}, o);
  Tensor x = uniform_with_ends(3, 0, 1, 4);
  x.data<float>()[16 + 5] = NAN;       // image 1
  x.data<float>()[32 + 2] = INFINITY;  // image 2
  const Tensor y = plan->run(x).to(DType::f32);
  for (int64_t i = 0; i < 16; ++i) EXPECT_TRUE(std::isfinite(y.data<float>()[i])) << i;
  for (int64_t i = 16; i < 48; ++i) EXPECT_TRUE(std::isnan(y.data<float>()[i])) << i;
}

void expect_error(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one saying '" << part << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(PlanInt8, BadCalibrationsAndImpossiblePlansAreRefused) {
  auto conv = one_by_one(1, 0);
  if (backend() != Backend::dnnl) {
    expect_error([&] { infer::InferencePlan::calibrate(*conv, uniform_with_ends(4, 0, 1, 6)); },
                 "int8 convolutions need the oneDNN backend");
    infer::PlanOptions o;
    o.int8 = std::make_shared<infer::Calibration>();
    expect_error(
        [&] {
          infer::InferencePlan::build(*conv, {1, 1, 4, 4}, o);
        },
        "int8 convolutions need the oneDNN backend");
    return;
  }
  Tensor bad = uniform_with_ends(4, 0, 1, 5);
  bad.data<float>()[3 * 16 + 7] = NAN;
  expect_error([&] { infer::InferencePlan::calibrate(*conv, bad, 2); },
               "NaN value reaches convolution 1");
  expect_error(
      [&] {
        infer::InferencePlan::calibrate(*conv, Tensor::empty({0, 1, 4, 4}));
      },
      "M >= 1");
  expect_error(
      [&] {
        infer::InferencePlan::calibrate(*conv, Tensor::empty({4, 16}));
      },
      "expected images [M, C, H, W]");
  infer::PlanOptions o;
  o.int8 = infer::InferencePlan::calibrate(*conv, uniform_with_ends(4, 0, 1, 6));
  expect_error(
      [&] {
        infer::InferencePlan::build(*conv, {1, 1, 8, 8}, o);
      },
      "calibrate on images of the size the model will run on");
  infer::PlanOptions both = o;
  both.bf16 = true;
  expect_error(
      [&] {
        infer::InferencePlan::build(*conv, {1, 1, 4, 4}, both);
      },
      "bfloat16 or int8, not both");
  // Another model than the one calibrated.
  auto two = std::make_shared<nn::Sequential>();
  two->add(one_by_one(1, 0));
  two->add(one_by_one(2, 0));
  two->eval();
  expect_error(
      [&] {
        infer::InferencePlan::build(*two, {1, 1, 4, 4}, o);
      },
      "another model was calibrated?");
}

TEST(PlanInt8, SessionCalibratesOnceAndRunsEveryShapeInInt8) {
  manual_seed(7);
  infer::ModelBundle b;
  b.module = models::create_model("resnet20", {1, 10, 28});
  b.name = "resnet20";
  b.in_channels = 1;
  b.image_size = 28;
  b.num_classes = 10;
  Generator gen(8);
  infer::SessionOptions o;
  o.int8_calibration = Tensor::randn({12, 1, 28, 28}, &gen);
  if (backend() != Backend::dnnl) {
    EXPECT_THROW(infer::Session(b, o), Error);  // no float32 fallback
    return;
  }
  const infer::Session s(b, o);
  infer::SessionOptions f32_options;
  const infer::Session f32(b, f32_options);
  for (int64_t n : {1, 5}) {
    const Tensor x = Tensor::randn({n, 1, 28, 28}, &gen);
    EXPECT_LT(test::relative_rms(s.logits(x), f32.logits(x)), 0.05) << n;
  }
  const std::vector<std::string> report = s.plan_report();
  ASSERT_EQ(report.size(), 2u);
  for (const std::string& line : report) EXPECT_NE(line.find("int8"), std::string::npos) << line;
  infer::SessionOptions off = o;
  off.plan = false;
  EXPECT_THROW(infer::Session(b, off), Error);  // int8 exists only on the planned path
}

}  // namespace
}  // namespace convkit
