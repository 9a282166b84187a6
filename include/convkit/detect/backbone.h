#pragma once
// The trunk a detector runs before its heads: the small Darknet-style trunk (detect/darknet.h), or
// any registered zoo model cut at a named layer (transfer::Truncated), optionally starting from a
// pretrained file (a convkit checkpoint, a torchvision-named safetensors file or an ONNX file of
// that model: infer::load_bundle). Its output must be a grid x grid feature map.
#include <cstdint>
#include <memory>
#include <string>

#include "convkit/nn/module.h"

namespace convkit::detect {

struct BackboneSpec {
  std::string name = "darknet";  // "darknet" or a registered model (convkit summary --list)
  std::string layer;             // a zoo model's cut: a dotted module path ("layer2")
  int64_t width = 16;            // darknet: the first block's channels
  std::string weights;           // a zoo model's pretrained file; "" for random initialization
};

struct Backbone {
  std::shared_ptr<nn::Module> module;  // [N, 3, S, S] -> [N, channels, grid, grid]
  int64_t channels = 0;
};

// Throws naming the model, the layer, the map it gives and the grid wanted when the cut's output is
// not [channels, grid, grid]; naming the model when it is unknown; and asking for a layer when a
// zoo model has none.
Backbone make_backbone(const BackboneSpec& spec, int64_t image_size, int64_t grid);

}  // namespace convkit::detect
