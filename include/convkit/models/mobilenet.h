#pragma once
// MobileNets: depthwise separable convolutions (a 3x3 conv with one group per channel, then a 1x1
// conv that mixes channels) in place of full 3x3 convolutions, at a fraction of the MACs.
//
// MobileNetV1 (Howard et al. 2017) as Keras Applications builds it (there is no torchvision v1):
// a 3x3/2 conv to 32 channels, 13 depthwise separable blocks (each conv followed by BN with
// eps 1e-3 and ReLU6), global average pooling, dropout 1e-3, a dense layer (Keras writes the dense
// layer as a 1x1 conv; the weights are the same). Strided convs pad as TensorFlow's "same", i.e.
// the odd row and column at the bottom/right, which equals Keras' ZeroPadding2D((0,1),(0,1)) +
// "valid" on even input sizes. Children: features.0 (Sequential conv/bn/relu6),
// features.1..13 (each with "dw" and "pw", Sequential conv/bn/relu6), classifier (0 dropout,
// 1 dense). 4,231,976 parameters for 3 channels, 1000 classes (Keras' "trainable"; its total,
// 4,253,864, also counts BN's moving mean and variance).
//
// MobileNetV2 (Sandler et al. 2018) exactly as torchvision 0.14 builds it, so its state dicts load
// key for key: inverted residual blocks (1x1 expansion by t, 3x3 depthwise, linear 1x1
// projection, identity shortcut when the shape stays), ReLU6, channel counts rounded to a
// multiple of 8 after the width multiplier; 3,504,872 parameters for width 1.0, 1000 classes.
//
// Both run on any input of at least 32x32.
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

class MobileNetV1 : public nn::Module {
 public:
  // alpha: the paper's width multiplier (every layer's channels times alpha).
  MobileNetV1(int64_t in_channels, int64_t num_classes, double alpha = 1.0, double dropout = 1e-3);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Sequential> features, classifier;
};

// torchvision's InvertedResidual: "conv" holds [expand conv/bn/relu6 (when t != 1)], depthwise
// conv/bn/relu6, projection conv, projection bn.
class InvertedResidual : public nn::Module {
 public:
  InvertedResidual(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Sequential> conv;
  bool use_res_connect;
};

class MobileNetV2 : public nn::Module {
 public:
  MobileNetV2(int64_t in_channels, int64_t num_classes, double width_mult = 1.0,
              double dropout = 0.2);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Sequential> features, classifier;
};

}  // namespace convkit::models
