#pragma once
// Models by name: `create_model("resnet20", {.in_channels = 1, .num_classes = 10})`.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "convkit/nn/module.h"

namespace convkit::models {

struct ModelConfig {
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  int64_t image_size = 28;  // only models with a dense head that depends on it read this
};

using ModelFactory = std::function<std::shared_ptr<nn::Module>(const ModelConfig&)>;

struct ModelEntry {
  std::string name, description;
  ModelFactory make;
};

// Adds a model; throws when the name is taken.
void register_model(ModelEntry entry);
std::vector<ModelEntry> list_models();
// Throws naming the unknown model and the known ones.
std::shared_ptr<nn::Module> create_model(const std::string& name, const ModelConfig& config);

}  // namespace convkit::models
