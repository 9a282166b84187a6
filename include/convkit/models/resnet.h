#pragma once
// ImageNet ResNets (He et al. 2016) exactly as torchvision 0.14 builds them, so a torchvision
// state dict loads key for key: a 7x7/2 conv to 64 channels, BN, ReLU, 3x3/2 max pooling, four
// stages at 64/128/256/512 (x4 for bottlenecks) of basic (ResNet-18/34) or bottleneck
// (ResNet-50/101/152) blocks, global average pooling, a dense layer. The stride of a stage sits
// on its first block's 3x3 conv (torchvision's "ResNet v1.5"); shape-changing shortcuts are 1x1
// conv + BN under "downsample.0/1". Runs on any input of at least 32x32.
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

// conv1x1 (reduce) - conv3x3 (stride) - conv1x1 (expand x4), BN after each; ReLU after the sum.
class Bottleneck : public nn::Module {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t in, int64_t width, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1, conv2, conv3;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3;
  std::shared_ptr<nn::Sequential> downsample;  // null for identity shortcuts
};

class ResNet : public nn::Module {
 public:
  // depth: 18, 34 (basic blocks) or 50, 101, 152 (bottlenecks).
  ResNet(int64_t depth, int64_t in_channels, int64_t num_classes);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::MaxPool2d> maxpool;
  std::shared_ptr<nn::Sequential> layer1, layer2, layer3, layer4;
  std::shared_ptr<nn::GlobalAvgPool2d> avgpool;
  std::shared_ptr<nn::Linear> fc;
};

}  // namespace convkit::models
