// models::conv_arithmetic: output sizes by the formula, parameters and MACs equal to the summary's,
// and receptive fields equal to the published ones (Araujo et al., "Computing Receptive Fields of
// Convolutional Neural Networks", Distill 2019: AlexNet 195, VGG-16 212) and to a hand count
// through a residual add.
#include <gtest/gtest.h>

#include "convkit/backend.h"
#include "convkit/models/arithmetic.h"
#include "convkit/models/registry.h"
#include "convkit/nn/init.h"
#include "convkit/nn/layers.h"
#include "convkit/nn/summary.h"
#include "convkit/ops/elementwise.h"

namespace convkit {
namespace {

std::shared_ptr<nn::Module> make(const std::string& name, int64_t c, int64_t k, int64_t size) {
  nn::init::SkipInitGuard shapes_only;
  return models::create_model(name, {c, k, size});
}

// The last layer of `op` in the report.
const models::LayerArithmetic& last(const models::ModelArithmetic& a, const std::string& op) {
  for (auto it = a.layers.rbegin(); it != a.layers.rend(); ++it)
    if (it->op == op) return *it;
  throw Error("no " + op);
}

TEST(ConvArithmetic, LeNet5SizesParamsAndMacsAgreeWithTheSummary) {
  auto m = make("lenet5", 1, 10, 28);
  const models::ModelArithmetic a = models::conv_arithmetic(*m, 1, 28, 28);
  const nn::ModelInfo info = nn::trace(*m, Shape{1, 1, 28, 28});
  EXPECT_EQ(a.params, info.params);
  EXPECT_EQ(a.macs, info.macs);
  ASSERT_FALSE(a.layers.empty());
  const models::LayerArithmetic& c1 = a.layers[0];
  EXPECT_EQ(c1.op, "conv2d");
  EXPECT_EQ(c1.kernel_h, 5);
  EXPECT_EQ(c1.pad_h, 2);
  EXPECT_EQ(c1.output, (Shape{1, 6, 28, 28}));
  EXPECT_EQ(c1.params, 6 * 5 * 5 + 6);
  EXPECT_EQ(c1.macs, 28 * 28 * 6 * 5 * 5);
  EXPECT_EQ(models::output_size_formula(28, 5, 1, 2, 1, false, 28),
            "floor((28 + 2*2 - 5) / 1) + 1 = 28");
  EXPECT_EQ(models::output_size_formula(7, 3, 2, 0, 2, true, 2),
            "ceil((7 + 2*0 - 2*(3-1) - 1) / 2) + 1 = 2");
  // Every windowed layer's output size is the formula's.
  for (const auto& l : a.layers)
    if (l.kernel_h > 0) {
      const int64_t o =
          (l.input.dim(2) + 2 * l.pad_h - l.dilation_h * (l.kernel_h - 1) - 1) / l.stride_h + 1;
      EXPECT_EQ(l.output.dim(2), o) << l.op;
    }
  // C1 5 -> S2 6 (jump 2) -> C3 14 -> S4 16 (jump 4) -> C5 32: the whole 28x28 input and more.
  EXPECT_EQ(last(a, "avg_pool2d").rf_h, 16);
  EXPECT_EQ(last(a, "avg_pool2d").jump_h, 4);
  EXPECT_EQ(last(a, "conv2d").rf_h, 32);
  EXPECT_TRUE(last(a, "linear").global);
}

TEST(ConvArithmetic, PublishedReceptiveFieldsOfAlexNetAndVgg16) {
  // The fields do not depend on the input size: the smallest inputs keep the forward passes short.
  if (backend() != Backend::dnnl) GTEST_SKIP() << "shapes only: runs once, on the default backend";
  const auto alex = models::conv_arithmetic(*make("alexnet", 3, 10, 63), 3, 63, 63);
  EXPECT_EQ(last(alex, "max_pool2d").rf_h, 195);
  EXPECT_EQ(last(alex, "max_pool2d").jump_h, 32);
  const auto vgg = models::conv_arithmetic(*make("vgg16", 3, 10, 32), 3, 32, 32);
  EXPECT_EQ(last(vgg, "conv2d").rf_h, 196);  // conv5_3
  EXPECT_EQ(last(vgg, "max_pool2d").rf_h, 212);
  EXPECT_EQ(last(vgg, "max_pool2d").jump_h, 32);
  // Padding 1 on every 3x3 keeps unit (0, 0) centred on pixel 0 until the 2x2 pools move it by
  // half a jump each: 0.5 + 1 + 2 + 4 + 8.
  EXPECT_DOUBLE_EQ(last(vgg, "max_pool2d").center_h, 15.5);
}

// x -> conv 3x3 s2 -> a: branch conv 3x3 dilation 2 (r 3 + 4*2 = 11) + shortcut (r 3): the add
// takes 11; a 1x1 then keeps it.
class TwoBranches : public nn::Module {
 public:
  TwoBranches() : Module("TwoBranches") {
    stem = register_module("stem", std::make_shared<nn::Conv2d>(1, 4, 3, 2, 1));
    branch = register_module(
        "branch", std::make_shared<nn::Conv2d>(nn::Conv2dOptions(4, 4, 3).padding(2).dilation(2)));
    head = register_module("head", std::make_shared<nn::Conv2d>(4, 2, 1));
  }
  Tensor forward(const Tensor& x) override {
    const Tensor a = (*stem)(x);
    return (*head)(add(a, (*branch)(a)));
  }
  std::shared_ptr<nn::Module> stem, branch, head;
};

TEST(ConvArithmetic, AResidualAddTakesTheWiderBranch) {
  TwoBranches net;
  const auto a = models::conv_arithmetic(net, 1, 32, 32);
  EXPECT_EQ(last(a, "add").rf_h, 11);
  EXPECT_EQ(last(a, "add").jump_h, 2);
  EXPECT_EQ(a.layers.back().op, "conv2d");
  EXPECT_EQ(a.layers.back().rf_h, 11);
  EXPECT_FALSE(a.layers.back().global);
}

TEST(ConvArithmetic, AnInputTooSmallThrowsAndTheModeIsRestored) {
  auto m = make("alexnet", 3, 10, 224);
  m->train();
  EXPECT_THROW(models::conv_arithmetic(*m, 3, 16, 16), Error);
  EXPECT_TRUE(m->is_training());
}

}  // namespace
}  // namespace convkit
