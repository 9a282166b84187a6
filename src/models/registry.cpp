#include "convkit/models/registry.h"

#include <mutex>

#include "convkit/models/lenet.h"
#include "convkit/models/resnet_cifar.h"
#include "convkit/models/small_cnn.h"

namespace convkit::models {

namespace {
std::vector<ModelEntry>& entries() {
  static std::vector<ModelEntry> all = [] {
    std::vector<ModelEntry> v;
    v.push_back({"lenet5", "LeNet-5 (LeCun et al. 1998): tanh, average pooling", [](const ModelConfig& c) {
                   return std::make_shared<LeNet5>(c.in_channels, c.num_classes, false, c.image_size);
                 }});
    v.push_back({"lenet5-modern", "LeNet-5 with batch norm, ReLU and max pooling", [](const ModelConfig& c) {
                   return std::make_shared<LeNet5>(c.in_channels, c.num_classes, true, c.image_size);
                 }});
    v.push_back({"small-cnn", "conv-pool-conv-pool-dense-dropout", [](const ModelConfig& c) {
                   return std::make_shared<SmallCNN>(c.in_channels, c.num_classes, c.image_size);
                 }});
    for (int depth : {20, 32, 44, 56, 110})
      v.push_back({"resnet" + std::to_string(depth),
                   "CIFAR-style ResNet-" + std::to_string(depth) + " (He et al. 2016)",
                   [depth](const ModelConfig& c) {
                     return std::make_shared<CifarResNet>(depth, c.in_channels, c.num_classes);
                   }});
    return v;
  }();
  return all;
}
std::mutex mu;
}  // namespace

void register_model(ModelEntry entry) {
  std::lock_guard<std::mutex> lock(mu);
  for (const ModelEntry& e : entries())
    CONVKIT_CHECK(e.name != entry.name, "register_model: a model named '", entry.name,
                  "' is already registered");
  entries().push_back(std::move(entry));
}

std::vector<ModelEntry> list_models() {
  std::lock_guard<std::mutex> lock(mu);
  return entries();
}

std::shared_ptr<nn::Module> create_model(const std::string& name, const ModelConfig& config) {
  std::string known;
  for (const ModelEntry& e : list_models()) {
    if (e.name == name) return e.make(config);
    known += (known.empty() ? "" : ", ") + e.name;
  }
  throw Error("unknown model '" + name + "'; known models: " + known);
}

}  // namespace convkit::models
