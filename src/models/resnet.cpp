#include "convkit/models/resnet.h"

#include <array>
#include <utility>

#include "convkit/models/resnet_cifar.h"
#include "convkit/nn/init.h"
#include "convkit/ops.h"
#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

namespace {
std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return std::make_shared<Conv2d>(
      Conv2dOptions(in, out, k).stride(stride).padding(k / 2).with_bias(false));
}
}  // namespace

Bottleneck::Bottleneck(int64_t in, int64_t width, int64_t stride) : Module("Bottleneck") {
  const int64_t out = width * kExpansion;
  conv1 = register_module("conv1", conv(in, width, 1, 1));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(width));
  conv2 = register_module("conv2", conv(width, width, 3, stride));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(width));
  conv3 = register_module("conv3", conv(width, out, 1, 1));
  bn3 = register_module("bn3", std::make_shared<BatchNorm2d>(out));
  if (stride != 1 || in != out)
    downsample = register_module("downsample", projection_shortcut(in, out, stride));
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor h = relu((*bn1)((*conv1)(x)));
  h = relu((*bn2)((*conv2)(h)));
  h = (*bn3)((*conv3)(h));
  Tensor identity = downsample ? (*downsample)(x) : x;
  return relu(h + identity);
}

ResNet::ResNet(int64_t depth, int64_t in_channels, int64_t num_classes) : Module("ResNet") {
  std::array<int64_t, 4> blocks;
  switch (depth) {
    case 18:
      blocks = {2, 2, 2, 2};
      break;
    case 34:
      blocks = {3, 4, 6, 3};
      break;
    case 50:
      blocks = {3, 4, 6, 3};
      break;
    case 101:
      blocks = {3, 4, 23, 3};
      break;
    case 152:
      blocks = {3, 8, 36, 3};
      break;
    default:
      throw Error("ResNet: depth must be 18, 34, 50, 101 or 152, got " + std::to_string(depth));
  }
  const bool bottleneck = depth >= 50;
  const int64_t expansion = bottleneck ? Bottleneck::kExpansion : 1;
  conv1 = register_module("conv1", conv(in_channels, 64, 7, 2));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(64));
  maxpool =
      register_module("maxpool", std::make_shared<MaxPool2d>(Pool2dParams(3, 2).set_padding(1)));
  int64_t in = 64;
  auto stage = [&](const char* name, int64_t width, int64_t n, int64_t stride) {
    auto s = register_module(name, std::make_shared<Sequential>());
    for (int64_t b = 0; b < n; ++b) {
      const int64_t st = b == 0 ? stride : 1;
      if (bottleneck)
        s->add(std::make_shared<Bottleneck>(in, width, st));
      else
        s->add(std::make_shared<BasicBlock>(in, width, st));
      in = width * expansion;
    }
    return s;
  };
  layer1 = stage("layer1", 64, blocks[0], 1);
  layer2 = stage("layer2", 128, blocks[1], 2);
  layer3 = stage("layer3", 256, blocks[2], 2);
  layer4 = stage("layer4", 512, blocks[3], 2);
  avgpool = register_module("avgpool", std::make_shared<GlobalAvgPool2d>());
  fc = register_module("fc", std::make_shared<Linear>(512 * expansion, num_classes));
  // torchvision's init: He normal (fan_out) for convolutions; BN weight 1, bias 0 (the defaults).
  for (auto& [name, m] : named_modules())
    if (auto* c = dynamic_cast<Conv2d*>(m))
      init::kaiming_normal_(c->weight, 0, init::FanMode::fan_out, init::Nonlinearity::relu);
}

Tensor ResNet::forward(const Tensor& x) {
  Tensor h = (*maxpool)(relu((*bn1)((*conv1)(x))));
  h = (*layer4)((*layer3)((*layer2)((*layer1)(h))));
  return (*fc)((*avgpool)(h));
}

void detail::add_resnet_models(std::vector<ModelEntry>& out) {
  // Parameter counts for 3 channels, 1000 classes, as torchvision 0.14 documents them.
  const std::pair<int, int64_t> depths[] = {
      {18, 11689512}, {34, 21797672}, {50, 25557032}, {101, 44549160}, {152, 60192808}};
  // [depth = depth] below: clang 14 (the fuzz build) cannot capture a structured binding.
  for (auto [depth, params] : depths)
    out.push_back(ModelEntry("resnet" + std::to_string(depth),
                             "ResNet-" + std::to_string(depth) +
                                 (depth >= 50 ? " (bottleneck blocks)" : " (basic blocks)"),
                             [depth = depth](const ModelConfig& c) {
                               return std::make_shared<ResNet>(depth, c.in_channels, c.num_classes);
                             })
                      .from_paper("He et al. 2016")
                      .input(224, /*min_size=*/32)
                      .reference(params, "torchvision 0.14"));
}

}  // namespace convkit::models
