#pragma once
// The textbook "conv-pool-conv-pool-dense-dropout" CNN: conv 3x3 -> 32, ReLU, max pool 2, conv
// 3x3 -> 64, ReLU, max pool 2, flatten, dense 128, ReLU, dropout 0.5, dense -> classes.
#include "convkit/nn/layers.h"

namespace convkit::models {

class SmallCNN : public nn::Sequential {
 public:
  SmallCNN(int64_t in_channels, int64_t num_classes, int64_t image_size = 28);
};

}  // namespace convkit::models
