#pragma once
// A model named the way `summary` and the demos take it: a registered name (built at its paper's
// input size unless told otherwise) or a model file (weights from `convkit train`, .onnx, or a
// torchvision-named .safetensors with --model).
#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>

#include "convkit/nn/module.h"

namespace convkit::cli {

struct ModelSpec {
  std::string model, torchvision_model;
  int64_t in_channels = 0, num_classes = 0, image_size = 0;  // 0: the model's own
};
// The positional MODEL and --model, --in-channels, --classes, --image-size.
void add_model_spec_options(CLI::App& cmd, ModelSpec& spec);

struct SpecifiedModel {
  std::shared_ptr<nn::Module> module;
  std::string name;  // "resnet18" or the bundle's description
  int64_t in_channels = 0, num_classes = 0, image_size = 0;
};
// Builds the model; throws naming the model for an unknown name or a size below its smallest.
SpecifiedModel build_model(const ModelSpec& spec);
// Runs fn(model); when it throws convkit::Error for a registered model, rethrows with the input
// size and the model's smallest input size.
void with_input_size_hint(const ModelSpec& spec, const SpecifiedModel& m,
                          const std::function<void()>& fn);

}  // namespace convkit::cli
