#include "convkit/models/xception.h"

#include "convkit/nn/init.h"
#include "convkit/ops.h"
#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

namespace {
std::shared_ptr<BatchNorm2d> keras_bn(int64_t c) {
  return std::make_shared<BatchNorm2d>(c, detail::kKerasBnEps, detail::kKerasBnMomentum);
}
}  // namespace

SeparableConv2d::SeparableConv2d(int64_t in, int64_t out, int64_t kernel)
    : Module("SeparableConv2d") {
  depthwise = register_module(
      "depthwise",
      std::make_shared<Conv2d>(
          Conv2dOptions(in, in, kernel).padding(kernel / 2).groups(in).with_bias(false)));
  pointwise = register_module("pointwise",
                              std::make_shared<Conv2d>(Conv2dOptions(in, out, 1).with_bias(false)));
}

Tensor SeparableConv2d::forward(const Tensor& x) { return (*pointwise)((*depthwise)(x)); }

XceptionBlock::XceptionBlock(int64_t in, const std::vector<int64_t>& widths, int64_t stride,
                             bool relu_first)
    : Module("XceptionBlock") {
  rep = register_module("rep", std::make_shared<Sequential>());
  int64_t c = in;
  for (size_t i = 0; i < widths.size(); ++i) {
    if (i > 0 || relu_first) rep->add(std::make_shared<ReLU>());
    rep->add(std::make_shared<SeparableConv2d>(c, widths[i]));
    rep->add(keras_bn(widths[i]));
    c = widths[i];
  }
  if (stride != 1) rep->add(std::make_shared<MaxPool2d>(Pool2dParams(3, stride).set_padding(1)));
  if (stride != 1 || c != in) {
    skip = register_module("skip", std::make_shared<Sequential>());
    skip->add(std::make_shared<Conv2d>(Conv2dOptions(in, c, 1).stride(stride).with_bias(false)));
    skip->add(keras_bn(c));
  }
}

Tensor XceptionBlock::forward(const Tensor& x) { return (*rep)(x) + (skip ? (*skip)(x) : x); }

Xception::Xception(int64_t in_channels, int64_t num_classes) : Module("Xception") {
  conv1 = register_module(
      "conv1",
      std::make_shared<Conv2d>(Conv2dOptions(in_channels, 32, 3).stride(2).with_bias(false)));
  bn1 = register_module("bn1", keras_bn(32));
  conv2 =
      register_module("conv2", std::make_shared<Conv2d>(Conv2dOptions(32, 64, 3).with_bias(false)));
  bn2 = register_module("bn2", keras_bn(64));
  auto block = [&](int64_t in, std::vector<int64_t> widths, int64_t stride, bool relu_first) {
    const std::string name = "block" + std::to_string(blocks.size() + 1);
    blocks.push_back(
        register_module(name, std::make_shared<XceptionBlock>(in, widths, stride, relu_first)));
  };
  block(64, {128, 128}, 2, /*relu_first=*/false);  // entry flow: the stem already ends in a ReLU
  block(128, {256, 256}, 2, true);
  block(256, {728, 728}, 2, true);
  for (int i = 0; i < 8; ++i) block(728, {728, 728, 728}, 1, true);  // middle flow
  block(728, {728, 1024}, 2, true);                                  // exit flow
  conv3 = register_module("conv3", std::make_shared<SeparableConv2d>(1024, 1536));
  bn3 = register_module("bn3", keras_bn(1536));
  conv4 = register_module("conv4", std::make_shared<SeparableConv2d>(1536, 2048));
  bn4 = register_module("bn4", keras_bn(2048));
  fc = register_module("fc", std::make_shared<Linear>(2048, num_classes));
  detail::keras_init(*this);
}

Tensor Xception::forward(const Tensor& x) {
  Tensor h = relu((*bn2)((*conv2)(relu((*bn1)((*conv1)(x))))));
  for (auto& b : blocks) h = (*b)(h);
  h = relu((*bn3)((*conv3)(h)));
  h = relu((*bn4)((*conv4)(h)));
  return (*fc)(global_avg_pool2d(h).flatten(1));
}

void detail::add_xception_models(std::vector<ModelEntry>& out) {
  out.push_back(ModelEntry("xception",
                           "Xception (depthwise separable convolutions, entry/middle/exit flows)",
                           [](const ModelConfig& c) {
                             return std::make_shared<Xception>(c.in_channels, c.num_classes);
                           })
                    .from_paper("Chollet 2017")
                    .input(299, /*min_size=*/71)
                    .reference(22910480, "Keras Applications", /*counts_bn_statistics=*/true));
}

}  // namespace convkit::models
