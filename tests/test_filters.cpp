// Filter visualization (include/convkit/viz/filters.h): weight tiles, activation maximization
// raising its objective, index ranges, bad inputs.
#include <gtest/gtest.h>

#include "convkit/nn/layers.h"
#include "convkit/random.h"
#include "convkit/viz/filters.h"

namespace convkit {
namespace {

std::shared_ptr<nn::Sequential> net() {
  auto s = std::make_shared<nn::Sequential>();
  s->add("conv1", std::make_shared<nn::Conv2d>(3, 4, 3, 1, 1));
  s->add("relu1", std::make_shared<nn::ReLU>());
  s->add("conv2", std::make_shared<nn::Conv2d>(4, 6, 3, 2, 1));
  s->add("relu2", std::make_shared<nn::ReLU>());
  s->add("pool", std::make_shared<nn::GlobalAvgPool2d>());
  s->add("fc", std::make_shared<nn::Linear>(6, 2));
  s->eval();
  return s;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Filters, ActivationMaximizationRaisesEachFilter) {
  manual_seed(21);
  auto m = net();
  viz::ActivationMaxOptions o;
  o.size = 16;
  o.steps = 10;
  o.octaves = 2;
  const viz::ActivationMaxResult r = viz::maximize_activation(*m, "conv2", {0, 3, 5}, o);
  EXPECT_EQ(r.images.shape(), Shape({3, 3, 16, 16}));
  ASSERT_EQ(r.final.size(), 3u);
  double gain = 0;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_GT(r.final[i], r.initial[i] + 0.02) << "filter " << i;
    gain += (r.final[i] - r.initial[i]) / 3;
  }
  EXPECT_GT(gain, 0.1);
  for (const auto& [n, p] : m->named_parameters()) {
    EXPECT_TRUE(p.requires_grad()) << n;
    EXPECT_FALSE(p.grad().defined()) << n;
  }
  const cv::Mat im = viz::input_to_image(r.images.select(0));
  EXPECT_EQ(im.type(), CV_8UC3);
  EXPECT_EQ(im.cols, 16);
}

TEST(Filters, WeightTilesAndRanges) {
  manual_seed(22);
  auto m = net();
  auto conv = std::dynamic_pointer_cast<nn::Conv2d>(m->child("conv1"));
  const cv::Mat t = viz::weight_tiles(conv->weight, /*min_tile=*/9);
  // 4 tiles of 9x9 (3x3 enlarged 3 times), 2 x 2 with a 2-pixel gap.
  EXPECT_EQ(t.cols, 20);
  EXPECT_EQ(t.rows, 20);
  EXPECT_EQ(viz::parse_index_ranges("0-3,7"), (std::vector<int64_t>{0, 1, 2, 3, 7}));
  EXPECT_NE(message_of([] { viz::parse_index_ranges("0-x"); }).find("cannot read '0-x'"),
            std::string::npos);
  EXPECT_NE(message_of([] { viz::parse_index_ranges("5-2"); }).find("like 0-63"),
            std::string::npos);
}

TEST(Filters, BadInputsAreNamed) {
  manual_seed(23);
  auto m = net();
  viz::ActivationMaxOptions o;
  o.size = 8;
  o.steps = 1;
  o.octaves = 1;
  EXPECT_NE(message_of([&] {
              viz::maximize_activation(*m, "conv2", {6}, o, "net");
            }).find("filter 6 is out of range: layer 'conv2' of net has 6 channels"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              viz::maximize_activation(*m, "conv9", {0}, o, "net");
            }).find("conv1, relu1, conv2"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              viz::maximize_activation(*m, "fc", {0}, o, "net");
            }).find("not a spatial map"),
            std::string::npos);
  o.steps = 0;
  EXPECT_NE(message_of([&] {
              viz::maximize_activation(*m, "conv2", {0}, o, "net");
            }).find("options out of range"),
            std::string::npos);
}

}  // namespace
}  // namespace convkit
