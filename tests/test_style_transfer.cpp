// Neural style transfer (style/features.h, style/transfer.h): layer names, weights files, the
// optimisation loop on tiny images (losses fall, multi-scale sizes, colour preservation, a
// non-finite loss keeps the last finite image) and the errors it owes the user.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "convkit/io/safetensors.h"
#include "convkit/models/vgg.h"
#include "convkit/nn/init.h"
#include "convkit/random.h"
#include "convkit/style/transfer.h"
#include "support/gradcheck.h"
#include "support/image_files.h"
#include "support/test_budget.h"

using namespace convkit;
using style::TransferOptions;
using style::TransferProgress;
using style::VggFeatures;

namespace {

// A smooth colour gradient (content) and a high-frequency stripe texture (style), RGB.
cv::Mat gradient_image(int size) {
  cv::Mat m(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      m.at<cv::Vec3b>(y, x) =
          cv::Vec3b(uchar(70 + 110 * x / size), uchar(70 + 110 * y / size), 120);
  return m;
}
cv::Mat stripes_image(int size) {
  cv::Mat m(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x)
      m.at<cv::Vec3b>(y, x) = (x + y) % 4 < 2 ? cv::Vec3b(230, 40, 20) : cv::Vec3b(20, 40, 230);
  return m;
}

// A VGG-style trunk small enough for the reference kernels: conv1_1 relu1_1 conv1_2 relu1_2 pool1
// conv2_1 relu2_1 pool2 conv3_1 relu3_1, with the fan-in scaling of VggFeatures::random.
VggFeatures tiny_net(uint64_t seed = 3) {
  Generator gen(seed);
  auto trunk = std::make_shared<nn::Sequential>();
  auto conv = [&](int64_t in, int64_t out) {
    auto c = trunk->add(std::make_shared<nn::Conv2d>(in, out, 3, 1, 1));
    nn::init::kaiming_normal_(c->weight, 0, nn::init::FanMode::fan_in, nn::init::Nonlinearity::relu,
                              &gen);
    trunk->add(std::make_shared<nn::ReLU>());
  };
  conv(3, 8);
  conv(8, 8);
  trunk->add(std::make_shared<nn::MaxPool2d>(2, 2));
  conv(8, 16);
  trunk->add(std::make_shared<nn::MaxPool2d>(2, 2));
  conv(16, 16);
  return VggFeatures(trunk);
}

TransferOptions tiny_options() {
  TransferOptions o;
  o.size = 32;
  o.iterations = 6;
  o.content_layer = "relu2_1";
  o.style_layers = {{"relu1_1", 0.3}, {"relu2_1", 0.3}, {"relu3_1", 0.4}};
  return o;
}

std::vector<TransferProgress> run(VggFeatures& net, const TransferOptions& o,
                                  style::TransferResult* result = nullptr) {
  std::vector<TransferProgress> seen;
  auto r = style::transfer(net, gradient_image(40), stripes_image(48), o,
                           [&](const TransferProgress& p) { seen.push_back(p); });
  if (result) *result = r;
  return seen;
}

}  // namespace

TEST(StyleFeatures, NamesVgg19LayersAsGatysEtAl) {
  // Backend-independent and heavy (VGG-19/11 built with 20M/9M random weights): once, on dnnl,
  // never under the sanitizers.
  if (!test::large_models_run_here()) GTEST_SKIP() << "runs once, with oneDNN, outside sanitizers";
  VggFeatures net = VggFeatures::random(19, 1);
  EXPECT_EQ(net.index_of("conv1_1"), 0);
  EXPECT_EQ(net.index_of("relu1_1"), 1);
  EXPECT_EQ(net.index_of("pool1"), 4);
  EXPECT_EQ(net.index_of("relu4_2"), 22);
  EXPECT_EQ(net.index_of("relu5_1"), 29);
  EXPECT_EQ(net.index_of("features.22"), 22);
  EXPECT_EQ(net.index_of("36"), 36);
  EXPECT_EQ(net.poolings_before(net.index_of("relu5_1")), 4);
  EXPECT_THROW_WITH(net.index_of("relu6_1"), "no layer 'relu6_1'", "16 convolutions", "relu5_4");
  EXPECT_THROW_WITH(net.index_of("features.37"), "features.36");
  auto odd = std::make_shared<nn::Sequential>();
  odd->add(std::make_shared<nn::Conv2d>(3, 4, 3));
  odd->add(std::make_shared<nn::BatchNorm2d>(4));
  EXPECT_THROW_WITH(VggFeatures{odd}, "layer 1 of the trunk is a BatchNorm2d");
}

TEST(StyleFeatures, LoadsTorchvisionNamedWeightsAndNamesWhatIsMissing) {
  // Backend-independent and heavy (VGG-19/11 built with 20M/9M random weights): once, on dnnl,
  // never under the sanitizers.
  if (!test::large_models_run_here()) GTEST_SKIP() << "runs once, with oneDNN, outside sanitizers";
  test::TempDir dir;
  models::VGG vgg(11, 3, 10, false, /*gap=*/true);
  std::map<std::string, Tensor> state;
  for (auto& [k, v] : vgg.state_dict()) state[k] = v;
  io::save_safetensors(dir.path("vgg11.safetensors"), state);
  VggFeatures net = VggFeatures::from_file(dir.path("vgg11.safetensors"));
  EXPECT_EQ(net.num_convs(), 8);
  Tensor x = Tensor::uniform({1, 3, 32, 32}, 0, 1);
  Tensor expect =
      (*vgg.features)((x - Tensor::from_vector<float>({0.485f, 0.456f, 0.406f}, {1, 3, 1, 1})) /
                      Tensor::from_vector<float>({0.229f, 0.224f, 0.225f}, {1, 3, 1, 1}));
  EXPECT_LE(test::max_abs_diff(net.features(x, {int64_t(vgg.features->size() - 1)})[0], expect),
            1e-4);

  state["features.0.bias"] = Tensor::zeros({7});
  io::save_safetensors(dir.path("shape.safetensors"), state);
  EXPECT_THROW_WITH(VggFeatures::from_file(dir.path("shape.safetensors")), "shape.safetensors",
                    "0.bias", "[7]");
  // The first tensor missing in the trunk's order is named.
  io::save_safetensors(dir.path("holey.safetensors"),
                       {{"features.0.weight", state["features.0.weight"]},
                        {"features.18.weight", state["features.18.weight"]}});
  EXPECT_THROW_WITH(VggFeatures::from_file(dir.path("holey.safetensors")), "holey.safetensors",
                    "VGG-11", "missing tensor features.0.bias");
  io::save_safetensors(dir.path("resnet.safetensors"), {{"fc.weight", Tensor::zeros({2, 2})}});
  EXPECT_THROW_WITH(VggFeatures::from_file(dir.path("resnet.safetensors")), "resnet.safetensors",
                    "not VGG-compatible", "missing tensor features.0.weight");
}

TEST(StyleTransfer, LbfgsLowersTheStyleLoss) {
  VggFeatures net = tiny_net();
  style::TransferResult r;
  TransferOptions o = tiny_options();
  o.iterations = 15;
  auto seen = run(net, o, &r);
  ASSERT_EQ(seen.size(), 15u);
  EXPECT_EQ(r.iterations, 15);
  EXPECT_FALSE(r.diverged);
  EXPECT_LT(seen.front().content, 1e-8);  // the content init
  EXPECT_LT(seen.back().style, 0.5 * seen.front().style);
  EXPECT_GT(seen.back().tv, 0);
  EXPECT_EQ(r.image.type(), CV_8UC3);
  EXPECT_EQ(r.image.rows, 32);
  EXPECT_EQ(r.image.cols, 32);
}

TEST(StyleTransfer, AdamFromNoiseAndCoarseToFine) {
  VggFeatures net = tiny_net();
  TransferOptions o = tiny_options();
  o.solver = style::Solver::adam;
  o.init = style::Init::noise;
  o.scales = 2;
  o.iterations = 4;
  o.style_layers = {{"relu1_1", 0.5}, {"relu3_1", 0.5}};
  auto seen = run(net, o);
  ASSERT_EQ(seen.size(), 8u);
  EXPECT_EQ(seen[0].size, 16);
  EXPECT_EQ(seen[7].size, 32);
  EXPECT_EQ(seen[7].scale, 1);
  EXPECT_GT(seen[0].content, 0);  // noise is far from the content
  EXPECT_LT(seen[3].content + seen[3].style, seen[0].content + seen[0].style);
}

TEST(StyleTransfer, LuminanceOnlyKeepsTheContentColours) {
  VggFeatures net = tiny_net();
  TransferOptions o = tiny_options();
  o.color = style::Color::luminance_only;
  style::TransferResult r;
  run(net, o, &r);
  // The output's chroma (Cr, Cb) is the content's (up to rounding of the colour conversions).
  cv::Mat content = gradient_image(40), expect, got;
  cv::resize(content, content, {32, 32}, 0, 0, cv::INTER_AREA);
  cv::cvtColor(content, expect, cv::COLOR_RGB2YCrCb);
  cv::cvtColor(r.image, got, cv::COLOR_RGB2YCrCb);
  std::vector<cv::Mat> e, g;
  cv::split(expect, e);
  cv::split(got, g);
  EXPECT_LE(cv::norm(e[1], g[1], cv::NORM_L1) / e[1].total(), 1.0);
  EXPECT_LE(cv::norm(e[2], g[2], cv::NORM_L1) / e[2].total(), 1.0);
}

TEST(StyleTransfer, NonFiniteLossKeepsTheLastFiniteImage) {
  VggFeatures net = tiny_net();
  TransferOptions o = tiny_options();
  o.solver = style::Solver::adam;
  o.lr = 1e30;  // the first step sends the pixels to 1e30: float32 Gram matrices overflow
  style::TransferResult r;
  auto seen = run(net, o, &r);
  EXPECT_TRUE(r.diverged);
  EXPECT_EQ(r.iterations, 1);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_NE(r.message.find("non-finite at iteration 2 of scale 1/1"), std::string::npos)
      << r.message;
  // The image evaluated at iteration 1 is the content init.
  cv::Mat content = gradient_image(40);
  cv::resize(content, content, {32, 32}, 0, 0, cv::INTER_AREA);
  EXPECT_LE(cv::norm(content, r.image, cv::NORM_INF), 1);
}

TEST(StyleTransfer, RefusesSizesTooSmallForTheLayersAndBadOptions) {
  VggFeatures net = tiny_net();
  TransferOptions o = tiny_options();
  o.size = 3;
  EXPECT_THROW_WITH(run(net, o), "--size 3 is too small for layer relu3_1",
                    "after 2 poolings it needs at least 4");
  o.size = 32;
  o.scales = 5;
  EXPECT_THROW_WITH(run(net, o),
                    "--size 32 with 5 scales starts at 2 pixels, too small for layer relu3_1");
  o.scales = 1;
  o.content_layer = "relu9_9";
  EXPECT_THROW_WITH(run(net, o), "no layer 'relu9_9'");
  o = tiny_options();
  o.style_weight = -1;
  EXPECT_THROW_WITH(run(net, o), "loss weights must be >= 0");
}
