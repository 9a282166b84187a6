#pragma once
// LeNet-5 (LeCun et al. 1998) and its modern variant.
//
// Classic: C1 conv 5x5 -> 6 (padding 2, so 28x28 inputs keep the paper's 28x28 C1 maps), tanh,
// S2 2x2 average pooling, C3 conv 5x5 -> 16, tanh, S4 average pooling, C5 conv 5x5 -> 120 (a
// dense layer on the 5x5 maps), tanh, F6 120 -> 84, tanh, output 84 -> classes. 61,706 parameters
// for 1 input channel and 10 classes (the paper's C3 partial connection table and RBF output are
// replaced by full connections and a linear layer, as is usual today).
// Modern: the same shape with ReLU, max pooling, and batch norm after each convolution (Ioffe &
// Szegedy 2015), which lets it pass 90% on Fashion-MNIST in 3 epochs; 61,990 parameters.
// Both expect 28x28 inputs or larger (C5 then yields s x s maps, flattened; the head is sized
// from image_size).
#include "convkit/nn/layers.h"

namespace convkit::models {

class LeNet5 : public nn::Sequential {
 public:
  LeNet5(int64_t in_channels, int64_t num_classes, bool modern = false, int64_t image_size = 28);
};

}  // namespace convkit::models
