#pragma once
// A Keras-style model summary: one row per layer with its dotted name, type, output shape,
// parameter count and multiply-accumulates, traced by running one forward pass (eval mode, no
// grad) on a zero input of the given shape.
#include <string>
#include <vector>

#include "convkit/nn/module.h"

namespace convkit::nn {

struct LayerInfo {
  std::string name, type, detail;
  Shape output;
  int64_t params = 0;  // the layer's own parameters (not its children's)
  int64_t macs = 0;    // for one example
};

struct ModelInfo {
  std::vector<LayerInfo> layers;  // in call order; a layer called twice appears twice
  Shape output;
  int64_t params = 0, trainable = 0, macs = 0;
};

// input: one example's shape with the batch dimension, e.g. [1, 1, 28, 28].
ModelInfo trace(Module& model, const Shape& input);
std::string summary(Module& model, const Shape& input);
// Models with several inputs (Module::forward_many): one shape per input, in the model's order;
// `output` is the first output's shape. A layer's MACs see its first input and output.
ModelInfo trace(Module& model, const std::vector<Shape>& inputs);
std::string summary(Module& model, const std::vector<Shape>& inputs);

// 1234567 -> "1,234,567".
std::string with_commas(int64_t v);

}  // namespace convkit::nn
