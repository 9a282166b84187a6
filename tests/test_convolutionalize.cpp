// models::convolutionalize: the dense head as convolutions. Exact checks: with unpadded features,
// every position of the score map equals the dense model on the matching crop (the convolutional
// form of sliding windows); at the training size the 1x1 map equals the model's output, padding or
// not; layouts that have no such form are refused with the layer named.
#include <gtest/gtest.h>

#include "convkit/convkit.h"
#include "convkit/models/convolutionalize.h"
#include "convkit/models/registry.h"
#include "support/golden.h"

namespace convkit {
namespace {

using namespace nn;
using test::rel_error;

// features (unpadded, total stride 4) / adaptive pool (identity at 12x12) / dense classifier.
class TinyClassic : public Module {
 public:
  TinyClassic() : Module("TinyClassic") {
    features = register_module(
        "features", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                        std::make_shared<Conv2d>(3, 4, 3), std::make_shared<ReLU>(),
                        std::make_shared<MaxPool2d>(2, 2), std::make_shared<Conv2d>(4, 6, 2),
                        std::make_shared<ReLU>(), std::make_shared<MaxPool2d>(2, 2)}));
    avgpool = register_module("avgpool", std::make_shared<AdaptiveAvgPool2d>(2, 2));
    classifier = register_module(
        "classifier", std::make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
                          std::make_shared<Dropout>(0.5), std::make_shared<Linear>(6 * 2 * 2, 10),
                          std::make_shared<ReLU>(), std::make_shared<Linear>(10, 5)}));
  }
  Tensor forward(const Tensor& x) override {
    return (*classifier)((*avgpool)((*features)(x)).flatten(1));
  }
  std::shared_ptr<Sequential> features, classifier;
  std::shared_ptr<Module> avgpool;
};

Tensor eval(Module& m, const Tensor& x) {
  NoGradGuard no_grad;
  m.eval();
  return m(x);
}

// [N, C, H, W] -> the size x size window at (top, left).
Tensor crop(const Tensor& x, int64_t top, int64_t left, int64_t size) {
  return narrow(narrow(x, 2, top, size), 3, left, size).clone();
}

TEST(Convolutionalize, EveryPositionEqualsTheModelOnItsCrop) {
  manual_seed(11);
  TinyClassic model;
  auto conv = models::convolutionalize(model, 12);
  const Tensor image = Tensor::randn({2, 3, 21, 21});
  const Tensor map = eval(*conv, image);
  // 21 -> conv 19 -> pool 9 -> conv 8 -> pool 4 -> 2x2 head kernel -> 3x3 positions, stride 4.
  ASSERT_EQ(map.shape(), Shape({2, 5, 3, 3}));
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      const Tensor expected = eval(model, crop(image, 4 * i, 4 * j, 12));
      const Tensor got = narrow(narrow(map, 2, i, 1), 3, j, 1).reshape({2, 5});
      EXPECT_LE(rel_error(got, expected), 1e-5) << "position " << i << "," << j;
    }
  // The features are shared, the head holds copies: changing the model's dense weights leaves
  // the converted head alone.
  EXPECT_EQ(conv->child("features").get(), model.features.get());
  NoGradGuard no_grad;
  model.classifier->named_parameters()[0].second.copy_(Tensor::zeros({10, 24}));
  EXPECT_LE(rel_error(eval(*conv, image), map), 0.0);
}

TEST(Convolutionalize, AtTheTrainingSizeEqualsTheModel) {
  manual_seed(12);
  // A Sequential with Flatten (LeNet-5: padded first conv, dense F6 and output).
  for (const char* name : {"lenet5", "lenet5-modern"}) {
    auto model = models::create_model(name, {1, 10, 28});
    auto conv = models::convolutionalize(*model, 28);
    const Tensor x = Tensor::randn({3, 1, 28, 28});
    const Tensor map = eval(*conv, x);
    ASSERT_EQ(map.shape(), Shape({3, 10, 1, 1})) << name;
    EXPECT_LE(rel_error(map.reshape({3, 10}), eval(*model, x)), 1e-5) << name;
    // And it slides: a 36x36 image gives a 3x3 map (LeNet's stride is 4).
    EXPECT_EQ(eval(*conv, Tensor::randn({1, 1, 36, 36})).shape(), Shape({1, 10, 3, 3})) << name;
  }
#ifndef CONVKIT_SANITIZE_BUILD
  if (backend() == Backend::ref) return;  // 61M parameters: oneDNN in optimized builds only
  // torchvision's layout, with an adaptive pool that is the identity at 224 (AlexNet).
  auto alexnet = models::create_model("alexnet", {3, 10, 224});
  auto conv = models::convolutionalize(*alexnet, 224);
  const Tensor x = Tensor::randn({1, 3, 224, 224});
  EXPECT_LE(rel_error(eval(*conv, x).reshape({1, 10}), eval(*alexnet, x)), 1e-4);
  EXPECT_EQ(eval(*conv, Tensor::randn({1, 3, 288, 288})).shape(), Shape({1, 10, 3, 3}));
#endif
}

TEST(Convolutionalize, RefusesWhatHasNoConvolutionalForm) {
  TinyClassic model;
  // The adaptive pool is the identity only at 12x12.
  try {
    models::convolutionalize(model, 16);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("identity at the training size"), std::string::npos)
        << e.what();
  }
  auto gap = models::create_model("vgg16-gap", {3, 10, 32});
  try {
    models::convolutionalize(*gap, 32);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("global-average-pooling"), std::string::npos) << e.what();
  }
  Sequential no_flatten{std::make_shared<Conv2d>(1, 2, 3)};
  EXPECT_THROW(models::convolutionalize(no_flatten, 8), Error);
  Sequential odd_head{std::make_shared<Conv2d>(1, 2, 3), std::make_shared<Flatten>(),
                      std::make_shared<BatchNorm1d>(18), std::make_shared<Linear>(18, 2)};
  try {
    models::convolutionalize(odd_head, 5);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("head layer 2 is a BatchNorm2d"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace convkit
