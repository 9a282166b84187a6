// The many-inputs convention (docs/architecture.md, "Many inputs"): a model that takes an image
// and a feature vector overrides forward_many, is called with a TensorList, trains, takes hooks,
// summarizes, and says clearly what it cannot do (a single-tensor call, ONNX export).
#include <gtest/gtest.h>

#include "convkit/autograd.h"
#include "convkit/io/onnx.h"
#include "convkit/nn/layers.h"
#include "convkit/nn/summary.h"
#include "convkit/ops.h"
#include "convkit/optim/sgd.h"
#include "convkit/random.h"
#include "support/gradcheck.h"

using namespace convkit;

namespace {
// inputs: {image [N, 3, H, W], features [N, 4]}; outputs: {logits [N, 3]}.
// conv -> relu -> global pool -> concat with the features -> linear.
struct ImageAndVector : nn::Module {
  std::shared_ptr<nn::Conv2d> conv1 =
      register_module("conv1", std::make_shared<nn::Conv2d>(3, 8, 3, 1, 1));
  std::shared_ptr<nn::ReLU> relu = register_module("relu", std::make_shared<nn::ReLU>());
  std::shared_ptr<nn::GlobalAvgPool2d> pool =
      register_module("pool", std::make_shared<nn::GlobalAvgPool2d>());
  std::shared_ptr<nn::Linear> fc = register_module("fc", std::make_shared<nn::Linear>(8 + 4, 3));
  ImageAndVector() : Module("ImageAndVector") {}

  nn::TensorList forward_many(const nn::TensorList& in) override {
    CONVKIT_CHECK(in.size() == 2, "ImageAndVector takes {image, features}, got ", in.size(),
                  " inputs");
    Tensor image_features = (*pool)((*relu)((*conv1)(in[0])));  // [N, 8]
    return {(*fc)(concat({image_features, in[1]}, 1))};         // [N, 8 + 4] -> [N, 3]
  }
};

// Labels that depend on both inputs: the class of the largest of (feature 0..2 + the image's
// channel means), so neither input alone decides.
struct Batch {
  Tensor image, features, labels;
};
Batch make_batch(int64_t n, uint64_t seed) {
  Generator gen(seed);
  Batch b{Tensor::randn({n, 3, 8, 8}, &gen), Tensor::randn({n, 4}, &gen),
          Tensor::zeros({n}, DType::i64)};
  const float* img = b.image.data<float>();
  const float* f = b.features.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    double best_v = -1e9;
    for (int64_t c = 0; c < 3; ++c) {
      double m = 0;
      for (int64_t k = 0; k < 64; ++k) m += img[(i * 3 + c) * 64 + k];
      const double v = f[i * 4 + c] + m / 64 * 4;
      if (v > best_v) best_v = v, best = c;
    }
    b.labels.data<int64_t>()[i] = best;
  }
  return b;
}
}  // namespace

TEST(ManyInputs, ImagePlusVectorModelTrainsWithSgd) {
  manual_seed(4);
  ImageAndVector model;
  const Batch b = make_batch(32, 9);
  optim::SGD sgd(optim::single_group(model, 0.1), {.momentum = 0.9});
  auto loss_now = [&] { return cross_entropy(model({b.image, b.features})[0], b.labels); };
  const double first = loss_now().item();
  for (int step = 0; step < 30; ++step) {
    sgd.zero_grad();
    Tensor loss = loss_now();
    loss.backward();
    sgd.step();
  }
  const double last = loss_now().item();
  EXPECT_LT(last, 0.6 * first) << "first " << first << ", last " << last;
}

TEST(ManyInputs, GradientFlowsToBothInputs) {
  manual_seed(5);
  ImageAndVector model;
  Batch b = make_batch(2, 3);
  b.image.set_requires_grad(true);
  b.features.set_requires_grad(true);
  sum(model({b.image, b.features})[0]).backward();
  EXPECT_GT(test::max_abs(b.image.grad()), 0.0);
  EXPECT_GT(test::max_abs(b.features.grad()), 0.0);
}

TEST(ManyInputs, HooksAndPathsWorkInside) {
  ImageAndVector model;
  Shape fc_in;
  std::string path;
  nn::HookHandle h = nn::register_forward_hook(
      model, "fc", [&](nn::Module&, const nn::TensorList& in, nn::TensorList&) {
        fc_in = in[0].shape();
        path = nn::current_module_path();
      });
  int root_calls = 0;
  nn::HookHandle r =
      model.register_forward_hook([&](nn::Module&, const nn::TensorList& in, nn::TensorList& out) {
        ++root_calls;
        EXPECT_EQ(in.size(), 2u);
        EXPECT_EQ(out.size(), 1u);
      });
  const Batch b = make_batch(5, 1);
  model({b.image, b.features});
  EXPECT_EQ(fc_in, Shape({5, 12}));
  EXPECT_EQ(path, "fc");
  EXPECT_EQ(root_calls, 1);
}

TEST(ManyInputs, SummaryTakesOneShapePerInput) {
  ImageAndVector model;
  nn::ModelInfo info = nn::trace(model, std::vector<Shape>{{1, 3, 8, 8}, {1, 4}});
  ASSERT_EQ(info.layers.size(), 4u);
  EXPECT_EQ(info.layers[0].name, "conv1");
  EXPECT_EQ(info.layers[3].name, "fc");
  EXPECT_EQ(info.layers[3].output, Shape({1, 3}));
  EXPECT_EQ(info.output, Shape({1, 3}));
  EXPECT_EQ(info.params, 3 * 8 * 9 + 8 + 12 * 3 + 3);
  EXPECT_EQ(info.macs, 8 * 8 * 8 * 27 + 12 * 3);  // conv1 + fc (ReLU and pooling count 0)
  const std::string text = nn::summary(model, std::vector<Shape>{{1, 3, 8, 8}, {1, 4}});
  EXPECT_NE(text.find("Input [1,3,8,8], [1,4]"), std::string::npos) << text;
}

TEST(ManyInputs, WhatItCannotDoFailsClearly) {
  ImageAndVector model;
  const Batch b = make_batch(2, 1);
  EXPECT_THROW_WITH(model(b.image), "in ImageAndVector: ImageAndVector",
                    "does not take a single tensor", "TensorList");
  EXPECT_THROW_WITH(model(nn::TensorList{b.image}),
                    "in ImageAndVector: ImageAndVector takes {image, features}");
  EXPECT_THROW_WITH(nn::summary(model, Shape{1, 3, 8, 8}), "does not take a single tensor");
  // ONNX export traces one input: a two-input model is refused, naming the model.
  EXPECT_THROW_WITH(io::onnx_bytes(model, {1, 3, 8, 8}), "ImageAndVector",
                    "does not take a single tensor");
  // A single-tensor layer called with two inputs says how many it takes.
  nn::ReLU relu;
  EXPECT_THROW_WITH(relu({b.image, b.image}), "in ReLU: ReLU takes one input tensor, got 2");
}
