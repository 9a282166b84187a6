#pragma once
// CIFAR-style ResNets (He et al. 2016, section 4.2): depth 6n+2; a 3x3 conv to 16 channels, three
// stages of n basic blocks at 16, 32, 64 channels (the first block of stages 2 and 3 has stride 2),
// global average pooling and a dense layer. Shortcuts that change shape use a 1x1 convolution with
// batch norm (option B, named "downsample.0/1" as in torchvision); the others are identities.
// No dropout. Works on any input size >= 8x8.
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

// A shortcut that changes shape: 1x1 conv (stride, no bias) + BN, torchvision's "downsample".
std::shared_ptr<nn::Sequential> projection_shortcut(int64_t in, int64_t out, int64_t stride);

// conv3x3-BN-ReLU-conv3x3-BN, plus the shortcut, then ReLU.
class BasicBlock : public nn::Module {
 public:
  BasicBlock(int64_t in, int64_t out, int64_t stride);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;
  std::shared_ptr<nn::Sequential> downsample;  // null for identity shortcuts
};

class CifarResNet : public nn::Module {
 public:
  CifarResNet(int64_t depth, int64_t in_channels, int64_t num_classes);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1;
  std::shared_ptr<nn::BatchNorm2d> bn1;
  std::shared_ptr<nn::Sequential> layer1, layer2, layer3;
  std::shared_ptr<nn::GlobalAvgPool2d> pool;
  std::shared_ptr<nn::Linear> fc;
};

}  // namespace convkit::models
