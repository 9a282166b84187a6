#include <gtest/gtest.h>

#include "convkit/models/registry.h"
#include "convkit/nn/layers.h"
#include "convkit/nn/summary.h"
#include "convkit/ops.h"
#include "support/gradcheck.h"

using namespace convkit;

TEST(Layers, ParameterCountsOfTheRegisteredModels) {
  auto count = [](const std::string& n) {
    return models::create_model(n, {1, 10, 28})->num_parameters();
  };
  // LeNet-5: C1 156 + C3 2416 + C5 48120 + F6 10164 + output 850.
  EXPECT_EQ(count("lenet5"), 61706);
  EXPECT_EQ(count("lenet5-modern"), 61706 + 2 * (6 + 16 + 120));  // + batch norm scales, shifts
  // SmallCNN: 320 + 18496 + 3136*128+128 + 1290.
  EXPECT_EQ(count("small-cnn"), 320 + 18496 + 401536 + 1290);
  // ResNet-20 with 1x1 projection shortcuts (option B), 1 input channel.
  EXPECT_EQ(count("resnet20"), 272186);
  EXPECT_GT(count("resnet56"), 850000);
  EXPECT_THROW_WITH(models::create_model("resnet21", {}), "unknown model 'resnet21'", "resnet20");
}

TEST(Layers, SummaryListsLayersShapesAndTotals) {
  auto m = models::create_model("resnet20", {3, 10, 32});
  nn::ModelInfo info = nn::trace(*m, {1, 3, 32, 32});
  EXPECT_EQ(info.output, Shape({1, 10}));
  EXPECT_EQ(info.params, m->num_parameters());
  int64_t sum = 0;
  for (auto& l : info.layers) sum += l.params;
  EXPECT_EQ(sum, info.params);  // every parameter belongs to exactly one listed layer
  EXPECT_EQ(info.layers.front().name, "conv1");
  EXPECT_EQ(info.layers.front().output, Shape({1, 16, 32, 32}));
  EXPECT_EQ(info.layers.front().macs, 16 * 32 * 32 * 27);
  std::string s = nn::summary(*m, {1, 3, 32, 32});
  EXPECT_NE(s.find("layer3.2.bn2"), std::string::npos);
  EXPECT_NE(s.find("Total params: "), std::string::npos);
  EXPECT_TRUE(m->is_training());  // summary restores the mode
}

TEST(Layers, BatchNormTracksRunningStatisticsInTrainingOnly) {
  nn::BatchNorm2d bn(3);
  Tensor x = Tensor::randn({4, 3, 5, 5});
  bn(x);
  EXPECT_EQ(bn.num_batches_tracked.data<int64_t>()[0], 1);
  Tensor rm = bn.running_mean.clone();
  EXPECT_GT(test::max_abs(rm), 0.0);
  bn.eval();
  bn(x);
  EXPECT_EQ(test::max_abs_diff(rm, bn.running_mean), 0.0);
  EXPECT_EQ(bn.num_batches_tracked.data<int64_t>()[0], 1);
}

TEST(Layers, HandWrittenResidualBlockTrains) {
  struct Block : nn::Module {
    std::shared_ptr<nn::Conv2d> conv1, conv2;
    std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
    Block() : Module("Block") {
      conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1, false));
      bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(4));
      conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(4, 4, 3, 1, 1, false));
      bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(4));
    }
    Tensor forward(const Tensor& x) override {
      Tensor h = relu((*bn1)((*conv1)(x)));
      return relu((*bn2)((*conv2)(h)) + x);
    }
  } block;
  Tensor x = Tensor::randn({2, 4, 6, 6}).set_requires_grad(true);
  Tensor y = block(x);
  EXPECT_EQ(y.shape(), x.shape());
  sum(y).backward();
  EXPECT_TRUE(block.conv1->weight.grad().defined());
  EXPECT_TRUE(x.grad().defined());
  EXPECT_EQ(block.named_parameters()[0].first, "conv1.weight");
}

TEST(Layers, ConstructorErrorsNameTheLayer) {
  EXPECT_THROW_WITH(nn::Conv2d(nn::Conv2dOptions(6, 4, 3).groups(4)), "Conv2d", "groups 4");
  EXPECT_THROW_WITH(nn::Linear(0, 3), "Linear");
  nn::Conv2d conv(3, 8, 3);
  EXPECT_THROW_WITH(conv(Tensor::zeros({1, 2, 8, 8})), "conv2d", "[1,2,8,8]");
}
