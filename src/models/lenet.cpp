#include "convkit/models/lenet.h"

#include "models/zoo.h"

namespace convkit::models {

using namespace nn;

LeNet5::LeNet5(int64_t in_channels, int64_t num_classes, bool modern, int64_t image_size) {
  auto act = [&]() -> std::shared_ptr<Module> {
    if (modern) return std::make_shared<ReLU>();
    return std::make_shared<Tanh>();
  };
  auto pool = [&]() -> std::shared_ptr<Module> {
    if (modern) return std::make_shared<MaxPool2d>(2, 2);
    return std::make_shared<AvgPool2d>(2, 2);
  };
  // 28 -> C1 28 -> S2 14 -> C3 10 -> S4 5 -> C5 1 (for 28x28 inputs).
  int64_t s = (image_size / 2 - 4) / 2 - 4;
  CONVKIT_CHECK(s >= 1, "LeNet5: input images must be at least 28x28, got ", image_size);
  add(std::make_shared<Conv2d>(in_channels, 6, 5, 1, 2));
  if (modern) add(std::make_shared<BatchNorm2d>(6));
  add(act());
  add(pool());
  add(std::make_shared<Conv2d>(6, 16, 5));
  if (modern) add(std::make_shared<BatchNorm2d>(16));
  add(act());
  add(pool());
  add(std::make_shared<Conv2d>(16, 120, 5));
  if (modern) add(std::make_shared<BatchNorm2d>(120));
  add(act());
  add(std::make_shared<Flatten>());
  add(std::make_shared<Linear>(120 * s * s, 84));
  add(act());
  add(std::make_shared<Linear>(84, num_classes));
}

void detail::add_lenet_models(std::vector<ModelEntry>& out) {
  out.push_back(ModelEntry("lenet5", "LeNet-5: tanh, average pooling",
                           [](const ModelConfig& c) {
                             return std::make_shared<LeNet5>(c.in_channels, c.num_classes, false,
                                                             c.image_size);
                           })
                    .from_paper("LeCun et al. 1998")
                    .input(28));
  out.push_back(ModelEntry("lenet5-modern", "LeNet-5 with batch norm, ReLU and max pooling",
                           [](const ModelConfig& c) {
                             return std::make_shared<LeNet5>(c.in_channels, c.num_classes, true,
                                                             c.image_size);
                           })
                    .from_paper("LeCun et al. 1998; Ioffe & Szegedy 2015")
                    .input(28));
}

}  // namespace convkit::models
