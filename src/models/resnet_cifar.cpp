#include "convkit/models/resnet_cifar.h"

#include "convkit/nn/init.h"
#include "convkit/ops.h"
#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

namespace {
std::shared_ptr<Conv2d> conv3x3(int64_t in, int64_t out, int64_t stride) {
  return std::make_shared<Conv2d>(
      Conv2dOptions(in, out, 3).stride(stride).padding(1).with_bias(false));
}
}  // namespace

std::shared_ptr<Sequential> projection_shortcut(int64_t in, int64_t out, int64_t stride) {
  auto s = std::make_shared<Sequential>();
  s->add(std::make_shared<Conv2d>(Conv2dOptions(in, out, 1).stride(stride).with_bias(false)));
  s->add(std::make_shared<BatchNorm2d>(out));
  return s;
}

BasicBlock::BasicBlock(int64_t in, int64_t out, int64_t stride) : Module("BasicBlock") {
  conv1 = register_module("conv1", conv3x3(in, out, stride));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(out));
  conv2 = register_module("conv2", conv3x3(out, out, 1));
  bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(out));
  if (stride != 1 || in != out)
    downsample = register_module("downsample", projection_shortcut(in, out, stride));
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor h = relu((*bn1)((*conv1)(x)));
  h = (*bn2)((*conv2)(h));
  Tensor shortcut = downsample ? (*downsample)(x) : x;
  return relu(h + shortcut);
}

CifarResNet::CifarResNet(int64_t depth, int64_t in_channels, int64_t num_classes)
    : Module("CifarResNet") {
  CONVKIT_CHECK(depth >= 8 && (depth - 2) % 6 == 0, "CifarResNet: depth must be 6n+2 (20, 32, 44, ",
                "56, 110, ...), got ", depth);
  const int64_t n = (depth - 2) / 6;
  conv1 = register_module("conv1", conv3x3(in_channels, 16, 1));
  bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(16));
  int64_t in = 16;
  auto stage = [&](const char* name, int64_t out, int64_t stride) {
    auto s = register_module(name, std::make_shared<Sequential>());
    for (int64_t b = 0; b < n; ++b) {
      s->add(std::make_shared<BasicBlock>(in, out, b == 0 ? stride : 1));
      in = out;
    }
    return s;
  };
  layer1 = stage("layer1", 16, 1);
  layer2 = stage("layer2", 32, 2);
  layer3 = stage("layer3", 64, 2);
  pool = register_module("avgpool", std::make_shared<GlobalAvgPool2d>());
  fc = register_module("fc", std::make_shared<Linear>(64, num_classes));
  // He initialization for the convolutions, as the paper (and torchvision's ResNet) does.
  for (auto& [name, m] : named_modules())
    if (auto* c = dynamic_cast<Conv2d*>(m))
      init::kaiming_normal_(c->weight, 0, init::FanMode::fan_out, init::Nonlinearity::relu);
}

Tensor CifarResNet::forward(const Tensor& x) {
  Tensor h = relu((*bn1)((*conv1)(x)));
  h = (*layer3)((*layer2)((*layer1)(h)));
  return (*fc)((*pool)(h));
}

void detail::add_resnet_cifar_models(std::vector<ModelEntry>& out) {
  for (int depth : {20, 32, 44, 56, 110})
    out.push_back(
        ModelEntry("resnet" + std::to_string(depth), "CIFAR-style ResNet-" + std::to_string(depth),
                   [depth](const ModelConfig& c) {
                     return std::make_shared<CifarResNet>(depth, c.in_channels, c.num_classes);
                   })
            .from_paper("He et al. 2016 (section 4.2)")
            .input(32, /*min_size=*/8));
}

}  // namespace convkit::models
