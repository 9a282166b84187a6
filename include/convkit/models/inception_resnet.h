#pragma once
// Inception-ResNet-v2 (Szegedy et al. 2017): Inception modules whose concatenated branches are
// projected by a 1x1 conv (with bias, no BN) back to the input width, scaled down (0.17, 0.1,
// 0.2: the paper's fix for residual stacks that die early in training) and added to the input.
// Stem to 35x35x192; mixed_5b (Inception-A, 320 channels); 10 Block35; mixed_6a (Reduction-A,
// 17x17x1088); 20 Block17 (1x7/7x1 factorized convs); mixed_7a (Reduction-B, 8x8x2080); 9 Block8
// and a tenth without the final ReLU; conv_7b 1x1 to 1536; global average pooling; dense.
//
// Layer for layer as Keras Applications builds it: every conv but the residual projections is
// conv (no bias) + BN with scale=False (beta only; eps 1e-3, momentum 0.01) + ReLU; stride-1
// convs pad "same" (symmetric for these odd kernels), strided convs and pools "valid"; mixed_5b's
// pool branch averages 3x3 windows over the valid taps only. 55,813,192 trainable parameters for
// 3 channels, 1000 classes; Keras' published total, 55,873,736, adds BN's moving statistics.
// Children follow timm's port of the same network (conv2d_1a ... mixed_5b, repeat, mixed_6a,
// repeat_1, mixed_7a, repeat_2, block8, conv2d_7b, classif). Any input of at least 75x75 runs.
#include <memory>

#include "convkit/nn/layers.h"

namespace convkit::models {

class InceptionResNetV2 : public nn::Module {
 public:
  InceptionResNetV2(int64_t in_channels, int64_t num_classes);
  Tensor forward(const Tensor& x) override;
  std::vector<std::shared_ptr<nn::Module>> stem;  // conv2d_1a .. maxpool_5a, in order
  std::shared_ptr<nn::Module> mixed_5b, mixed_6a, mixed_7a, block8, conv2d_7b;
  std::shared_ptr<nn::Sequential> repeat, repeat_1, repeat_2;
  std::shared_ptr<nn::Linear> classif;
};

}  // namespace convkit::models
