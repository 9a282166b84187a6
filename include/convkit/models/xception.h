#pragma once
// Xception (Chollet 2017): Inception's idea taken to the limit, every 3x3 convolution a
// depthwise separable one (3x3 per channel, then 1x1 across channels), in 14 blocks with linear
// residual connections: the entry flow (two plain 3x3 convs, then three blocks that halve the
// resolution and grow to 128, 256, 728 channels), the middle flow (eight blocks of three 728-wide
// separable convs) and the exit flow (a block growing to 1024, then separable convs to 1536 and
// 2048), global average pooling and a dense layer.
//
// Layer for layer as Keras Applications builds it (22,855,952 trainable parameters for 3
// channels, 1000 classes; its published total, 22,910,480, adds BN's moving statistics). Keras
// pads the strided max pools with TensorFlow's "same" rule, whose offset depends on the input's
// parity; we pad them 1 on each side, as the PyTorch port of Keras' weights (timm's
// legacy_xception) does, which gives the same sizes. BN: eps 1e-3, momentum 0.01 (Keras' 0.99).
// Children: conv1, bn1, conv2, bn2, block1..block12 (Keras' blocks 2..13: "rep" holds the
// ReLU/separable conv/BN sequence and the max pool, "skip" the strided 1x1 conv + BN shortcut),
// conv3, bn3, conv4, bn4, fc. Runs on any input of at least 71x71 (Keras' minimum).
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

// Depthwise 3x3 (children "depthwise", one group per channel) then pointwise 1x1 ("pointwise"),
// no biases (the BN after it has one).
class SeparableConv2d : public nn::Module {
 public:
  SeparableConv2d(int64_t in, int64_t out, int64_t kernel = 3);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> depthwise, pointwise;
};

class XceptionBlock : public nn::Module {
 public:
  // widths: output channels of each separable conv; stride 2 adds a 3x3/2 max pool at the end and
  // a strided 1x1 shortcut; relu_first: a ReLU before the first separable conv.
  XceptionBlock(int64_t in, const std::vector<int64_t>& widths, int64_t stride, bool relu_first);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Sequential> rep, skip;  // skip: null for the identity
};

class Xception : public nn::Module {
 public:
  Xception(int64_t in_channels, int64_t num_classes);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Conv2d> conv1, conv2;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2, bn3, bn4;
  std::vector<std::shared_ptr<XceptionBlock>> blocks;
  std::shared_ptr<SeparableConv2d> conv3, conv4;
  std::shared_ptr<nn::Linear> fc;
};

}  // namespace convkit::models
