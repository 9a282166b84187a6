#pragma once
// VGG-11/13/16/19 (Simonyan & Zisserman 2015, configurations A, B, D, E), with or without batch
// norm after each convolution, exactly as torchvision 0.14 builds them so that its state dicts load
// key for key: `features` (3x3 convolutions, padding 1, and 2x2/2 max pooling), an adaptive 7x7
// average pool (any input >= 32x32 runs; at 224 it is the identity), `classifier` (fc 4096, ReLU,
// dropout, fc 4096, ReLU, dropout, fc classes), torchvision's init.
// `gap`: global average pooling and one dense layer instead of the three (Lin et al. 2014; the
// head of Zhou et al. 2016's class activation maps), 14.7M parameters instead of 138M for VGG-16.
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

class VGG : public nn::Module {
 public:
  // depth: 11, 13, 16 or 19.
  VGG(int64_t depth, int64_t in_channels, int64_t num_classes, bool batch_norm = false,
      bool gap = false, double dropout = 0.5);
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Module> avgpool;  // AdaptiveAvgPool2d(7, 7), or GlobalAvgPool2d with gap
  std::shared_ptr<nn::Sequential> classifier;
};

}  // namespace convkit::models
