// Feature maps (include/convkit/viz/feature_maps.h): capture by dotted path, per-channel numbers,
// the grid image, bad inputs.
#include <gtest/gtest.h>

#include "convkit/nn/layers.h"
#include "convkit/random.h"
#include "convkit/viz/feature_maps.h"
#include "support/gradcheck.h"

namespace convkit {
namespace {

TEST(FeatureMaps, CaptureGivesTheLayerOutputs) {
  manual_seed(2);
  nn::Sequential net;
  auto conv = std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1);
  net.add("conv", conv);
  net.add("relu", std::make_shared<nn::ReLU>());
  const Tensor x = Tensor::randn({1, 3, 6, 6});
  const auto maps = viz::capture_layers(net, x, {"conv", "relu"});
  NoGradGuard no_grad;
  const Tensor c = (*conv)(x);
  EXPECT_LE(test::max_abs_diff(maps.at("conv"), c), 0);
  EXPECT_LE(test::max_abs_diff(maps.at("relu"), net(x)), 0);
  EXPECT_THROW(viz::capture_layers(net, x, {"conv2"}), Error);
}

TEST(FeatureMaps, ChannelSummariesAndGrid) {
  const Tensor f = Tensor::from_vector<float>({0, 0, 2, 2, 1, 2, 3, NAN}, {2, 2, 2});
  const auto s = viz::channel_summaries(f);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_DOUBLE_EQ(s[0].mean, 1);
  EXPECT_DOUBLE_EQ(s[0].std, 1);
  EXPECT_DOUBLE_EQ(s[0].zero_fraction, 0.5);
  EXPECT_EQ(s[1].non_finite, 1);
  EXPECT_DOUBLE_EQ(s[1].mean, 2);
  EXPECT_DOUBLE_EQ(s[1].max, 3);
  const cv::Mat g = viz::feature_grid(f, 64, /*min_tile=*/8);
  // 2 tiles of 8x8 (2x2 enlarged 4 times), 2 columns, a 2-pixel gap.
  EXPECT_EQ(g.cols, 18);
  EXPECT_EQ(g.rows, 8);
  EXPECT_EQ(g.type(), CV_8UC3);
  EXPECT_THROW(viz::feature_grid(Tensor::zeros({2, 2})), Error);
}

}  // namespace
}  // namespace convkit
