#pragma once
// Naming the layer a visualization looks at (docs/visualization.md): a dotted module path as in
// torchvision ("layer4", "features.29"), checked with an error that lists the valid names near it,
// and the default layer for class activation maps.
#include <string>
#include <vector>

#include "convkit/nn/module.h"
#include "convkit/tensor.h"

namespace convkit::viz {

// The module at dotted `path` ("" is not a layer). Throws convkit::Error naming the path and the
// valid module paths nearest to it (the children of the deepest existing prefix; the top-level
// modules when none matches), e.g. "viz: no layer 'layer9' in resnet18; layers there: conv1, bn1,
// ...; run `convkit summary MODEL` for all of them". Throws for an imported ONNX graph
// (io::load_onnx), whose layers run inside one module and cannot be hooked.
nn::Module& find_layer(nn::Module& model, const std::string& path, const std::string& model_name);

// What one module produced in a forward pass, in order of completion (a container completes after
// its children).
struct LayerOutput {
  std::string path;
  std::string type;  // Module::type_name()
  Shape shape;       // its (first) output's shape
  bool has_conv;     // the module is a Conv2d or contains one
};
// Runs `model` (no grad) on `inputs` [N, C, H, W] and lists every module's output, root excluded.
std::vector<LayerOutput> layer_outputs(nn::Module& model, const Tensor& inputs);

// The default layer of Grad-CAM and CAM: the last module to complete whose output is a spatial
// map ([N, C, H, W] with H * W > 1) and that is or contains a Conv2d, or the last of the
// elementwise layers (ReLU and friends, batch norm) of the same output shape that directly follow
// it. On torchvision's ResNets this is "layer4" (the last block's output, as the Grad-CAM paper
// and pytorch-grad-cam use), on VGG "features" (the last conv block after its max-pool), on a
// plain Sequential "conv, relu, pool" the ReLU. Throws when no module qualifies.
std::string default_cam_layer(nn::Module& model, const Tensor& inputs,
                              const std::string& model_name);

// Throws unless `shape` (layer `path`'s output) is a spatial map [N, C, H, W]; says what the
// layer produced and that a conv layer or block is needed.
void check_spatial_map(const std::string& path, const Shape& shape, const std::string& what);

}  // namespace convkit::viz
