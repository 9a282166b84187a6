#include "convkit/models/small_cnn.h"

#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

SmallCNN::SmallCNN(int64_t in_channels, int64_t num_classes, int64_t image_size) {
  const int64_t s = image_size / 4;
  CONVKIT_CHECK(s >= 1, "SmallCNN: input images must be at least 4x4, got ", image_size);
  add(std::make_shared<Conv2d>(in_channels, 32, 3, 1, 1));
  add(std::make_shared<ReLU>());
  add(std::make_shared<MaxPool2d>(2, 2));
  add(std::make_shared<Conv2d>(32, 64, 3, 1, 1));
  add(std::make_shared<ReLU>());
  add(std::make_shared<MaxPool2d>(2, 2));
  add(std::make_shared<Flatten>());
  add(std::make_shared<Linear>(64 * s * s, 128));
  add(std::make_shared<ReLU>());
  add(std::make_shared<Dropout>(0.5));
  add(std::make_shared<Linear>(128, num_classes));
}

void detail::add_small_cnn_models(std::vector<ModelEntry>& out) {
  out.push_back(
      ModelEntry("small-cnn", "conv-pool-conv-pool-dense-dropout", [](const ModelConfig& c) {
        return std::make_shared<SmallCNN>(c.in_channels, c.num_classes, c.image_size);
      }).input(28));
}

}  // namespace convkit::models
