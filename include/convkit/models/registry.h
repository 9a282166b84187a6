#pragma once
// Models by name: `create_model("resnet20", {.in_channels = 1, .num_classes = 10})`.
//
// Names follow torchvision's builder functions where torchvision has the model ("resnet50",
// "vgg16_bn", "mobilenet_v2"), so a torchvision state dict and the convkit model of the same name
// share every key; convkit's own variants add a dash suffix ("alexnet-paper", "vgg16-gap").
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "convkit/nn/module.h"

namespace convkit::models {

struct ModelConfig {
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  int64_t image_size = 28;  // only models with a dense head that depends on it read this
};

using ModelFactory = std::function<std::shared_ptr<nn::Module>(const ModelConfig&)>;

// Required: name, description, factory; the rest through named setters:
//   ModelEntry("vgg16", "VGG-16", make).from_paper("Simonyan & Zisserman 2015").input(224, 32)
//       .reference(138357544, "torchvision 0.14")
struct ModelEntry {
  std::string name, description;
  ModelFactory make;
  std::string paper;         // "Krizhevsky et al. 2012", the source of the architecture
  int64_t input_size = 224;  // the paper's input height and width (default for summaries)
  // Smallest square input the model accepts; models with a global-pooling (or adaptive) head run
  // on any size from here up. 0: the head is sized from ModelConfig::image_size, so the model runs
  // at exactly that size.
  int64_t min_input_size = 0;
  // Parameters for 3 input channels and 1000 classes as the reference implementation publishes
  // them (torchvision 0.14, Keras Applications, or the paper's arithmetic), 0 when there is none;
  // tests assert equality. reference_source says which.
  int64_t reference_params = 0;
  std::string reference_source;
  // Keras' published totals also count BN's moving mean and variance (its "non-trainable"
  // parameters); convkit keeps those as buffers. See reference_style_count.
  bool reference_counts_bn_statistics = false;

  ModelEntry(std::string name, std::string description, ModelFactory make)
      : name(std::move(name)), description(std::move(description)), make(std::move(make)) {}
  ModelEntry& from_paper(std::string p) {
    paper = std::move(p);
    return *this;
  }
  ModelEntry& input(int64_t size, int64_t min_size = 0) {
    input_size = size, min_input_size = min_size;
    return *this;
  }
  ModelEntry& reference(int64_t params, std::string source, bool counts_bn_statistics = false) {
    reference_params = params, reference_source = std::move(source);
    reference_counts_bn_statistics = counts_bn_statistics;
    return *this;
  }
};

// The model's size counted as `entry`'s reference counts it: its parameters, plus the running
// means and variances of its batch norms when the reference (Keras) counts those.
int64_t reference_style_count(const ModelEntry& entry, const nn::Module& model);

// Adds a model; throws when the name is taken.
void register_model(ModelEntry entry);
std::vector<ModelEntry> list_models();
// The entry of `name`; throws naming the unknown model and the known ones.
ModelEntry find_model(const std::string& name);
// find_model(name).make(config).
std::shared_ptr<nn::Module> create_model(const std::string& name, const ModelConfig& config);

}  // namespace convkit::models
