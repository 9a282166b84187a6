// Detector trunks (include/convkit/detect/backbone.h).
#include "convkit/detect/backbone.h"

#include "convkit/detect/darknet.h"
#include "convkit/error.h"
#include "convkit/infer/bundle.h"
#include "convkit/models/registry.h"
#include "convkit/nn/layers.h"
#include "convkit/transfer/truncated.h"

namespace convkit::detect {

Backbone make_backbone(const BackboneSpec& spec, int64_t image_size, int64_t grid) {
  CONVKIT_CHECK(grid >= 1 && image_size >= grid && image_size % grid == 0, "backbone: image_size (",
                image_size, ") must be a multiple of grid (", grid, ")");
  if (spec.name == "darknet") {
    CONVKIT_CHECK(spec.layer.empty() && spec.weights.empty(),
                  "backbone darknet: takes no layer or weights (those are for zoo backbones)");
    auto net = std::make_shared<nn::Sequential>();
    const int64_t c =
        add_darknet_trunk(*net, spec.width, pools_for(image_size / grid, "darknet backbone"));
    return {net, c};
  }
  CONVKIT_CHECK(!spec.layer.empty(), "backbone ", spec.name,
                ": name the layer to cut it at (--backbone-layer, e.g. layer2); `convkit summary ",
                spec.name, "` lists its layers and their output sizes");
  std::shared_ptr<nn::Module> base;
  if (spec.weights.empty()) {
    base = models::create_model(spec.name, {3, 10, image_size});
  } else {
    infer::BundleOptions o;
    o.torchvision.model = spec.name;
    o.image_size = image_size;
    base = infer::load_bundle(spec.weights, o).module;
  }
  auto cut =
      std::make_shared<transfer::Truncated>(base, spec.layer, Shape({3, image_size, image_size}));
  const Shape& f = cut->feature_shape();
  CONVKIT_CHECK(f.ndim() == 3 && f[1] == grid && f[2] == grid, "backbone ", spec.name, " cut at ",
                spec.layer, " gives ", f.to_string(), " for a ", image_size, "x", image_size,
                " image, not the [C, ", grid, ", ", grid,
                "] map the grid needs; choose another layer or --grid");
  return {cut, f[0]};
}

}  // namespace convkit::detect
